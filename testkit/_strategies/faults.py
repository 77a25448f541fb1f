"""Where an iteration's declared faults fall: a few fault points spread over the run.

As PCT spreads its priority change points over the scheduling decisions of the expected run,
the faults of one iteration (1 to `budget` of them) fall at steps drawn uniformly over the
run up to the heal point, so that a crash is as likely early as late and competes with the
deliveries around it instead of clumping at the start. Each point is given a kind (crash,
drop, duplicate, partition) uniformly among the kinds declared, so a kind possible only now
and then (a drop needs a message in flight) gets its share; at the point, one fault of that
kind possible right now is chosen uniformly. A point whose kind is not possible yet (the
actor has not started, no message is in flight) waits 1, 2, 4... steps and tries again.

The plan draws from a generator of its own (`PlanRandom`, seeded from the state of the
iteration's without drawing from it), so declaring faults changes no scheduling choice before
the first fault.
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

    def __init__(self, rng: PlanRandom, budget: int, horizon: int, kinds: Sequence[int]) -> None:
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


class PlanRandom:
    """SplitMix64: the few numbers a plan needs, without the cost of seeding a Mersenne
    Twister for every iteration."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & _MASK

    def _next(self) -> int:
        self.state = z = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def random(self) -> float:
        """A float in [0, 1)."""
        return (self._next() >> 11) * _UNIT

    def randrange(self, n: int) -> int:
        """An integer in [0, n)."""
        return int(self.random() * n)

    def randint(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + self.randrange(high - low + 1)


_MASK = (1 << 64) - 1
_UNIT = 1.0 / (1 << 53)


def plan_seed(rng: random.Random) -> PlanRandom:
    """A generator for the plan, derived from (and not drawing from) the iteration's: its
    position and a few words of its state."""
    state = rng.getstate()[1]
    return PlanRandom(hash(state[-1:] + state[:4]) ^ 0xFA0175)
