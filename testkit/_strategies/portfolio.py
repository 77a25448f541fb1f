"""Several strategies in turn, one per iteration."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from testkit._strategies.base import Strategy


class PortfolioStrategy(Strategy):
    """Cycles through several strategies, one per iteration (Coyote's default mode); each
    step costs what the active member's step costs."""

    def __init__(self, members: list[Strategy]) -> None:
        super().__init__()
        self.members = members
        self.current = members[0]
        self.name = "portfolio"

    @property
    def active_name(self) -> str:
        return self.current.name

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        self.current = self.members[iteration % len(self.members)]
        self.fair = self.current.fair
        return self.current.begin(iteration, rng, max_steps)

    def enabled_hook(self) -> Callable[[Any], None] | None:
        return self.current.enabled_hook()

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        return self.current.pick(enabled, step)

    def pick_int(self, n: int, step: int) -> int:
        return self.current.pick_int(n, step)

    def end(self, steps: int) -> None:
        self.current.end(steps)
