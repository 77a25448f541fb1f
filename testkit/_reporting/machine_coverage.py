"""`MachineCoverage`: the states, transitions and events of one FSM class or monitor."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class MachineCoverage:
    """The coverage of one FSM class or monitor, merged over every iteration that ran.

    `states` counts entries into each state (the initial one at start, then transitions),
    `transitions` counts `(from, to)` pairs, `events` counts `(state, message type)` pairs
    handled; states are written as in bug reports (`MachineState.READY`, `'on'`).
    """

    name: str
    kind: str  # "FSM" or "monitor"
    declared: list[str] = field(default_factory=list)
    initial: str | None = None
    hot: list[str] = field(default_factory=list)
    cold: list[str] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    events: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def visited(self) -> list[str]:
        """The states entered at least once, declared ones first in declaration order."""
        extra = sorted(s for s in self.states if s not in self.declared)
        return [s for s in self.declared if self.states[s]] + extra

    @property
    def unreached(self) -> list[str]:
        """Declared states (`when(...)`) that no run ever entered."""
        return [s for s in self.declared if not self.states[s]]

    @property
    def unhandled(self) -> list[str]:
        """States entered where no event was ever handled."""
        handled = {state for state, _ in self.events}
        return [s for s in self.visited if s not in handled]

    def all_states(self) -> list[str]:
        return self.declared + sorted(s for s in self.states if s not in self.declared)

    def summary(self) -> str:
        total = len(self.all_states())
        return (
            f"{self.name}: {len(self.visited)}/{total} states, {len(self.transitions)} "
            f"transitions, {len(self.events)} events"
        )

    def merge(self, other: MachineCoverage) -> None:
        for state in other.declared:
            if state not in self.declared:
                self.declared.append(state)
        self.initial = self.initial or other.initial
        self.hot = self.hot or other.hot
        self.cold = self.cold or other.cold
        self.states.update(other.states)
        self.transitions.update(other.transitions)
        self.events.update(other.events)
