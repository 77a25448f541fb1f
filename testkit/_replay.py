"""`replay`: re-run the decisions of a trace, and say where the program diverges from it."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from testkit._bug import Abort
from testkit._errors import ReplayDivergence, TestkitError
from testkit._explore import TestFunction, check_test, delay_rng, finish_bug, run_once
from testkit._operations import TimerQueue
from testkit._report import Report, test_name
from testkit._sandbox import Sandbox, wall_clock
from testkit._strategies import Strategy
from testkit._trace import Step, Trace
from testkit._watchdog import DEFAULT_WATCHDOG, check_watchdog

_replay_log = logging.getLogger("testkit.replay")


class ReplayStrategy(Strategy):
    """Forces every decision recorded in a trace, and reports the first divergence."""

    def __init__(self, trace: Trace, log_steps: bool) -> None:
        super().__init__()
        self.steps = trace.steps
        self.fair = trace.fair
        self.name = f"replay of {trace.strategy}"
        self.log_steps = log_steps

    def _expected(self, step: int, got: str) -> Step:
        if step >= len(self.steps):
            raise Abort(
                error=ReplayDivergence(
                    step, f"the end of the trace ({len(self.steps)} steps, then the bug)", got
                )
            )
        expected = self.steps[step]
        if self.log_steps:
            _replay_log.info("%s", expected)
        return expected

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        names = ", ".join(_op_label(op) for op in enabled)
        expected = self._expected(step, f"a scheduling choice among [{names}]")
        if expected.kind == "random":
            raise Abort(
                error=ReplayDivergence(step, str(expected), f"a scheduling choice among [{names}]")
            )
        wanted = f"timer {expected.actor}" if expected.kind == "timer" else expected.actor
        for op in enabled:
            if _op_label(op) == wanted:
                kind, what = op.peek()
                if kind != expected.kind or what != expected.what:
                    shown = " ".join(p for p in (kind, op_actor(op), what) if p)
                    raise Abort(error=ReplayDivergence(step, str(expected), shown))
                return op
        raise Abort(
            error=ReplayDivergence(
                step, str(expected), f"{expected.actor} cannot run; enabled: [{names}]"
            )
        )

    def pick_int(self, n: int, step: int) -> int:
        expected = self._expected(step, f"a random choice in [0, {n})")
        if expected.kind != "random" or expected.bound != n:
            raise Abort(error=ReplayDivergence(step, str(expected), f"a random choice in [0, {n})"))
        return expected.value


def op_actor(op: Any) -> str:
    return str(op.mailbox.id if op.__class__ is TimerQueue else op.id)


def _op_label(op: Any) -> str:
    if op.__class__ is TimerQueue:
        return f"timer {op.mailbox.id}"
    return str(op.id)


def replay(
    test: TestFunction,
    trace: Trace | str | Path,
    *,
    log_steps: bool = False,
    watchdog: float | None = DEFAULT_WATCHDOG,
) -> Report:
    """Re-run exactly the decisions of `trace` and return the `Report` of the reproduced bug.

    Raises `ReplayDivergence` if the program makes a different decision than recorded, and
    `TestkitError` if the trace replays to its end without the bug happening.
    """
    check_test(test, "replay")
    limit = check_watchdog(watchdog, "replay")
    loaded = trace if isinstance(trace, Trace) else Trace.load(trace)
    if not loaded.max_steps:
        raise TestkitError("the trace has no max_steps header; was it written by testkit?")
    strategy = ReplayStrategy(loaded, log_steps)
    report = Report(loaded.test or test_name(test), strategy.name, loaded.seed, loaded.max_steps)
    with Sandbox(limit) as sandbox:
        started = wall_clock()  # the run, not freezegun's one-off start
        strategy.begin(0, random.Random(0), loaded.max_steps)
        runtime, bug = run_once(
            test,
            strategy,
            loaded.max_steps,
            loaded.liveness_threshold,
            sandbox,
            loaded.timer_delay,
            delay_rng(loaded.seed, loaded.iteration - 1),
            replaying=True,
        )
    report.iterations = report.schedules = 1
    report.steps = runtime.steps
    report.bound_reached = int(runtime.bound_reached)
    report.elapsed = wall_clock() - started
    if bug is None:
        raise TestkitError(
            f"the trace was replayed to its end ({runtime.steps} steps) but no bug happened; "
            f"expected: {loaded.bug or 'a bug'}"
        )
    if runtime.steps < len(loaded.steps):
        raise ReplayDivergence(
            runtime.steps, f"{len(loaded.steps)} steps before the bug", f"the bug: {bug.headline()}"
        )
    report.buggy_iterations = 1
    finish_bug(
        bug, runtime, strategy, report, loaded.seed, loaded.iteration, loaded.liveness_threshold
    )
    bug.trace.strategy = loaded.strategy
    report.bugs.append(bug)
    return report
