"""The strategy interface, and uniformly random choices."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from testkit._strategies.faults import NEVER, FaultHistory, FaultPlan, plan_seed


class Strategy:
    """The base: uniformly random choices (Coyote's `random`); O(1) per step."""

    name = "random"
    fair = True
    delays_timers = True
    """Whether timers become ready after a random delay (DFS fires them as soon as set)."""

    def __init__(self) -> None:
        self.rng = random.Random(0)
        self._rand = self.rng.random
        self.fault_plan: FaultPlan | None = None
        self.fault_history = FaultHistory()

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        """Prepare iteration `iteration`; False when there is nothing left to explore."""
        self.rng = rng
        self._rand = rng.random
        return True

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        """Choose one of at least two enabled operations."""
        return enabled[int(self._rand() * len(enabled))]

    def pick_int(self, n: int, step: int) -> int:
        """Choose a value in [0, n)."""
        return int(self._rand() * n)

    def end(self, steps: int) -> None:
        """The iteration finished after `steps` steps."""

    def enabled_hook(self) -> Callable[[Any], None] | None:
        """What the runtime calls with each operation that becomes enabled during the next
        iteration (asked after `begin`); None when the strategy needs no such news."""
        return None

    # ---- declared faults (asked only when a test declares them) -----------------------------

    def plan_faults(
        self, budget: int, heal_at: int | None, max_steps: int, kinds: Sequence[int]
    ) -> None:
        """Plan this iteration's fault points (called by the runtime after `begin`): up to
        `budget` of them, each of one of `kinds` (indexes into `pick_fault`'s options)."""
        if budget <= 0 or not kinds:
            self.fault_plan = None
            return
        horizon = self.fault_history.horizon(heal_at, max_steps)
        self.fault_plan = FaultPlan(plan_seed(self.rng), budget, horizon, kinds)

    def next_fault(self, step: int) -> int:
        """The step at which the next fault decision is due (`NEVER`: none)."""
        plan = self.fault_plan
        return plan.next() if plan is not None else NEVER

    def pick_fault(self, options: Sequence[Sequence[Any]], step: int) -> Any | None:
        """Choose a fault among `options` (one list per kind, some empty), or None."""
        plan = self.fault_plan
        return plan.pick(options, step) if plan is not None else None

    def faults_ended(self, steps: int) -> None:
        """The iteration with faults ended after `steps` steps (the next plan's horizon)."""
        self.fault_history.ended(steps)

    @property
    def active_name(self) -> str:
        """The strategy that made this iteration's choices (a portfolio member's name)."""
        return self.name


class RandomStrategy(Strategy):
    """Every choice uniformly at random; fair."""
