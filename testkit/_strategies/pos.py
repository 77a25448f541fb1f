"""Partial order sampling (Yuan, Yang and Gu, CAV 2018), for actors."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from testkit._strategies.base import Strategy
from testkit._strategies.priority import PriorityQueue


def partner(op: Any) -> Any:
    """The other operation of the same actor: its timers for a mailbox, and back."""
    timers = getattr(op, "timers", None)
    if timers is not None:
        return timers
    return getattr(op, "mailbox", None)


class POSStrategy(Strategy):
    """POS: every pending event has a random priority, the highest runs, and after an event
    runs only the events racing with it get new priorities; unfair.

    An event is an operation's next action (an actor's head message, its earliest timer, the
    test function going on). A newly enabled operation, and the operation that just ran (its
    next event is a new one), draw fresh priorities. Events race when they touch the same
    actor: its mailbox delivery and its timer (which enqueues into that mailbox and which the
    handler may cancel or re-arm). A send to an actor that already has messages commutes with
    that actor's pending delivery (the head is taken, the tail appended), so it keeps its
    priority. Unlike PCT, no priority persists for a whole run, so no operation is starved
    for good: POS samples partial orders far more uniformly than random walks.
    O(log n) per step (a heap with lazy deletion).
    """

    name = "pos"
    fair = False

    def __init__(self) -> None:
        super().__init__()
        self.queue = PriorityQueue()
        self._last: Any = None
        self.redrawn: list[Any] = []
        """The operations whose priority the last decision re-drew (for tests)."""

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        self.queue = PriorityQueue()
        self._last = None
        return True

    def enabled_hook(self) -> Callable[[Any], None] | None:
        return self._on_enable

    def _on_enable(self, op: Any) -> None:
        self.queue.set(op, self._rand())  # a new event

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        queue = self.queue
        last = self._last
        redrawn = self.redrawn = []
        if last is not None:
            for op in (last, partner(last)):
                if op is not None and op.enabled:
                    queue.set(op, self._rand())
                    redrawn.append(op)
        chosen = queue.top()
        self._last = chosen
        return chosen
