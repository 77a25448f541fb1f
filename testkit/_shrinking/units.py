"""A trace as a sequence of units: one scheduling decision and the random values drawn
while it ran. Shrinking edits units, so that a handler keeps its own random values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from testkit._engine.faults import fault_label
from testkit._engine.trace import Step

PASSIVE = frozenset({"random", "wait"})
"""Step kinds that start no unit: random values (kept in their unit) and `wait` steps (a
handler parking; the runtime records them again on every replay). A `fault heal` step is
passive too (`is_passive`): the runtime takes it by itself at its heal point."""
FAULTS = ("crash ", "drop ", "duplicate ", "partition ")
"""How the labels of fault units start: a fault the strategy injected at a fault point."""
RESTART = "restart "
"""How the label of a restart unit starts (the strategy scheduled a crashed actor's restart)."""


def is_passive(step: Step) -> bool:
    """Whether `step` starts no unit (see `PASSIVE`)."""
    return step.kind in PASSIVE or (step.kind == "fault" and step.actor == "heal")


def is_fault(unit: Unit) -> bool:
    """Whether `unit` injects a fault (the shrinker tries removing those first)."""
    return unit.label.startswith(FAULTS)


LEADING = ""
"""The label of the unit holding random values drawn before the first scheduling step."""


@dataclass(frozen=True)
class Unit:
    """`label` names the operation to run (`Robot#1`, `timer Robot#1`, `journal Robot#1`,
    `test`); `values` are
    the random choices made while it ran, in order."""

    label: str
    values: tuple[int, ...] = ()


def label_of(step: Step) -> str:
    """The enabled operation a scheduling step ran, as the replay strategies name it; a
    fault by its kind, target and message (`drop A#1->B#1 Msg()`)."""
    if step.kind == "fault":
        if step.actor == "restart":
            return f"restart {step.what}"
        return fault_label(step.actor, step.what, step.detail)
    if step.kind in ("timer", "journal"):
        return f"{step.kind} {step.actor}"
    return step.actor


def units_of(steps: Iterable[Step]) -> list[Unit]:
    """Group `steps` into units (random values join the scheduling step before them)."""
    units: list[Unit] = []
    label: str | None = None
    values: list[int] = []
    for step in steps:
        if step.kind == "wait" or (step.kind == "fault" and step.actor == "heal"):
            continue
        if step.kind == "random":
            if label is None:
                label = LEADING
            values.append(step.value)
            continue
        if label is not None:
            units.append(Unit(label, tuple(values)))
        label, values = label_of(step), []
    if label is not None:
        units.append(Unit(label, tuple(values)))
    return units


def without(units: Sequence[Unit], start: int, stop: int) -> list[Unit]:
    """`units` with `units[start:stop]` deleted."""
    return [*units[:start], *units[stop:]]
