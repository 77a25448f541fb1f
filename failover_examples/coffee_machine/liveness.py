"""`LivenessMonitor` of the coffee machine: it always finishes what it started.

The machine reports `Busy` when it starts heating or making coffee, and `Idle` when it is
ready again, needs a refill, needs fixing, or halts.
"""

from __future__ import annotations

from failover_examples.liveness import Busy, BusyIdleMonitor, Idle


class LivenessMonitor(BusyIdleMonitor):
    """Busy (hot) while the coffee machine works, Idle (cold) otherwise."""


__all__ = ["Busy", "Idle", "LivenessMonitor"]
