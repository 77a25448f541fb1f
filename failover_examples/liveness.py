"""The liveness specification both failover examples share: busy must end in idle.

An actor reports `Busy` when it starts a job and `Idle` when the job is done (or abandoned
for a good reason). Busy is a hot state: a run that ends, or goes on for too long, with the
monitor still busy is a liveness bug: the job never finished.
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


class BusyIdleMonitor(Monitor):
    """Idle (cold) until Busy; Busy (hot) until Idle; anything else is ignored."""

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
