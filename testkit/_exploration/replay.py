"""`replay`: re-run the decisions of a trace and report the bug it reproduces."""

from __future__ import annotations

import random
from pathlib import Path

from testkit._engine.interrupts import interruptible
from testkit._engine.iteration import finish_replayed, run_like
from testkit._engine.replaying import ReplayStrategy, checked_trace
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.test_function import TestFunction, check_test, test_name
from testkit._engine.trace import Trace
from testkit._engine.watchdog import DEFAULT_WATCHDOG, check_watchdog
from testkit._errors import TestkitError
from testkit._reporting.report import Report


def replay(
    test: TestFunction,
    trace: Trace | str | Path,
    *,
    log_steps: bool = False,
    watchdog: float | None = DEFAULT_WATCHDOG,
) -> Report:
    """Re-run exactly the decisions of `trace` and return the `Report` of the reproduced bug.

    Every step is checked against the trace: the actor, the message type and repr, the
    receiver's state, the random bounds. Raises `ReplayDivergence` at the first step the
    program decides differently, and `TestkitError` if the trace was recorded for another
    test or replays to its end without the bug happening.

        report = testkit.replay(lost_update, "testkit-traces/lost_update.trace")
    """
    check_test(test, "replay")
    limit = check_watchdog(watchdog, "replay")
    loaded = checked_trace(test, trace, "replay")
    strategy = ReplayStrategy(loaded, log_steps)
    report = Report(loaded.test or test_name(test), strategy.name, loaded.seed, loaded.max_steps)
    with interruptible(), Sandbox(limit) as sandbox:
        started = wall_clock()  # the run, not freezegun's one-off start
        strategy.begin(0, random.Random(0), loaded.max_steps)
        runtime, bug = run_like(test, strategy, loaded, sandbox)
    report.iterations = report.schedules = 1
    report.steps = runtime.steps
    report.bound_reached = int(runtime.bound_reached)
    report.elapsed = wall_clock() - started
    if bug is None:
        end = (
            f"stopped at its max_steps={loaded.max_steps}"
            if runtime.bound_reached
            else f"was replayed to its end ({runtime.steps} steps)"
        )
        expected = loaded.bug or "a bug"
        raise TestkitError(f"the trace {end} but no bug happened; expected: {expected}")
    finish_replayed(bug, runtime, loaded, test=report.test)
    report.buggy_iterations = 1
    report.bugs.append(bug)
    return report
