"""`deterministic()`: one schedule for a block of an ordinary test."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

from fsm import _dispatch
from testkit._engine.bug import Abort, Bug
from testkit._engine.iteration import (
    DEFAULT_TIMER_DELAY,
    build_steps,
    delay_rng,
    iteration_seed,
    recent_events,
)
from testkit._engine.runtime import Runtime
from testkit._engine.sandbox import Sandbox
from testkit._engine.trace import Trace
from testkit._engine.watchdog import DEFAULT_WATCHDOG, Hung, check_watchdog
from testkit._errors import TestkitError
from testkit._reporting.report import BugFound
from testkit._strategies import Strategy, make_strategy


@contextlib.contextmanager
def deterministic(
    seed: int = 0,
    strategy: str | Strategy = "random",
    max_steps: int = 100_000,
    timer_delay: int = DEFAULT_TIMER_DELAY,
    watchdog: float | None = DEFAULT_WATCHDOG,
) -> Iterator[Runtime]:
    """Run the block under the deterministic runtime (one schedule), e.g. in a pytest test.

    Actors started inside run under the scheduler; `ask()` and `TestProbe` expectations run it.
    A bug in an actor raises `BugFound` (an AssertionError) at the point the test waited; its
    message names the seed and strategy (the same ones give the same schedule again) and
    `exc.bug.trace` holds every decision.

        with testkit.deterministic(seed=1):
            probe = TestProbe()
            Timeouts.start(probe.ref)
            probe.expect_msg("an hour passed")
    """
    chosen = make_strategy(strategy)
    limit = check_watchdog(watchdog, "deterministic")
    chosen.begin(0, random.Random(iteration_seed(seed, 0)), max_steps)
    delay = timer_delay if chosen.delays_timers else 0
    with Sandbox(limit) as sandbox:
        runtime = Runtime(chosen, max_steps, sandbox.set_clock, False, delay, delay_rng(seed, 0))
        sandbox.set_clock(0.0)
        sandbox.watchdog.runtime = runtime
        with _dispatch.installed(runtime):
            try:
                yield runtime
            except (Hung, KeyboardInterrupt):
                if sandbox.watchdog.message is None:
                    raise
                raise TestkitError(sandbox.watchdog.message) from None
            except Abort as abort:
                if sandbox.watchdog.message is not None:  # its interrupt made a bug on the way
                    raise TestkitError(sandbox.watchdog.message) from None
                if abort.error is not None:
                    raise abort.error from None
                raise _bug_found(abort, runtime, chosen, seed) from None
            finally:
                sandbox.watchdog.runtime = None
                runtime.dispose()


def _bug_found(abort: Abort, runtime: Runtime, strategy: Strategy, seed: int) -> BugFound:
    """What the block raises for the bug (or the step bound) that ended it, with its trace."""
    max_steps = runtime.max_steps
    bug = abort.bug or Bug(
        "bound",
        f"max_steps={max_steps} reached while the test waited; the system never "
        "became quiescent (a timer that re-arms forever?)",
        "test",
    )
    bug.step = runtime.steps
    steps = build_steps(runtime.trace)
    bug.events = recent_events(steps)
    bug.trace = Trace(
        steps,
        test="deterministic() block",
        strategy=strategy.active_name,
        seed=seed,
        iteration=1,
        max_steps=max_steps,
        fair=strategy.fair,
        timer_delay=runtime.timer_delay,
        bug=bug.headline(),
    )
    return BugFound(
        bug,
        f"reproduce it: deterministic(seed={seed}, strategy={strategy.name!r}) makes "
        "the same decisions again; BugFound.bug.trace lists them",
    )
