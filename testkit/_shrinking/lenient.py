"""Lenient replay: follow a candidate's units where the program allows, fall back where not.

Strict replay stops at the first step that differs from the trace; a shrinking candidate
(a trace with decisions cut out) differs almost everywhere after the cut, so it is replayed
leniently instead: a unit whose operation is not enabled runs the first enabled operation in
its place, a random value out of range becomes the highest allowed, and once the units are
used up every choice is the default (the first enabled operation, the value 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from testkit._engine.replaying import op_label
from testkit._shrinking.units import LEADING, Unit
from testkit._strategies import Strategy


class LenientStrategy(Strategy):
    """Plays `units` as far as the program lets it; records each choice's index (the position
    of the chosen operation among those enabled, or the random value) for ordering results."""

    delays_timers = True

    def __init__(self, units: Sequence[Unit], fair: bool, name: str) -> None:
        super().__init__()
        self.units = units
        self.fair = fair
        self.name = name
        self.cursor = 0
        self.values: list[int] = []
        self.choices: list[int] = []
        """One entry per step: the index chosen among the enabled operations, or the value."""
        self.enabled: list[tuple[str, ...] | None] = []
        """Per step: the labels of the enabled operations (None for a random step)."""
        self.deviations = 0
        """Scheduling choices other than the default (the first enabled operation): the
        preemptions a reader of the run has to follow."""
        if units and units[0].label == LEADING:
            self.values = list(units[0].values)
            self.cursor = 1

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        labels = tuple(op_label(op) for op in enabled)
        index = 0
        if self.cursor < len(self.units):
            unit = self.units[self.cursor]
            self.cursor += 1
            if unit.label in labels:
                index = labels.index(unit.label)
            self.values = list(unit.values)
        else:
            self.values = []
        if index:
            self.deviations += 1
        self.choices.append(index)
        self.enabled.append(labels)
        return enabled[index]

    def pick_int(self, n: int, step: int) -> int:
        value = min(self.values.pop(0), n - 1) if self.values else 0
        self.choices.append(value)
        self.enabled.append(None)
        return value
