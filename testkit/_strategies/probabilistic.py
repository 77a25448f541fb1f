"""Runs the same operation for a while, as a slow network or busy machine would."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from testkit._strategies.base import Strategy


class ProbabilisticStrategy(Strategy):
    """Keeps running the same operation, switching with probability 2**-bound; fair.

    Lets one actor run far ahead of the others, as a slow network or a busy machine would.
    """

    name = "probabilistic"

    def __init__(self, bound: int) -> None:
        super().__init__()
        self.switch = 2.0**-bound
        self.name = f"probabilistic:{bound}"
        self._last: Any = None

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        self._last = None
        return super().begin(iteration, rng, max_steps)

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        last = self._last
        if last is not None and last.enabled and self._rand() >= self.switch:
            return last
        chosen = enabled[int(self._rand() * len(enabled))]
        self._last = chosen
        return chosen
