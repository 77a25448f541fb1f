"""The decisive change: the smallest edit near the failing step that makes the run pass.

A failing trace is a list of units (one scheduling decision and the random values drawn
while it ran; see `testkit._shrinking.units`). The candidates, in the order they are tried:
units in the slice before units outside it, nearer the failing step first, and for each unit
a fault left out (a crash with its restart), its random values changed, then the unit moved
before an earlier unit (one place, then further), then an earlier unit moved after it (a timer
firing later, a message sent later).
Each candidate runs under lenient replay (the edited units where the program allows, the
default order after them); the first whose run ends without a bug is the decisive change.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from testkit._engine.bug import Bug
from testkit._engine.iteration import build_steps, run_like
from testkit._engine.replaying import op_label
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.test_function import TestFunction
from testkit._engine.trace import Step, Trace
from testkit._errors import TestkitError
from testkit._shrinking.lenient import LenientStrategy
from testkit._shrinking.units import LEADING, PASSIVE, RESTART, Unit, is_fault, units_of

REACH = 8
"""How many units apart two swapped units may be."""
POSTPONED = 1_000_000
"""Putting a unit off until nothing else can run is a larger change than any swap: such
edits rank after every other edit of the units in the slice."""


@dataclass(frozen=True)
class Edit:
    """One candidate: the units to run, and what was changed (unit indexes)."""

    kind: str
    """`random` (a value changed), `earlier` (unit `first` moved before unit `second`),
    `later` (unit `first` moved after unit `second`), `postpone` (see `postpone`) or
    `remove` (the fault of unit `first` left out, with the restart a crash led to)."""
    first: int
    second: int
    units: tuple[Unit, ...]
    position: int = 0
    """For `random`: which value of the unit, and `value` its new value."""
    value: int = 0
    in_slice: bool = True
    postpone: str = ""
    """For `postpone` (unit `first` left out, and from there on its operation run only when
    nothing else can run): that operation's label."""


@dataclass
class Layout:
    """A trace as units: each unit's first step, and the unit of every step."""

    steps: list[Step]
    units: list[Unit]
    starts: list[int]
    unit_of: list[int]

    @classmethod
    def of(cls, steps: list[Step]) -> Layout:
        units = units_of(steps)
        starts = [i for i, s in enumerate(steps) if s.kind not in PASSIVE]
        if units and units[0].label == LEADING:
            starts.insert(0, 0)
        unit_of = []
        current = 0
        for index in range(len(steps)):
            while current + 1 < len(starts) and starts[current + 1] <= index:
                current += 1
            unit_of.append(current)
        return cls(steps, units, starts, unit_of)

    def random_steps(self, unit: int) -> list[Step]:
        """The random steps of `unit`, in order."""
        end = self.starts[unit + 1] if unit + 1 < len(self.starts) else len(self.steps)
        return [s for s in self.steps[self.starts[unit] : end] if s.kind == "random"]


Depends = Callable[[int, int], bool]
"""`depends(i, k)`: whether unit `i` depends on unit `k` (through the causal graph)."""


def candidates(
    layout: Layout, failing_unit: int, in_slice: set[int], depends: Depends
) -> Iterator[Edit]:
    """Every edit near the failing unit, best first (see the module's docstring). A unit is
    moved only past units it is concurrent with (neither depends on the other): two events
    that race, not a cause and its effect."""
    units = layout.units
    ranked: list[tuple[tuple[int, int, int, int], Edit]] = []
    for index in range(min(failing_unit, len(units) - 1), -1, -1):
        here = index in in_slice
        distance = failing_unit - index
        for position, step in enumerate(layout.random_steps(index)):
            for value in _other_values(step):
                values = list(units[index].values)
                if position >= len(values):
                    continue
                values[position] = value
                edited = (
                    *units[:index],
                    Unit(units[index].label, tuple(values)),
                    *units[index + 1 :],
                )
                edit = Edit("random", index, index, edited, position, value, here)
                ranked.append(((not here, distance, 0, 4), edit))
        if units[index].label == LEADING:
            continue
        if is_fault(units[index]):  # the fault left out: the smallest change at its distance
            removed = _without_fault(units, index)
            ranked.append(
                ((not here, distance, 0, 0), Edit("remove", index, index, removed, in_slice=here))
            )
        can_rise = True  # unit `index` is concurrent with every unit from `earlier` up to it
        for earlier in range(index - 1, max(-1, index - 1 - REACH), -1):
            if units[earlier].label == LEADING:
                break
            ahead = depends(index, earlier)
            can_rise = can_rise and not ahead
            if units[earlier].label == units[index].label or ahead:
                continue
            both = here or earlier in in_slice
            gap = index - earlier
            if can_rise:
                moved = (*units[:earlier], units[index], *units[earlier:index], *units[index + 1 :])
                edit = Edit("earlier", index, earlier, moved, in_slice=both)
                ranked.append(((not both, distance, gap, 1), edit))
            else:  # bring along the units in between that it depends on, in their order
                needed = _needed(index, earlier, depends)
                if earlier not in needed:
                    hoisted = [units[k] for k in sorted(needed)] + [units[index]]
                    rest = [units[k] for k in range(earlier, index) if k not in needed]
                    moved = (*units[:earlier], *hoisted, *rest, *units[index + 1 :])
                    edit = Edit("earlier", index, earlier, moved, in_slice=both)
                    ranked.append(((not both, distance, gap, 2), edit))
            if gap > 1 and not any(depends(k, earlier) for k in range(earlier + 1, index + 1)):
                later = (
                    *units[:earlier],
                    *units[earlier + 1 : index + 1],
                    units[earlier],
                    *units[index + 1 :],
                )
                edit = Edit("later", earlier, index, later, in_slice=both)
                ranked.append(((not both, distance, gap, 3), edit))
        if 0 < index < failing_unit and units[index].label != LEADING:  # as late as possible
            later = (*units[:index], *units[index + 1 :])
            edit = Edit("postpone", index, index, later, in_slice=here, postpone=units[index].label)
            ranked.append(((not here, POSTPONED + distance, 0, 5), edit))
    ranked.sort(key=lambda pair: pair[0])
    for _, edit in ranked:
        yield edit


def _without_fault(units: Sequence[Unit], index: int) -> tuple[Unit, ...]:
    """`units` without the fault of unit `index` (and, for a crash, the restart it led to)."""
    label = units[index].label
    restart = RESTART + label.removeprefix("crash ") if label.startswith("crash ") else None
    return tuple(u for k, u in enumerate(units) if k != index and u.label != restart)


def _needed(index: int, earlier: int, depends: Depends) -> set[int]:
    """The units strictly between `earlier` and `index` that unit `index` depends on,
    directly or through each other (and `earlier` itself, if it is one of them)."""
    needed: set[int] = set()
    todo = [index]
    while todo:
        unit = todo.pop()
        for k in range(earlier, unit):
            if k not in needed and depends(unit, k):
                needed.add(k)
                todo.append(k)
    return needed


def _other_values(step: Step) -> list[int]:
    """Values to try instead of a random step's: a flipped bool; 0, one off, the highest."""
    value, bound = step.value, step.bound
    if bound == 2:
        return [1 - value]
    wanted = [0, value - 1, value + 1, bound - 1, bound // 2]
    return [v for v in dict.fromkeys(wanted) if 0 <= v < bound and v != value]


@dataclass
class Outcome:
    """A run of an edited schedule: its steps, and its bug (None: it passed)."""

    steps: list[Step]
    bug: Bug | None
    bound_reached: bool


class _Postponing(LenientStrategy):
    """Lenient replay that, from unit `start` on, runs the operation `avoid` only when
    nothing else can run."""

    def __init__(
        self, units: Sequence[Unit], fair: bool, name: str, avoid: str, start: int
    ) -> None:
        super().__init__(units, fair, name)
        self.avoid = avoid
        self.start = start

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        active = self.cursor >= self.start
        op = super().pick(enabled, step)
        if active and len(enabled) > 1 and op_label(op) == self.avoid:
            index = next(i for i, other in enumerate(enabled) if op_label(other) != self.avoid)
            self.choices[-1] = index
            return enabled[index]
        return op


def lenient_run(
    test: TestFunction,
    trace: Trace,
    units: Sequence[Unit],
    sandbox: Sandbox,
    avoid: str = "",
    start: int = 0,
) -> Outcome | None:
    """Run `units` leniently under `trace`'s settings (from unit `start` on, running
    `avoid` only when nothing else can run); None if the tester was misused."""
    strategy = (
        _Postponing(units, trace.fair, trace.strategy, avoid, start)
        if avoid
        else LenientStrategy(units, trace.fair, trace.strategy)
    )
    strategy.begin(0, random.Random(0), trace.max_steps)
    try:
        runtime, bug = run_like(test, strategy, trace, sandbox)
    except TestkitError:
        return None
    return Outcome(build_steps(runtime.trace), bug, runtime.bound_reached)


@dataclass
class Search:
    """The outcome of the search: the edit that passed (or None), its run, and the effort."""

    edit: Edit | None
    passing: Trace | None
    tried: int
    total: int
    timed_out: bool


def search(
    test: TestFunction,
    trace: Trace,
    layout: Layout,
    failing_unit: int,
    in_slice: set[int],
    depends: Depends,
    sandbox: Sandbox,
    deadline: float,
) -> Search:
    """Try the candidates in order until one passes or `deadline` (wall clock) is reached."""
    edits = list(candidates(layout, failing_unit, in_slice, depends))
    tried = 0
    for edit in edits:
        if wall_clock() >= deadline:
            return Search(None, None, tried, len(edits), True)
        tried += 1
        outcome = lenient_run(test, trace, edit.units, sandbox, edit.postpone, edit.first)
        if outcome is None or outcome.bug is not None:
            continue
        passing = replace(trace, steps=outcome.steps, bug="")
        return Search(edit, passing, tried, len(edits), False)
    return Search(None, None, tried, len(edits), False)
