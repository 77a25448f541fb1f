"""Where an iteration's declared faults fall: a few fault points spread over the run.

As PCT spreads its priority change points over the scheduling decisions of the expected run,
the faults of one iteration (1 to `budget` of them) fall at steps drawn uniformly over the
run up to the heal point, so that a crash is as likely early as late and competes with the
deliveries around it instead of clumping at the start. Each point is given a kind (crash,
drop, duplicate, partition) uniformly among the kinds declared, so a kind possible only now
and then (a drop needs a message in flight) gets its share; at the point, one fault of that
kind possible right now is chosen uniformly. A point whose kind is not possible yet (the
actor has not started, no message is in flight) waits 1, 2, 4... steps and tries again.

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

    def __init__(self, rng: random.Random, budget: int, horizon: int, kinds: Sequence[int]) -> None:
        self._rand = rng.random
        count = rng.randint(1, budget) if budget > 0 and kinds else 0
        self.points = [
            (rng.randrange(max(horizon, 1)), kinds[rng.randrange(len(kinds))]) for _ in range(count)
        ]
        heapq.heapify(self.points)
        self.wait = 0

    def next(self) -> int:
        """The step of the next fault point (`NEVER` when none is left)."""
        return self.points[0][0] if self.points else NEVER

    def pick(self, options: Sequence[Sequence[Any]], step: int) -> Any | None:
        """A fault of the point's kind among `options` (a list per kind), or None (and try
        again a little later)."""
        kind = self.points[0][1]
        group = options[kind] if kind < len(options) else ()
        if not group:
            self.wait = min(max(1, self.wait * 2), 1 << 16)
            heapq.heapreplace(self.points, (step + self.wait, kind))
            return None
        heapq.heappop(self.points)
        self.wait = 0
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
