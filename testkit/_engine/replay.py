"""`replay`: re-run the decisions of a trace, and say where the program diverges from it."""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from testkit._engine.bug import Abort, state_text
from testkit._engine.explore import TestFunction, check_test, delay_rng, finish_bug, run_once
from testkit._engine.operations import Mailbox, TimerQueue
from testkit._engine.payloads import CONTINUE, START, describe_message
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.trace import Step, Trace, comparable
from testkit._engine.watchdog import DEFAULT_WATCHDOG, check_watchdog
from testkit._errors import ReplayDivergence, TestkitError
from testkit._reporting.report import Report, test_name
from testkit._strategies import Strategy

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
        if expected.kind in ("random", "wait"):
            raise Abort(
                error=ReplayDivergence(step, str(expected), f"a scheduling choice among [{names}]")
            )
        wanted = f"timer {expected.actor}" if expected.kind == "timer" else expected.actor
        for op in enabled:
            if _op_label(op) == wanted:
                planned = Step(step, *_next_step(op))
                if comparable(str(planned)) != comparable(str(expected)):
                    raise Abort(error=ReplayDivergence(step, str(expected), str(planned)))
                return op
        raise Abort(
            error=ReplayDivergence(
                step, str(expected), f"{expected.actor} cannot run; enabled: [{names}]"
            )
        )

    def expect_event(self, step: int, kind: str, actor: str, what: str, detail: str) -> None:
        """A step the program takes by itself (a handler began to wait): check it."""
        got = Step(step, kind, actor, what, detail)
        expected = self._expected(step, str(got))
        if comparable(str(expected)) != comparable(str(got)):
            raise Abort(error=ReplayDivergence(step, str(expected), str(got)))

    def pick_int(self, n: int, step: int) -> int:
        expected = self._expected(step, f"a random choice in [0, {n})")
        if expected.kind != "random" or expected.bound != n:
            raise Abort(error=ReplayDivergence(step, str(expected), f"a random choice in [0, {n})"))
        return expected.value


def _next_step(op: Any) -> tuple[str, str, str, str]:
    """(kind, actor, what, detail) of the step `op` would run next, as the explorer records
    it: a delivery's detail is the message's repr and ` @<state>`, the receiver's state."""
    if op.__class__ is TimerQueue:
        kind, what, detail = describe_message(op.heap[0].message)
        return "timer", str(op.mailbox.id), what, detail
    if op.__class__ is not Mailbox:
        kind, what, detail = describe_message(CONTINUE)
        return kind, str(op.id), what, detail
    waiter = op.waiter
    if waiter is not None:
        what = waiter.what + (":timeout" if waiter.timed_out else "")
        return "resume", str(op.id), waiter.target, what
    if not op.started:
        kind, what, detail = describe_message(START)
        return kind, str(op.id), what, detail
    kind, what, detail = describe_message(op.items[0].message)
    current = getattr(op.actor, "_sm_current", None)
    if current is not None and kind == "deliver":
        state = f"@{state_text(current.state_name)}"
        detail = f"{detail} {state}" if detail else state
    return kind, str(op.id), what, detail


def _op_label(op: Any) -> str:
    if op.__class__ is TimerQueue:
        return f"timer {op.mailbox.id}"
    return str(op.id)


def checked_trace(test: TestFunction, trace: Trace | str | Path, where: str) -> Trace:
    """The trace to re-run (`replay`, `shrink`): a `Trace` or a file, with its `max_steps`,
    recorded for `test`; else a `TestkitError` saying what is wrong."""
    if not isinstance(trace, (Trace, str, os.PathLike)):
        raise TestkitError(
            f"{where}(test, trace): trace must be a Trace or the path of a trace file, "
            f"got {trace!r}"
        )
    loaded = trace if isinstance(trace, Trace) else Trace.load(trace)
    if not loaded.max_steps:
        raise TestkitError(
            "the trace's '# max_steps:' header is missing or 0; a trace written by testkit "
            "has the max_steps of the run that found the bug"
        )
    check_target(loaded.test, test_name(test))
    return loaded


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
    index = loaded.iteration - 1  # the explorer's 0-based index seeds the timer delays
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
            delay_rng(loaded.seed, index),
            replaying=True,
        )
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
    if runtime.steps < len(loaded.steps):
        raise ReplayDivergence(
            runtime.steps, f"{len(loaded.steps)} steps before the bug", f"the bug: {bug.headline()}"
        )
    report.buggy_iterations = 1
    finish_bug(bug, runtime, strategy, report, loaded.seed, index, loaded.liveness_threshold)
    bug.trace.strategy = loaded.strategy
    report.bugs.append(bug)
    return report


def check_target(recorded: str, target: str) -> None:
    """A trace recorded for another test function cannot replay: say so before running.

    The function names must match; the modules may differ when one is a package the other
    belongs to (a function re-exported by its package) or `__main__`. A header without
    `module:function` (a custom `explore(name=...)`, or none) cannot be checked.
    """
    recorded_module, sep, recorded_function = recorded.partition(":")
    if not sep:
        return
    target_module, _, target_function = target.partition(":")
    related = {recorded_module, target_module} & {"__main__"} or any(
        a == b or a.startswith(b + ".")
        for a, b in ((recorded_module, target_module), (target_module, recorded_module))
    )
    if recorded_function != target_function or not related:
        raise TestkitError(
            f"this trace was recorded for {recorded}, you asked to replay it against {target}; "
            f"replay it against {recorded} (python -m testkit replay {recorded} TRACE)"
        )
