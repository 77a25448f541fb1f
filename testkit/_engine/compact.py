"""The runtime's record of an iteration's steps, in about 16 bytes a step.

Each step is (operation, payload, FSM state before). Operations and state names repeat, so
each is kept once in a table and the step holds its number in an array; payloads are kept as
they are. Of the state only its name is kept (all a `Step` shows). Iterating gives
(operation, payload, state) tuples back, the state as an object with that `state_name`: what
turns the record into `Step`s when a trace is saved, shown, shrunk or replayed."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any


class _Table:
    """Objects numbered by identity (so unhashable states work too); 0 is None."""

    __slots__ = ("numbers", "objects")

    def __init__(self) -> None:
        self.objects: list[Any] = [None]
        self.numbers: dict[int, int] = {}

    def number(self, obj: Any) -> int:
        if obj is None:
            return 0
        found = self.numbers.get(id(obj))
        if found is None:
            found = self.numbers[id(obj)] = len(self.objects)
            self.objects.append(obj)  # keeps it alive, so its id stays its own
        return found


class StateName:
    """What the trace keeps of an FSM's state: its name."""

    __slots__ = ("state_name",)

    def __init__(self, state_name: Any) -> None:
        self.state_name = state_name

    def __repr__(self) -> str:
        return f"StateName({self.state_name!r})"


class _Names:
    """State names numbered by value (by identity if unhashable); 0 is no state."""

    __slots__ = ("numbers", "objects")

    def __init__(self) -> None:
        self.objects: list[StateName | None] = [None]
        self.numbers: dict[Any, int] = {}

    def number(self, state: Any) -> int:
        name = state.state_name
        try:
            key: Any = (name.__class__, name)
            found = self.numbers.get(key)
        except TypeError:  # an unhashable name: its own entry, kept alive with it
            key = ("unhashable", id(name))
            found = self.numbers.get(key)
        if found is None:
            found = self.numbers[key] = len(self.objects)
            self.objects.append(StateName(name))
        return found


class CompactTrace:
    """A list-like record of steps: `append((op, payload, before))`, `len`, iteration.

    >>> trace = CompactTrace(); trace.append(("op", "msg", None)); list(trace)
    [('op', 'msg', None)]
    """

    __slots__ = ("_befores", "_op_table", "_ops", "_payloads", "_state_table")

    def __init__(self) -> None:
        self._op_table = _Table()
        self._state_table = _Names()
        self._ops = array("I")
        self._befores = array("I")
        self._payloads: list[Any] = []

    def append(self, step: tuple[Any, Any, Any]) -> None:
        """Record one step: the operation that ran, what it ran, the actor's state before."""
        op, payload, before = step
        self._ops.append(self._op_table.number(op))
        self._payloads.append(payload)
        self._befores.append(self._state_table.number(before) if before is not None else 0)

    def __len__(self) -> int:
        return len(self._payloads)

    def __iter__(self) -> Iterator[tuple[Any, Any, Any]]:
        ops = self._op_table.objects
        states = self._state_table.objects
        for op, payload, before in zip(self._ops, self._payloads, self._befores, strict=True):
            yield ops[op], payload, states[before]

    def __getitem__(self, index: int) -> tuple[Any, Any, Any]:
        return (
            self._op_table.objects[self._ops[index]],
            self._payloads[index],
            self._state_table.objects[self._befores[index]],
        )
