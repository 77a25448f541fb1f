"""`LivenessMonitor` of the drinks robot: it always finishes the job by serving a drink.

The robot reports `Busy` when it asks the Navigator for an order or for directions, and
`Idle` when it has served the drink (or drops a request a failed Navigator took with it).
"""

from __future__ import annotations

from failover_examples.liveness import Busy, BusyIdleMonitor, Idle


class LivenessMonitor(BusyIdleMonitor):
    """Busy (hot) while the robot has a job, Idle (cold) otherwise."""


__all__ = ["Busy", "Idle", "LivenessMonitor"]
