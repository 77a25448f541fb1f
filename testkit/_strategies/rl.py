"""Q-learning over schedules, after Coyote's reinforcement-learning strategy (Mukherjee et
al., "Learning-based controlled concurrency testing", OOPSLA 2020)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from testkit._strategies.base import Strategy

CANDIDATES = 8
"""At most this many enabled operations are weighed per decision (a random sample beyond)."""


def _actor_state(op: Any) -> Any:
    mailbox = getattr(op, "mailbox", op)
    actor = getattr(mailbox, "actor", None)
    current = getattr(actor, "_sm_current", None)
    return getattr(current, "state_name", None)


class QLearningStrategy(Strategy):
    """Learns, across iterations, which choices lead to rarely seen states; fair enough in
    practice, formally unfair.

    Every step costs a reward of -1, so the Q-value of a (state, choice) pair sinks each time
    a run takes it, and the softmax policy drifts towards choices whose outcome has been
    seen least: a search for novel schedules. The state is abstracted as the last two steps
    (operation and the actor's FSM state after it) and the number of enabled operations;
    the choice is the operation's name (or the random value). Learning (alpha 0.3, gamma 0.7,
    as in Coyote) runs once per iteration, backwards over its decisions.
    O(1) per step: at most `CANDIDATES` operations are weighed.
    """

    name = "rl"
    fair = False
    alpha = 0.3
    gamma = 0.7

    def __init__(self) -> None:
        super().__init__()
        self.q: dict[tuple[int, Any], float] = {}
        self._path: list[tuple[int, Any, tuple[Any, ...]]] = []
        self._recent: tuple[Any, ...] = ()
        self._last: Any = None

    def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
        super().begin(iteration, rng, max_steps)
        self._path = []
        self._recent = ()
        self._last = None
        return True

    def _state(self, width: int) -> int:
        last = self._last
        if last is not None:
            self._recent = (*self._recent[-1:], last.id, _actor_state(last))
        return hash((self._recent, width))

    def _softmax(self, state: int, actions: Sequence[Any]) -> Any:
        q = self.q
        values = [q.get((state, a), 0.0) for a in actions]
        top = max(values)
        weights = [math.exp(v - top) for v in values]
        roll = self._rand() * sum(weights)
        for action, weight in zip(actions, weights, strict=True):
            roll -= weight
            if roll <= 0:
                return action
        return actions[-1]

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        state = self._state(len(enabled))
        if len(enabled) > CANDIDATES:
            rand = self._rand
            ops = [enabled[int(rand() * len(enabled))] for _ in range(CANDIDATES)]
        else:
            ops = list(enabled)
        names = [op.id for op in ops]
        name = self._softmax(state, names)
        self._path.append((state, name, tuple(names)))
        chosen = ops[names.index(name)]
        self._last = chosen
        return chosen

    def pick_int(self, n: int, step: int) -> int:
        if n > CANDIDATES:
            return int(self._rand() * n)
        state = self._state(-n)
        values = tuple(range(n))
        value: int = self._softmax(state, values)
        self._path.append((state, value, values))
        return value

    def end(self, steps: int) -> None:
        q = self.q
        alpha, gamma = self.alpha, self.gamma
        after = 0.0  # the best value of the state after the last decision: the run ended
        for state, action, actions in reversed(self._path):
            key = (state, action)
            old = q.get(key, 0.0)
            q[key] = old + alpha * (-1.0 + gamma * after - old)
            after = max(q.get((state, a), 0.0) for a in actions)
        self._path = []
