"""Shrinking one trace: check that it replays to its bug, let the passes drive a `Shrinker`
until none helps or the time budget is spent, and describe the shortest run found."""

from __future__ import annotations

from dataclasses import dataclass

from testkit._engine.bug import Bug
from testkit._engine.interrupts import interruptible
from testkit._engine.iteration import finish_bug
from testkit._engine.runtime import Runtime
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.test_function import TestFunction
from testkit._engine.trace import Trace
from testkit._errors import TestkitError
from testkit._shrinking.passes import run_passes
from testkit._shrinking.shrinker import Shrinker, strict_run
from testkit._strategies import Strategy


@dataclass
class Shrunk:
    """The outcome: the shrunk trace, its bug as a report shows it, and what it took."""

    trace: Trace
    bug: Bug
    original: Trace
    seconds: float
    runs: int
    timed_out: bool


def shrink_trace(
    test: TestFunction, trace: Trace, time_budget: float, watchdog: float | None
) -> Shrunk:
    """Shrink `trace` for at most `time_budget` seconds (arguments checked by the caller)."""
    started = wall_clock()
    with interruptible(), Sandbox(watchdog) as sandbox:
        try:
            runtime, bug = strict_run(test, trace, sandbox)
        except TestkitError as exc:
            raise TestkitError(f"cannot shrink this trace: it does not replay: {exc}") from None
        if bug is None:
            raise TestkitError(
                f"cannot shrink this trace: it replays to its end ({runtime.steps} steps) "
                "without a bug; shrink a trace written for a bug by `python -m testkit test` "
                "or explore()"
            )
        bound_liveness = runtime.bound_reached and bug.kind == "liveness"
        shrinker = Shrinker(test, trace, bug, sandbox, started + time_budget, bound_liveness)
        run_passes(shrinker)
        best = shrinker.trace_of(shrinker.best)
        if len(best) > len(trace):  # never longer: keep the original
            best = trace
        runtime, final = strict_run(test, best, sandbox)
    assert final is not None
    finished = _finished(final, runtime, best)
    return Shrunk(
        finished.trace,
        finished,
        trace,
        wall_clock() - started,
        shrinker.runs,
        shrinker.timed_out,
    )


def _finished(bug: Bug, runtime: Runtime, trace: Trace) -> Bug:
    """`bug` with its trace, events and logs, as `explore` reports a bug."""
    strategy = Strategy()
    strategy.name = trace.strategy
    strategy.fair = trace.fair
    finish_bug(
        bug,
        runtime,
        strategy,
        trace.test,
        trace.seed,
        trace.iteration - 1,
        trace.liveness_threshold,
    )
    bug.trace.versions = trace.versions
    return bug


def check_budget(time_budget: object, where: str) -> float:
    """A time budget is a number of seconds > 0."""
    if (
        isinstance(time_budget, bool)
        or not isinstance(time_budget, (int, float))
        or not time_budget > 0
    ):
        raise TestkitError(
            f"{where}: time_budget must be a number of seconds > 0, got {time_budget!r}"
        )
    return float(time_budget)
