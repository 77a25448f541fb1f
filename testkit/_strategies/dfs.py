"""Depth-first search over every schedule and random value of a small test."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from testkit._errors import TestkitError
from testkit._strategies.base import Strategy


class _Level:
    __slots__ = ("choice", "width")

    def __init__(self, width: int) -> None:
        self.width = width
        self.choice = 0


class DFSStrategy(Strategy):
    """Bounded exhaustive search: every schedule and random value in turn, depth first; unfair.

    Only for small tests: the number of schedules grows exponentially with their length.
    """

    name = "dfs"
    fair = False
    delays_timers = False

    def __init__(self, fair: bool = False) -> None:
        super().__init__()
        self.fair = fair  # fair only to re-run a fair trace's schedules (`shortest_failing`)
        self._stack: list[_Level] = []
        self._depth = 0
        self._started = False

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        if self._started:
            stack = self._stack
            while stack and stack[-1].choice + 1 >= stack[-1].width:
                stack.pop()
            if not stack:
                return False
            stack[-1].choice += 1
        self._started = True
        self._depth = 0
        return True

    def prune(self) -> None:
        """Forget the choices past where the last run ended (a run cut short by a bound), so
        that the next `begin` backtracks from the run's own end."""
        del self._stack[self._depth :]

    def _choose(self, width: int, step: int) -> int:
        stack = self._stack
        depth = self._depth
        self._depth = depth + 1
        if depth < len(stack):
            level = stack[depth]
            if level.width != width:
                raise TestkitError(
                    f"dfs: at step {step} the program offered {width} choices, but {level.width} "
                    "when this path was first explored; the test is not deterministic (does it "
                    "use the random module, threads or wall-clock time?)"
                )
            return level.choice
        stack.append(_Level(width))
        return 0

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        return enabled[self._choose(len(enabled), step)]

    def pick_int(self, n: int, step: int) -> int:
        return self._choose(n, step)
