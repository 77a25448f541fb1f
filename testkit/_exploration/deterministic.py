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
    trace_of,
)
from testkit._engine.runtime import Runtime
from testkit._engine.sandbox import Sandbox
from testkit._engine.watchdog import DEFAULT_WATCHDOG, Hung, Watchdog, check_watchdog
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
    When the block ends, what is still due runs to quiescence (bounded by `max_steps`): the
    messages still queued and what they cause, and the timers due at the virtual now; timers
    due later (a periodic tick, a state timeout) do not fire, so a timer that re-arms forever
    ends nothing in failure. A bug in an actor, found where the test waited or in that last
    run, raises `BugFound` (an AssertionError), also when the block is a fixture's and the
    test's code runs outside the `with`; its message names the seed and strategy (the same
    ones give the same schedule again) and `exc.bug.trace` holds every decision. Once a bug
    ended the run, waiting again raises it again.

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
        sandbox.new_iteration()
        sandbox.watchdog.runtime = runtime
        block = _Block(runtime, chosen, seed, sandbox.watchdog)
        runtime.surface = block.surface
        with _dispatch.installed(runtime):
            try:
                yield runtime
                if runtime.ended is None:
                    block.moment = "while the messages still queued at the end of the block ran"
                    runtime.settle()
            except (Hung, KeyboardInterrupt):
                if sandbox.watchdog.message is None:
                    raise
                raise TestkitError(sandbox.watchdog.message) from None
            except Abort as abort:  # raised in the block, outside any wait
                raise runtime.escalate(abort) from abort.__cause__
            finally:
                sandbox.watchdog.runtime = None
                runtime.dispose()


class _Block:
    """A `deterministic()` block's view of the `Abort` that ended its run."""

    def __init__(self, runtime: Runtime, strategy: Strategy, seed: int, watchdog: Watchdog) -> None:
        self.runtime = runtime
        self.strategy = strategy
        self.seed = seed
        self.watchdog = watchdog
        self.moment = "while the test waited"
        self.found: tuple[Bug, str] | None = None

    def surface(self, abort: Abort) -> BaseException:
        """The misuse error, or a `BugFound` with the bug's trace and how to reproduce it
        (the same bug raised again by a later wait keeps its first trace). When the watchdog
        interrupted a blocked handler, the hang, not the bug its interrupt made on the way."""
        if self.watchdog.message is not None:
            return TestkitError(self.watchdog.message)
        if abort.error is not None:
            return abort.error
        if self.found is None:
            self.found = _bug_found(abort, self.runtime, self.strategy, self.seed, self.moment)
        return BugFound(*self.found)


def _bug_found(
    abort: Abort, runtime: Runtime, strategy: Strategy, seed: int, moment: str
) -> tuple[Bug, str]:
    """The bug (or the step bound) that ended the block's run, with its trace, and the hint
    that says how to reproduce it."""
    max_steps = runtime.max_steps
    bug = abort.bug or Bug(
        "bound",
        f"max_steps={max_steps} reached {moment}; the system never "
        "became quiescent (a timer that re-arms forever?)",
        "test",
    )
    bug.step = runtime.steps
    steps = build_steps(runtime.trace)
    bug.events = recent_events(steps)
    bug.trace = trace_of(runtime, steps, strategy, "deterministic() block", seed, 1, 0, bug)
    where = "" if abort.bug is None else f"found {moment}; "
    return (
        bug,
        f"{where}reproduce it: deterministic(seed={seed}, strategy={strategy.name!r}) makes "
        "the same decisions again; BugFound.bug.trace lists them",
    )
