"""The runtime's record of an iteration's steps, in about 24 bytes a step.

Each step is (operation, payload, FSM state before), kept in three columns rather than a tuple
each: the operation and payload as they are, and of the state only its name (all a `Step`
shows), a reference to the name object the FSM already holds. The runtime appends to the
columns directly (`ops`, `payloads`, `befores`: one list append each, no tuple per step).
Iterating gives (operation, payload, state) tuples back, the state as an object with that
`state_name`: what turns the record into `Step`s when a trace is saved, shown, shrunk or
replayed."""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter
from typing import Any

from testkit._engine.payloads import Choice

NO_STATE: Any = object()
"""What `befores` holds for a step without an FSM state (a start, a timer, a choice)."""

_op_id = attrgetter("id")


class StateName:
    """What the trace keeps of an FSM's state: its name."""

    __slots__ = ("state_name",)

    def __init__(self, state_name: Any) -> None:
        self.state_name = state_name

    def __repr__(self) -> str:
        return f"StateName({self.state_name!r})"


class _Names:
    """One `StateName` per state name, by value (by identity if unhashable)."""

    __slots__ = ("objects",)

    def __init__(self) -> None:
        self.objects: dict[Any, StateName] = {}

    def of(self, name: Any) -> StateName | None:
        if name is NO_STATE:
            return None
        try:
            key: Any = (name.__class__, name)
            found = self.objects.get(key)
        except TypeError:  # an unhashable name: its own entry, kept alive with it
            key = ("unhashable", id(name))
            found = self.objects.get(key)
        if found is None:
            found = self.objects[key] = StateName(name)
        return found


class CompactTrace:
    """A list-like record of steps: `append((op, payload, before))`, `len`, iteration.

    >>> trace = CompactTrace(); trace.append(("op", "msg", None)); list(trace)
    [('op', 'msg', None)]
    """

    __slots__ = ("_names", "befores", "choices", "ops", "payloads")

    def __init__(self) -> None:
        self._names = _Names()
        self.ops: list[Any] = []
        self.payloads: list[Any] = []
        self.befores: list[Any] = []
        """Each step's FSM state name before it, or `NO_STATE`."""
        self.choices: list[tuple[int, int]] = []
        """(step, value) of each random choice: with the operations, what tells schedules
        apart (`schedule_key`)."""

    def append(self, step: tuple[Any, Any, Any]) -> None:
        """Record one step: the operation that ran, what it ran, the actor's state before."""
        op, payload, before = step
        if payload.__class__ is Choice:
            self.choices.append((len(self.ops), payload.value))
        self.ops.append(op)
        self.payloads.append(payload)
        self.befores.append(NO_STATE if before is None else before.state_name)

    def schedule_key(self) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
        """What identifies the schedule: the operations' ids in order and the choices made
        (two iterations with the same key made the same decisions)."""
        return tuple(map(_op_id, self.ops)), tuple(self.choices)

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[tuple[Any, Any, Any]]:
        state_of = self._names.of
        for op, payload, before in zip(self.ops, self.payloads, self.befores, strict=True):
            yield op, payload, state_of(before)

    def __getitem__(self, index: int) -> tuple[Any, Any, Any]:
        return self.ops[index], self.payloads[index], self._names.of(self.befores[index])
