"""Exploration strategies: which enabled operation runs next, and which random value comes.

The runtime asks only when there is a real choice (two or more enabled operations, or a
random value). A strategy may keep state across the iterations of one `explore` call (PCT
learns how long schedules are; DFS remembers where it is in the tree). All randomness comes
from the per-iteration `rng`, so the same seed always gives the same schedules.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

from testkit._errors import TestkitError

DEFAULT_BOUND = {"pct": 3, "prioritization": 10, "probabilistic": 3}


class Strategy:
    """The base: uniformly random choices (Coyote's `random`)."""

    name = "random"
    fair = True
    delays_timers = True
    """Whether timers become ready after a random delay (DFS fires them as soon as set)."""

    def __init__(self) -> None:
        self.rng = random.Random(0)
        self._rand = self.rng.random

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

    @property
    def active_name(self) -> str:
        """The strategy that made this iteration's choices (a portfolio member's name)."""
        return self.name


class RandomStrategy(Strategy):
    """Every choice uniformly at random; fair."""


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

    def __init__(self) -> None:
        super().__init__()
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


class PortfolioStrategy(Strategy):
    """Cycles through several strategies, one per iteration (Coyote's default mode)."""

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

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        return self.current.pick(enabled, step)

    def pick_int(self, n: int, step: int) -> int:
        return self.current.pick_int(n, step)

    def end(self, steps: int) -> None:
        self.current.end(steps)


def _first_enabled(priorities: list[Any]) -> Any:
    for op in priorities:
        if op.enabled:
            return op
    raise AssertionError("no enabled operation among the priorities")  # pragma: no cover


NAMES = (
    "random",
    "probabilistic",
    "pct",
    "fair-pct",
    "prioritization",
    "fair-prioritization",
    "dfs",
    "portfolio",
)
_SPEC = re.compile(r"^(?P<base>[a-z-]+)(?::(?P<bound>.*))?$")


def make_strategy(spec: str | Strategy) -> Strategy:
    """A strategy from its name, optionally with a bound: `pct:5`, `fair-prioritization:10`."""
    if isinstance(spec, Strategy):
        return spec
    match = _SPEC.match(spec.strip().lower()) if isinstance(spec, str) else None
    base = match.group("base") if match else ""
    if match is None or base not in NAMES:
        raise TestkitError(
            f"unknown strategy {spec!r}; choose one of {', '.join(NAMES)} "
            "(pct, prioritization and probabilistic take an optional bound, e.g. 'pct:5')"
        )
    raw = match.group("bound")
    fair = base.startswith("fair-")
    core = base.removeprefix("fair-")
    if raw is not None and core not in DEFAULT_BOUND:
        raise TestkitError(f"strategy {core!r} takes no bound, got {spec!r}")
    if raw is not None and not (raw.isdigit() and raw.isascii()):
        raise TestkitError(
            f"the bound of strategy {base!r} must be a whole number >= 0, got {raw!r} in "
            f"{spec!r} (e.g. '{base}:{DEFAULT_BOUND[core]}')"
        )
    bound = int(raw) if raw is not None else DEFAULT_BOUND.get(core, 0)
    strategy: Strategy
    if core == "random":
        strategy = RandomStrategy()
    elif core == "probabilistic":
        strategy = ProbabilisticStrategy(bound)
    elif core == "pct":
        strategy = PCTStrategy(bound)
    elif core == "prioritization":
        strategy = PrioritizationStrategy(bound)
    elif core == "dfs":
        strategy = DFSStrategy()
    else:
        strategy = PortfolioStrategy(
            [
                RandomStrategy(),
                FairStrategy(PrioritizationStrategy(DEFAULT_BOUND["prioritization"])),
                ProbabilisticStrategy(DEFAULT_BOUND["probabilistic"]),
                FairStrategy(PCTStrategy(DEFAULT_BOUND["pct"])),
            ]
        )
    return FairStrategy(strategy) if fair else strategy
