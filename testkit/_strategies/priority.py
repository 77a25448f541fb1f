"""Priority-based strategies: PCT and Coyote's prioritization."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from testkit._strategies.base import Strategy


class _PriorityStrategy(Strategy):
    """Runs the highest-priority enabled operation; new operations get a random priority."""

    fair = False

    def __init__(self) -> None:
        super().__init__()
        self._priorities: list[Any] = []
        self._known: set[Any] = set()

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        self._priorities = []
        self._known = set()
        return True

    def _rank(self, enabled: Sequence[Any]) -> None:
        priorities = self._priorities
        for op in enabled:
            if op not in self._known:
                self._known.add(op)
                priorities.insert(int(self._rand() * (len(priorities) + 1)), op)

    def _demote_top(self) -> None:
        top = _first_enabled(self._priorities)
        self._priorities.remove(top)
        self._priorities.append(top)


class PCTStrategy(_PriorityStrategy):
    """Probabilistic concurrency testing: random priorities, `depth` change points; unfair.

    The highest-priority enabled operation always runs; at `depth` random steps (drawn from
    the longest schedule seen so far) the running operation drops to the lowest priority.
    """

    def __init__(self, depth: int) -> None:
        super().__init__()
        self.depth = depth
        self.name = f"pct:{depth}"
        self._longest = 0
        self._change_points: frozenset[int] = frozenset()

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        length = self._longest
        count = min(self.depth, length)
        self._change_points = frozenset(rng.sample(range(length), count)) if count else frozenset()
        return True

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        self._rank(enabled)
        if step in self._change_points:
            self._demote_top()
        return _first_enabled(self._priorities)

    def end(self, steps: int) -> None:
        self._longest = max(self._longest, steps)


class PrioritizationStrategy(_PriorityStrategy):
    """Coyote's prioritization: random priorities, a random number (1..bound) of priority
    changes placed among the contested steps (steps with a real choice); unfair."""

    def __init__(self, bound: int) -> None:
        super().__init__()
        self.bound = bound
        self.name = f"prioritization:{bound}"
        self._most_contested = 0
        self._contested = 0
        self._change_points: frozenset[int] = frozenset()

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        self._most_contested = max(self._most_contested, self._contested)
        self._contested = 0
        changes = rng.randrange(self.bound) + 1 if self.bound > 0 else 0
        count = min(changes, self._most_contested)
        points = rng.sample(range(self._most_contested), count) if count else []
        self._change_points = frozenset(points)
        return True

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        self._rank(enabled)
        if self._contested in self._change_points:
            self._demote_top()
        self._contested += 1
        return _first_enabled(self._priorities)


def _first_enabled(priorities: list[Any]) -> Any:
    for op in priorities:
        if op.enabled:
            return op
    raise AssertionError("no enabled operation among the priorities")  # pragma: no cover
