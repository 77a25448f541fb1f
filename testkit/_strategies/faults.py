"""Where an iteration's declared faults fall: a few fault points spread over the run.

As PCT spreads its priority change points over the scheduling decisions of the expected run,
the faults of one iteration (1 to `budget` of them) fall at steps drawn uniformly over the
run up to the heal point, so that a crash is as likely early as late and competes with the
deliveries around it instead of clumping at the start. At a point, one of the faults possible
right now is chosen: first a kind (crash, drop, duplicate, partition) uniformly among the
kinds possible, then one fault of that kind, so a mailbox full of droppable messages does not
crowd out a crash. A point where no fault is possible (the actor has not started yet) waits
1, 2, 4... steps and tries again.

The plan draws from a generator of its own, seeded from the iteration's, so declaring faults
changes no scheduling choice before the first fault.
"""

from __future__ import annotations

import heapq
import random
import sys
from collections.abc import Sequence
from typing import Any

NEVER = sys.maxsize


class FaultPlan:
    """One iteration's fault points and choices."""

    __slots__ = ("_rand", "points", "wait")

    def __init__(self, rng: random.Random, budget: int, horizon: int) -> None:
        self._rand = rng.random
        count = rng.randint(1, budget) if budget > 0 else 0
        self.points = [rng.randrange(max(horizon, 1)) for _ in range(count)]
        heapq.heapify(self.points)
        self.wait = 0

    def next(self) -> int:
        """The step of the next fault point (`NEVER` when none is left)."""
        return self.points[0] if self.points else NEVER

    def pick(self, options: Sequence[Sequence[Any]], step: int) -> Any | None:
        """One fault among `options` (a list per kind), or None (and try a bit later)."""
        kinds = [kind for kind in options if kind]
        if not kinds:
            self.wait = min(max(1, self.wait * 2), 1 << 16)
            heapq.heapreplace(self.points, step + self.wait)
            return None
        heapq.heappop(self.points)
        self.wait = 0
        group = kinds[int(self._rand() * len(kinds))]
        return group[int(self._rand() * len(group))]


class FaultHistory:
    """How long the runs of this exploration were: the horizon the next plan spreads over."""

    __slots__ = ("runs", "steps")

    def __init__(self) -> None:
        self.runs = 0
        self.steps = 0

    def horizon(self, heal_at: int | None, max_steps: int) -> int:
        """Steps the fault points are drawn from: the mean run so far (the whole `max_steps`
        before any run ended), never past the heal point."""
        expected = round(self.steps / self.runs) if self.runs else max_steps
        if heal_at is not None:
            expected = min(expected, heal_at)
        return max(1, min(expected, max_steps))

    def ended(self, steps: int) -> None:
        self.runs += 1
        self.steps += steps


def plan_seed(rng: random.Random) -> random.Random:
    """A generator for the plan, derived from (and not drawing from) the iteration's."""
    return random.Random(hash(rng.getstate()[1]) ^ 0xFA0175)
