"""Priority-based strategies: PCT (Burckhardt et al., ASPLOS 2010) and Coyote's
prioritization. Both run the highest-priority enabled operation; they differ in how many
priority change points there are and where they fall."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from typing import Any

from testkit._strategies.base import Strategy


class PriorityQueue:
    """Operations by priority (higher runs first), with lazy deletion: O(log n) amortized.

    Every enabled operation has a live heap entry (the runtime reports each enabling);
    entries of disabled operations and of outdated priorities are dropped when they surface.
    """

    __slots__ = ("_heap", "_in_heap", "_seq", "priority")

    def __init__(self) -> None:
        self.priority: dict[Any, float] = {}
        self._heap: list[tuple[float, int, Any]] = []
        self._in_heap: set[Any] = set()
        self._seq = 0

    def set(self, op: Any, priority: float) -> None:
        """Give `op` a new priority (and an entry if it is enabled)."""
        self.priority[op] = priority
        self._push(op, priority)

    def offer(self, op: Any) -> None:
        """`op` became enabled: make sure it has a live entry."""
        if op not in self._in_heap:
            self._push(op, self.priority[op])

    def _push(self, op: Any, priority: float) -> None:
        self._seq += 1
        self._in_heap.add(op)
        heapq.heappush(self._heap, (-priority, self._seq, op))

    def top(self) -> Any:
        """The enabled operation of highest priority."""
        heap = self._heap
        priority = self.priority
        while True:
            negative, _, op = heap[0]
            live = -negative == priority[op]
            if live and op.enabled:
                return op
            heapq.heappop(heap)
            if live:
                self._in_heap.discard(op)


class _PriorityStrategy(Strategy):
    """Runs the highest-priority enabled operation; unfair.

    An operation (an actor's mailbox, an actor's timers, the test function) gets a random
    priority above every demoted one when it is first enabled, as a new thread does in PCT.
    Change points are counted over scheduling decisions (the steps where the runtime asks,
    i.e. at least two operations are enabled), so none falls on a step without a choice.
    """

    fair = False

    def __init__(self) -> None:
        super().__init__()
        self.queue = PriorityQueue()
        self._change_points: set[int] = set()
        self._decisions = 0
        self._demotions = 0
        self.effective_changes = 0
        """Change points of the last iteration that preempted the operation about to run."""

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        self.queue = PriorityQueue()
        self._decisions = 0
        self._demotions = 0
        self.effective_changes = 0
        return True

    def enabled_hook(self) -> Callable[[Any], None] | None:
        return self._on_enable

    def _on_enable(self, op: Any) -> None:
        queue = self.queue
        if op in queue.priority:
            queue.offer(op)
        else:
            queue.set(op, 1.0 + self._rand())  # initial priorities lie in [1, 2)

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        queue = self.queue
        decision = self._decisions
        self._decisions = decision + 1
        top = queue.top()
        if decision in self._change_points:
            self._demotions += 1
            queue.set(top, -float(self._demotions))  # below every earlier demotion
            chosen = queue.top()
            self.effective_changes += chosen is not top
            return chosen
        return top


class PCTStrategy(_PriorityStrategy):
    """PCT with bug depth `depth`: random priorities and depth-1 change points; unfair.

    The change points are placed uniformly over the scheduling decisions of the expected run
    (the mean number of decisions of the runs so far): at each, the operation about to run
    drops below every other, so every change point that falls inside the run takes effect.
    `pct:d` finds a bug of depth d among n operations and k decisions with probability at
    least 1/(n*k^(d-1)) per iteration. O(log n) per step (a heap with lazy deletion).
    """

    def __init__(self, depth: int) -> None:
        super().__init__()
        self.depth = depth
        self.name = f"pct:{depth}"
        self._runs = 0
        self._total_decisions = 0

    @property
    def expected_decisions(self) -> int:
        """The run length (in scheduling decisions) the change points are drawn from."""
        return round(self._total_decisions / self._runs) if self._runs else 0

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        length = self.expected_decisions
        count = min(max(self.depth - 1, 0), length)
        self._change_points = set(rng.sample(range(length), count)) if count else set()
        return True

    def end(self, steps: int) -> None:
        self._runs += 1
        self._total_decisions += self._decisions


class PrioritizationStrategy(_PriorityStrategy):
    """Coyote's prioritization: random priorities and a random number (1..bound) of priority
    changes placed among the scheduling decisions of the longest run seen; unfair.
    O(log n) per step (a heap with lazy deletion)."""

    def __init__(self, bound: int) -> None:
        super().__init__()
        self.bound = bound
        self.name = f"prioritization:{bound}"
        self._most_decisions = 0

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        changes = rng.randrange(self.bound) + 1 if self.bound > 0 else 0
        count = min(changes, self._most_decisions)
        points = rng.sample(range(self._most_decisions), count) if count else []
        self._change_points = set(points)
        return True

    def end(self, steps: int) -> None:
        self._most_decisions = max(self._most_decisions, self._decisions)
