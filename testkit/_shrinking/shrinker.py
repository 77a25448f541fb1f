"""The `Shrinker` the passes drive: it replays a candidate leniently and keeps it when it is
smaller and strictly replays to the same bug."""

from __future__ import annotations

import bisect
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from testkit._engine.bug import Bug
from testkit._engine.iteration import build_steps, run_like
from testkit._engine.replaying import ReplayStrategy
from testkit._engine.runtime import Runtime
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.test_function import TestFunction
from testkit._engine.trace import Step, Trace
from testkit._errors import TestkitError
from testkit._shrinking.lenient import LenientStrategy
from testkit._shrinking.units import Unit, is_passive, units_of

_NUMBER = re.compile(r"[0-9]+")


def same_bug(target: Bug, found: Bug) -> bool:
    """Whether `found` is the bug `target` is: the same kind and actor class (`Robot#2` is a
    `Robot#1`), and the same exception type and message; for a liveness bug the same
    monitor, hot state and wording (the step counts in it may differ)."""
    if found.kind != target.kind or found.signature[1] != target.signature[1]:
        return False
    if target.kind == "liveness":
        return _NUMBER.sub("N", found.message) == _NUMBER.sub("N", target.message)
    return found.message == target.message


@dataclass(frozen=True)
class Candidate:
    """A run that reproduced the bug: its steps, its units and how it orders (shortlex on the
    choices: fewer steps first, then a lower timer delay, then lower choice indices and
    random values; in the shrinker's last phase, fewer deviations come right after fewer
    steps, see `Shrinker.rank`)."""

    steps: list[Step]
    units: list[Unit]
    starts: list[int]
    """The index of each unit's first step."""
    enabled: list[tuple[str, ...] | None]
    key: tuple[int, int, tuple[int, ...]]
    deviations: int
    """Scheduling choices other than the default order (the first enabled operation, which
    lenient replay runs when it has no unit left): the preemptions a reader follows."""
    max_steps: int
    timer_delay: int
    hot_since: int | None
    """For a monitor hot too long at max_steps: the step it turned hot (it must stay hot for
    the liveness threshold, so no lower cap shows the bug with these units)."""
    editable: int
    """How many leading units an edit can shorten the run in: all of them, except for a
    monitor hot too long at max_steps, whose run is as long as the cap whatever comes
    after the unit that made the monitor hot (edits there only reorder)."""
    entropy: str = ""
    """The run's summary of the program's own random draws (the trace's `# entropy:`)."""


def story_of(steps: Iterable[Step], kinds: frozenset[str]) -> list[tuple[str, str, str]]:
    """(kind, actor class, what) of each step whose kind is in `kinds`: what `keep` keeps."""
    return [
        (step.kind, step.actor.split("#", 1)[0], step.what) for step in steps if step.kind in kinds
    ]


def strict_run(test: TestFunction, trace: Trace, sandbox: Sandbox) -> tuple[Runtime, Bug | None]:
    """Replay `trace` exactly (`ReplayDivergence` where the program differs)."""
    strategy = ReplayStrategy(trace, False)
    strategy.begin(0, random.Random(0), trace.max_steps)
    return run_like(test, strategy, trace, sandbox)


class Shrinker:
    """Holds the best candidate so far and tries new ones against it, within a deadline."""

    def __init__(
        self,
        test: TestFunction,
        trace: Trace,
        target: Bug,
        sandbox: Sandbox,
        deadline: float,
        bound_liveness: bool,
        keep: frozenset[str] = frozenset(),
    ) -> None:
        self.test = test
        self.trace = trace
        self.target = target
        self.sandbox = sandbox
        self.deadline = deadline
        self.bound_liveness = bound_liveness
        """The bug is a monitor hot too long at max_steps: a shorter run needs a lower
        max_steps (the liveness threshold stays), so the cap is shrunk too."""
        self.fewer_deviations = False
        """The last phase: at equal length, fewer deviations from the default order first
        (set once the shortest length is reached, so that it never costs length)."""
        self.kept = Counter(story_of(trace.steps, keep))
        """The steps of the kinds to keep (`shrink(..., keep=...)`) a candidate must still
        have, by kind, actor class and what they ran."""
        self.tried: set[tuple[tuple[Unit, ...], int, int]] = set()
        self.runs = 0
        self.timed_out = False
        first = self._run(units_of(trace.steps), trace.max_steps, trace.timer_delay)
        if first is None:  # lenient replay of the original itself must reproduce it
            raise TestkitError(
                "the trace reproduces its bug when replayed exactly but not when shrinking "
                "replays it; the program may decide differently from run to run"
            )
        self.best = first

    @property
    def done(self) -> bool:
        if not self.timed_out and wall_clock() >= self.deadline:
            self.timed_out = True
        return self.timed_out

    def consider(
        self, units: Sequence[Unit], cap: int | None = None, timer_delay: int | None = None
    ) -> bool:
        """Try `units` (with another max_steps or timer delay in the trace's header); True
        if the result reproduces the bug, is smaller and is kept."""
        limit = self.best.max_steps if cap is None else cap
        if not self.bound_liveness:
            limit = min(limit, len(self.best.steps))
        delay = self.best.timer_delay if timer_delay is None else timer_delay
        key = (tuple(units), limit, delay)
        if key in self.tried or self.done:
            return False
        self.tried.add(key)
        found = self._run(units, limit, delay)
        if found is None or self.rank(found) >= self.rank(self.best) or not self._keeps(found):
            return False
        if not self._verified(found):
            return False
        self.best = found
        return True

    def _run(self, units: Sequence[Unit], limit: int, delay: int) -> Candidate | None:
        self.runs += 1
        strategy = LenientStrategy(units, self.trace.fair, self.trace.strategy)
        strategy.begin(0, random.Random(0), limit)
        try:
            runtime, bug = run_like(self.test, strategy, self.trace, self.sandbox, limit, delay)
        except TestkitError:  # misuse on this schedule (or a hang): not a candidate
            return None
        if bug is None or not same_bug(self.target, bug):
            return None
        if runtime.bound_reached and limit < self.trace.max_steps and not self.bound_liveness:
            return None
        steps = build_steps(runtime.trace)
        starts = [i for i, s in enumerate(steps) if not is_passive(s)]
        if steps and steps[0].kind == "random":
            starts.insert(0, 0)
        # a `wait` step is the runtime's record of a handler parking, not a choice: align the
        # strategy's per-choice lists with the steps
        choices = iter(strategy.enabled)
        enabled = [
            None
            if s.kind == "wait" or (s.kind == "fault" and s.actor == "heal")
            else next(choices, None)
            for s in steps
        ]
        editable = len(starts)
        hot_since = self._hot_since(runtime) if self.bound_liveness else None
        if hot_since is not None:
            editable = min(editable, bisect.bisect_right(starts, hot_since) + 1)
        return Candidate(
            steps,
            units_of(steps),
            starts,
            enabled,
            (len(steps), delay, tuple(strategy.choices)),
            strategy.deviations,
            limit if self.bound_liveness else self.trace.max_steps,
            delay,
            hot_since,
            editable,
            runtime.entropy.summary(),
        )

    def _hot_since(self, runtime: Runtime) -> int | None:
        """The step at which the target's monitor last turned hot in this run."""
        for cls, slot in runtime.monitor_slots.items():
            if cls.__name__ == self.target.signature[1]:
                hot_since: int | None = slot.hot_since
                return hot_since
        return None

    def trace_of(self, found: Candidate) -> Trace:
        return replace(
            self.trace,
            steps=found.steps,
            max_steps=found.max_steps,
            timer_delay=found.timer_delay,
            entropy=found.entropy,
        )

    def rank(self, found: Candidate) -> tuple[int, int, int, tuple[int, ...]]:
        """How candidates order: the `key`, or in the last phase fewer deviations right
        after fewer steps."""
        length, delay, choices = found.key
        return (length, found.deviations if self.fewer_deviations else 0, delay, choices)

    def _keeps(self, found: Candidate) -> bool:
        """Whether `found` still has every step of the kinds to keep."""
        if not self.kept:
            return True
        have = Counter(story_of(found.steps, frozenset(self.kept_kinds)))
        return all(have[item] >= count for item, count in self.kept.items())

    @property
    def kept_kinds(self) -> set[str]:
        return {kind for kind, _, _ in self.kept}

    def _verified(self, found: Candidate) -> bool:
        """The candidate, as a trace, replays strictly to the same bug."""
        try:
            runtime, bug = strict_run(self.test, self.trace_of(found), self.sandbox)
        except TestkitError:
            return False
        return bug is not None and runtime.steps == len(found.steps) and same_bug(self.target, bug)
