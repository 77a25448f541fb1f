"""The shortest failing schedule, by exhaustive search: a lower bound for the shrinker.

A depth-first search over every scheduling decision and random value, with timers ready as
soon as they are set (timer delay 0: every schedule any delay allows, and more), bounded by
the shortest failing run found so far (branch and bound). When the search ends within its
budget, no run shorter than the result reproduces the bug, whatever the shrinker does.
Exponential in the trace's length: for the small seeded bugs, not for the failover examples.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from testkit._engine.bug import Bug
from testkit._engine.interrupts import interruptible
from testkit._engine.iteration import build_steps, run_like
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.test_function import TestFunction
from testkit._engine.trace import Trace
from testkit._errors import TestkitError
from testkit._shrinking.shrinker import same_bug, strict_run
from testkit._strategies import DFSStrategy


@dataclass
class Shortest:
    """The outcome: the shortest failing trace found (None: none up to the bound), whether
    the search covered every shorter schedule (then its length is the true minimum), and the
    number of runs it took."""

    trace: Trace | None
    exhausted: bool
    runs: int


def shortest_failing(
    test: TestFunction, trace: Trace, time_budget: float, watchdog: float | None = None
) -> Shortest:
    """Search every schedule shorter than `trace` for the shortest that replays to its bug
    (the same bug as `shrink` keeps), for at most `time_budget` seconds.

        found = shortest_failing(lost_update, report.bug.original_trace, 60)
        assert found.exhausted and len(found.trace) <= len(testkit.shrink(...))
    """
    deadline = wall_clock() + time_budget
    with interruptible(), Sandbox(watchdog) as sandbox:
        runtime, target = strict_run(test, trace, sandbox)
        if target is None:
            raise TestkitError("shortest: the trace replays without a bug")
        search = _Search(test, trace, target, sandbox, deadline)
        if runtime.bound_reached and target.kind == "liveness":
            # hot for `liveness_threshold` steps when the run is cut off: no run shorter than
            # the threshold shows it, and each length is a tree of its own (runs end at the
            # bound), so lengths go up from there and the first that fails is the minimum
            for bound in range(max(1, trace.liveness_threshold), len(trace) + 1):
                if search.run_tree(bound, at_bound=True) or not search.exhausted:
                    break
        else:
            search.run_tree(len(trace), at_bound=False)
        best = search.best
        if best is not None:
            _, again = strict_run(test, best, sandbox)
            if again is None or not same_bug(target, again):
                raise TestkitError("shortest: the shortest run found does not replay strictly")
        return Shortest(best, search.exhausted, search.runs)


class _Search:
    """Depth-first runs over the choice tree, keeping the shortest failing run."""

    def __init__(
        self, test: TestFunction, trace: Trace, target: Bug, sandbox: Sandbox, deadline: float
    ) -> None:
        self.test = test
        self.trace = trace
        self.target = target
        self.sandbox = sandbox
        self.deadline = deadline
        self.best: Trace | None = None
        self.exhausted = True
        self.runs = 0

    def run_tree(self, bound: int, at_bound: bool) -> bool:
        """Every schedule of at most `bound` steps; at the first failing one, stop if
        `at_bound`, else go on below its length (branch and bound). True if one failed."""
        trace = self.trace
        strategy = DFSStrategy(trace.fair)
        failed = False
        while bound > 0:
            if not strategy.begin(0, random.Random(0), bound):
                return failed  # every schedule within the bound was run
            if wall_clock() >= self.deadline:
                self.exhausted = False
                return failed
            self.runs += 1
            try:
                runtime, bug = run_like(self.test, strategy, trace, self.sandbox, bound, 0)
            except TestkitError:  # misuse on this schedule: not the bug
                bug = None
            strategy.prune()
            if trace.faults:  # faults come from a plan, not the search tree: not exhaustive
                self.exhausted = False
            if bug is not None and same_bug(self.target, bug):
                steps = build_steps(runtime.trace)
                self.best = replace(
                    trace,
                    steps=steps,
                    strategy="shortest",
                    timer_delay=0,
                    max_steps=len(steps) if at_bound else trace.max_steps,
                    entropy=runtime.entropy.summary(),
                )
                failed = True
                if at_bound:
                    return True
                bound = len(steps) - 1
        return failed
