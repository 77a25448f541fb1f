"""A fair variant of any strategy: its own choices for the length of a run, then fair."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from typing import Any

from testkit._strategies.base import Strategy


class FairStrategy(Strategy):
    """An unfair strategy for an unfair prefix, then fair choices.

    The prefix follows the runs seen so far: twice the longest run that ended before
    `max_steps` (capped at `max_steps // 4`; that cap before any run ended), so on a system
    whose runs end the whole run is the inner strategy's, even a run longer than any seen yet
    (a retry or a failover makes the buggy runs the longer ones), and a run that keeps going
    (a liveness bug) turns fair. After the prefix every other decision is uniformly random and
    the rest go to the operation that has waited longest since it was enabled or last ran,
    so an enabled operation runs within 2n decisions (n enabled operations). Fairness is
    what makes a monitor that stays hot until `max_steps` a real liveness bug rather than
    starvation by the strategy. O(log n) per step on top of the inner strategy's cost.
    """

    def __init__(self, inner: Strategy) -> None:
        super().__init__()
        self.inner = inner
        self.name = f"fair-{inner.name}"
        self.prefix = 0
        self._longest_ended = 0
        self._max_steps = 0
        self._since: dict[Any, int] = {}
        self._waiting: list[tuple[int, int, Any]] = []
        self._seq = 0
        self._decisions = 0

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        self._max_steps = max_steps
        cap = max_steps // 4
        self.prefix = min(2 * self._longest_ended, cap) if self._longest_ended else cap
        self._since = {}
        self._waiting = []
        self._decisions = 0
        return self.inner.begin(iteration, rng, max_steps)

    def enabled_hook(self) -> Callable[[Any], None] | None:
        inner = self.inner.enabled_hook()
        mark = self._mark

        def on_enable(op: Any) -> None:
            mark(op, self._decisions)
            if inner is not None:
                inner(op)

        return on_enable

    def _mark(self, op: Any, when: int) -> None:
        self._since[op] = when
        self._seq += 1
        heapq.heappush(self._waiting, (when, self._seq, op))

    def _longest_waiting(self) -> Any:
        waiting = self._waiting
        since = self._since
        while True:
            when, _, op = waiting[0]
            if op.enabled and since.get(op) == when:
                return op
            heapq.heappop(waiting)
            if not op.enabled and since.get(op) == when:
                del since[op]  # re-enabling marks it again

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        decision = self._decisions
        self._decisions = decision + 1
        if step < self.prefix:
            chosen = self.inner.pick(enabled, step)
        elif decision % 2:
            chosen = enabled[int(self._rand() * len(enabled))]
        else:
            chosen = self._longest_waiting()
        self._mark(chosen, decision + 1)
        return chosen

    def pick_int(self, n: int, step: int) -> int:
        return self.inner.pick_int(n, step)

    def end(self, steps: int) -> None:
        if steps < self._max_steps:
            self._longest_ended = max(self._longest_ended, steps)
        self.inner.end(steps)
