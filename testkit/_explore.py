"""`explore`, `replay` and `deterministic`: running a test under the deterministic runtime."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fsm import _dispatch
from testkit._bug import Abort, Bug, state_text
from testkit._errors import QuiescentWait, TestkitError
from testkit._operations import TimerQueue
from testkit._payloads import Choice, describe_message
from testkit._report import BugFound, Progress, Report, test_name
from testkit._runtime import Runtime
from testkit._sandbox import Sandbox, wall_clock
from testkit._strategies import Strategy, make_strategy
from testkit._trace import Step, Trace

TestFunction = Callable[[Runtime], Any]
ProgressCallback = Callable[[Progress], None]

DEFAULT_TIMER_DELAY = 20
"""A timer becomes ready to fire 0..19 steps after it is set (see `TimerQueue`)."""


def _check_arguments(
    test: Any,
    iterations: int,
    max_steps: int,
    seed: int | None,
    threshold: int | None,
    timer_delay: int,
) -> None:
    if not callable(test):
        raise TestkitError(
            f"explore(test, ...): test must be a function taking the runtime, got {test!r}"
        )
    for name, value in (("iterations", iterations), ("max_steps", max_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TestkitError(f"explore(..., {name}=...) must be an integer >= 1, got {value!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TestkitError(f"explore(..., seed=...) must be an integer or None, got {seed!r}")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0
    ):
        raise TestkitError(
            "explore(..., liveness_threshold=...) must be an integer >= 0 or None, "
            f"got {threshold!r}"
        )
    if isinstance(timer_delay, bool) or not isinstance(timer_delay, int) or timer_delay < 0:
        raise TestkitError(
            f"explore(..., timer_delay=...) must be an integer >= 0, got {timer_delay!r}"
        )


def explore(
    test: TestFunction,
    iterations: int = 100,
    max_steps: int = 10_000,
    strategy: str | Strategy = "portfolio",
    seed: int | None = None,
    *,
    stop_at_first_bug: bool = True,
    liveness_threshold: int | None = None,
    timer_delay: int = DEFAULT_TIMER_DELAY,
    progress: ProgressCallback | None = None,
    name: str | None = None,
    time_budget: float | None = None,
) -> Report:
    """Run `test(runtime)` for up to `iterations` schedules chosen by `strategy`.

    Returns a `Report`; `report.bug` is the first bug found (with its `Trace`) or None.
    `liveness_threshold` (default `max_steps // 2`): under a fair strategy, a monitor hot for
    at least that many steps when `max_steps` is reached is a liveness bug.
    `timer_delay`: a timer becomes ready to fire up to this many steps after it is set.
    `time_budget`: stop starting new iterations after this many seconds (the report says
    how many ran); set it in CI to bound a run whatever the machine's speed.
    """
    _check_arguments(test, iterations, max_steps, seed, liveness_threshold, timer_delay)
    if time_budget is not None and (
        isinstance(time_budget, bool)
        or not isinstance(time_budget, (int, float))
        or not time_budget > 0
    ):
        raise TestkitError(
            f"explore(..., time_budget=...) must be a number of seconds > 0 or None, "
            f"got {time_budget!r}"
        )
    chosen = make_strategy(strategy)
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    threshold = max_steps // 2 if liveness_threshold is None else liveness_threshold
    report = Report(name or test_name(test), chosen.name, seed, max_steps)
    schedules: set[int] = set()
    with Sandbox() as sandbox:
        started = wall_clock()  # the run, not freezegun's one-off start
        for iteration in range(iterations):
            if time_budget is not None and wall_clock() - started >= time_budget:
                report.timed_out = True
                break
            rng = random.Random(iteration_seed(seed, iteration))
            if not chosen.begin(iteration, rng, max_steps):
                report.exhausted = True
                break
            delay = timer_delay if chosen.delays_timers else 0
            runtime, bug = run_once(
                test, chosen, max_steps, threshold, sandbox, delay, delay_rng(seed, iteration)
            )
            chosen.end(runtime.steps)
            report.iterations += 1
            report.steps += runtime.steps
            report.bound_reached += runtime.bound_reached
            schedules.add(hash(tuple(_schedule_key(runtime.trace))))
            if bug is not None:
                report.buggy_iterations += 1
                finish_bug(bug, runtime, chosen, report, seed, iteration, threshold)
                report.bugs.append(bug)
            if progress is not None:
                progress(
                    Progress(iteration + 1, iterations, len(report.bugs), wall_clock() - started)
                )
            if bug is not None and stop_at_first_bug:
                break
    report.schedules = len(schedules)
    report.elapsed = wall_clock() - started
    return report


def _schedule_key(trace: list[tuple[Any, Any, Any]]) -> Iterator[Any]:
    for op, payload, _ in trace:
        yield op.id
        if payload.__class__ is Choice:
            yield payload.value


def iteration_seed(seed: int, iteration: int) -> int:
    """The seed of one iteration's strategy choices."""
    return seed * 1_000_003 + iteration


def delay_rng(seed: int, iteration: int) -> random.Random:
    """The generator of one iteration's timer delays, apart from the strategy's choices so
    that a replay, which makes no choices of its own, draws the very same delays."""
    return random.Random(iteration_seed(seed, iteration) ^ 0x5DEECE66D)


def run_once(
    test: TestFunction,
    strategy: Strategy,
    max_steps: int,
    threshold: int,
    sandbox: Sandbox,
    timer_delay: int,
    delays: random.Random,
    replaying: bool = False,
) -> tuple[Runtime, Bug | None]:
    runtime = Runtime(
        strategy, max_steps, sandbox.set_clock, replaying, timer_delay, delays, sandbox.worker
    )
    sandbox.set_clock(0.0)
    bug: Bug | None = None
    with _dispatch.installed(runtime):
        try:
            outcome = runtime.run_test(test)
        except Abort as abort:
            outcome = abort
        finally:
            runtime.dispose()
    if isinstance(outcome, Abort):
        if outcome.error is not None:
            raise outcome.error from None
        bug = outcome.bug
    elif isinstance(outcome, QuiescentWait):
        bug = Bug("deadlock", str(outcome), "test")
    elif isinstance(outcome, AssertionError):
        bug = Bug("safety", _text(outcome), "test")
    elif isinstance(outcome, Exception):
        bug = Bug("exception", _text(outcome), "test")
    elif outcome is not None:  # KeyboardInterrupt, SystemExit: not ours to swallow
        raise outcome
    if bug is None:
        bug = _check_liveness(runtime, strategy, threshold)
    if bug is not None:
        bug.step = max(runtime.steps - 1, 0)
    return runtime, bug


def _text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _check_liveness(runtime: Runtime, strategy: Strategy, threshold: int) -> Bug | None:
    for cls, slot in runtime.monitor_slots.items():
        monitor = slot.monitor
        if not monitor.is_hot:
            continue
        state = monitor.state_name
        if not runtime.bound_reached:
            return Bug(
                "liveness",
                f"{cls.__name__} detected a liveness bug in hot state {state!r} at the end of "
                "the run (the system is quiescent: nothing left to run)",
                cls.__name__,
                state,
            )
        hot_for = runtime.steps - (slot.hot_since if slot.hot_since is not None else 0)
        if strategy.fair and hot_for >= threshold:
            return Bug(
                "liveness",
                f"{cls.__name__} detected a potential liveness bug in hot state {state!r}: hot "
                f"for {hot_for} steps when the run reached max_steps={runtime.max_steps} "
                "under a fair strategy",
                cls.__name__,
                state,
            )
    return None


def finish_bug(
    bug: Bug,
    runtime: Runtime,
    strategy: Strategy,
    report: Report,
    seed: int,
    iteration: int,
    threshold: int,
) -> None:
    steps = build_steps(runtime.trace)
    active = strategy.active_name
    bug.trace = Trace(
        steps,
        test=report.test,
        strategy=active,
        seed=seed,
        iteration=iteration + 1,
        max_steps=runtime.max_steps,
        fair=strategy.fair,
        liveness_threshold=threshold,
        timer_delay=runtime.timer_delay,
        bug=bug.headline(),
    )
    bug.events = _recent_events(steps)
    for slot_cls, slot in runtime.monitor_slots.items():
        if slot.recent:
            bug.events[slot_cls.__name__] = list(slot.recent)
    for mailbox in runtime.mailboxes:
        get_log = getattr(mailbox.actor, "get_log", None)
        if get_log is not None:
            entries = get_log()
            if entries:
                bug.logs[mailbox.id] = [repr(entry) for entry in entries]


def build_steps(trace: Sequence[tuple[Any, Any, Any]]) -> list[Step]:
    """Turn the runtime's raw trace into readable steps."""
    steps = []
    for index, (op, payload, state) in enumerate(trace):
        if payload.__class__ is Choice:
            steps.append(Step(index, "random", op.id, payload.describe()))
            continue
        kind, what, detail = describe_message(payload)
        actor = op.id
        if op.__class__ is TimerQueue:
            kind, actor = "timer", op.mailbox.id
        elif state is not None and kind == "deliver":
            name = state_text(state.state_name)
            detail = f"{detail} @{name}" if detail else f"@{name}"
        steps.append(Step(index, kind, actor, what, detail))
    return steps


def _recent_events(steps: list[Step], per_actor: int = 6) -> dict[str, list[str]]:
    recent: dict[str, list[str]] = {}
    for step in reversed(steps):
        events = recent.setdefault(step.actor, [])
        if len(events) < per_actor:
            events.append(str(step))
    return {actor: list(reversed(events)) for actor, events in recent.items()}


@contextlib.contextmanager
def deterministic(
    seed: int = 0,
    strategy: str | Strategy = "random",
    max_steps: int = 100_000,
    timer_delay: int = DEFAULT_TIMER_DELAY,
) -> Iterator[Runtime]:
    """Run the block under the deterministic runtime (one schedule), e.g. in a pytest test.

    Actors started inside run under the scheduler; `ask()` and `TestProbe` expectations run it.
    A bug in an actor raises `BugFound` (an AssertionError) at the point the test waited.
    """
    chosen = make_strategy(strategy)
    chosen.begin(0, random.Random(iteration_seed(seed, 0)), max_steps)
    delay = timer_delay if chosen.delays_timers else 0
    with Sandbox() as sandbox:
        runtime = Runtime(chosen, max_steps, sandbox.set_clock, False, delay, delay_rng(seed, 0))
        sandbox.set_clock(0.0)
        with _dispatch.installed(runtime):
            try:
                yield runtime
            except Abort as abort:
                if abort.error is not None:
                    raise abort.error from None
                if abort.bug is not None:
                    abort.bug.step = runtime.steps
                    abort.bug.events = _recent_events(build_steps(runtime.trace))
                    raise BugFound(abort.bug) from None
                bound = Bug(
                    "bound",
                    f"max_steps={max_steps} reached while the test waited; the system never "
                    "became quiescent (a timer that re-arms forever?)",
                    "test",
                )
                bound.step = runtime.steps
                raise BugFound(bound) from None
            finally:
                runtime.dispose()


__all__ = ["deterministic", "explore", "finish_bug", "run_once"]
