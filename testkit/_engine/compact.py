"""The runtime's record of an iteration's steps, in about 20 bytes a step.

Each step is (operation, payload, FSM state before), kept in three columns rather than a tuple
each: the operation and payload as they are, and of the state only its name (all a `Step`
shows), numbered once in a table, so that a step holds 4 bytes for it. Iterating gives
(operation, payload, state) tuples back, the state as an object with that `state_name`: what
turns the record into `Step`s when a trace is saved, shown, shrunk or replayed."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any


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

    __slots__ = ("_befores", "_names", "_ops", "_payloads")

    def __init__(self) -> None:
        self._names = _Names()
        self._ops: list[Any] = []
        self._payloads: list[Any] = []
        self._befores = array("I")

    def append(self, step: tuple[Any, Any, Any]) -> None:
        """Record one step: the operation that ran, what it ran, the actor's state before."""
        op, payload, before = step
        self._ops.append(op)
        self._payloads.append(payload)
        self._befores.append(0 if before is None else self._names.number(before))

    def __len__(self) -> int:
        return len(self._payloads)

    def __iter__(self) -> Iterator[tuple[Any, Any, Any]]:
        states = self._names.objects
        for op, payload, before in zip(self._ops, self._payloads, self._befores, strict=True):
            yield op, payload, states[before]

    def __getitem__(self, index: int) -> tuple[Any, Any, Any]:
        return (
            self._ops[index],
            self._payloads[index],
            self._names.objects[self._befores[index]],
        )
