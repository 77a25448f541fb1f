"""`LivenessMonitor`: the coffee machine always finishes what it started.

The machine reports `Busy` when it starts heating or making coffee and `Idle` when it is
ready again, needs a refill, needs fixing, or halts. Busy is hot: a machine that stays busy
forever (stuck) is a liveness bug.
"""

from __future__ import annotations

from dataclasses import dataclass

from fsm import Event, Monitor, State


@dataclass(frozen=True)
class Busy:
    pass


@dataclass(frozen=True)
class Idle:
    pass


class LivenessMonitor(Monitor):
    """Idle (cold) until Busy; Busy (hot) until Idle."""

    hot_states = frozenset({"Busy"})
    cold_states = frozenset({"Idle"})

    def __init__(self) -> None:
        super().__init__()
        self.start_with("Idle", None)
        self.when("Idle", self.idle)
        self.when("Busy", self.busy)
        self.initialize()

    def idle(self, event: Event) -> State:
        return self.goto("Busy") if isinstance(event.message, Busy) else self.stay()

    def busy(self, event: Event) -> State:
        return self.goto("Idle") if isinstance(event.message, Idle) else self.stay()
