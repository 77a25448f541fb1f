"""A fair variant of any strategy: its own choices first, then uniformly random."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from testkit._strategies.base import Strategy


class FairStrategy(Strategy):
    """An unfair strategy for the first `max_steps // 4` steps, then uniformly random.

    Being fair (every enabled operation eventually runs) is what makes a monitor that stays
    hot until `max_steps` a real liveness bug rather than starvation by the strategy.
    """

    def __init__(self, inner: Strategy) -> None:
        super().__init__()
        self.inner = inner
        self.name = f"fair-{inner.name}"
        self._prefix = 0

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        self._prefix = max_steps // 4
        return self.inner.begin(iteration, rng, max_steps)

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        if step >= self._prefix:
            return enabled[int(self._rand() * len(enabled))]
        return self.inner.pick(enabled, step)

    def pick_int(self, n: int, step: int) -> int:
        return self.inner.pick_int(n, step)

    def end(self, steps: int) -> None:
        self.inner.end(steps)
