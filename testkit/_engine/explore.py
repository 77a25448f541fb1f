"""`explore`, `replay` and `deterministic`: running a test under the deterministic runtime."""

from __future__ import annotations

import contextlib
import inspect
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fsm import _dispatch
from testkit._distribution.parallel import Settings, explore_parallel, splittable
from testkit._engine.bug import Abort, Bug, state_text
from testkit._engine.observer import installed
from testkit._engine.operations import TimerQueue
from testkit._engine.payloads import Choice, Wait, describe_message
from testkit._engine.runtime import Runtime
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.trace import Step, Trace
from testkit._engine.watchdog import DEFAULT_WATCHDOG, Hung, check_watchdog
from testkit._errors import Interrupted, QuiescentWait, TestkitError
from testkit._reporting.progress import Progress, ProgressCallback, progress_callback
from testkit._reporting.report import BugFound, Report, test_name
from testkit._strategies import DFSStrategy, Strategy, make_strategy

TestFunction = Callable[[Runtime], Any]

DEFAULT_TIMER_DELAY = 20
"""A timer becomes ready to fire 0..19 steps after it is set (see `TimerQueue`)."""


def check_test(test: Any, where: str = "explore") -> None:
    """A test is a plain function of one argument, the runtime; anything else is misuse."""
    if not callable(test):
        raise TestkitError(
            f"{where}(test, ...): test must be a function taking the runtime, got {test!r}"
        )
    name = getattr(test, "__qualname__", None) or repr(test)
    if inspect.iscoroutinefunction(test) or inspect.isasyncgenfunction(test):
        raise TestkitError(
            f"{name} is an async function; the tester runs plain functions (def, not "
            "async def): its actors need no event loop, and waiting is ask() or a TestProbe"
        )
    if inspect.isgeneratorfunction(test):
        raise TestkitError(
            f"{name} is a generator function (it contains yield), so calling it would run "
            "nothing; write the test as a plain function of the runtime"
        )
    try:
        signature = inspect.signature(test)
    except (TypeError, ValueError):  # a builtin or C callable: nothing to check
        return
    try:
        signature.bind(object())
    except TypeError:
        raise TestkitError(
            f"{name}{signature} cannot be called with the runtime as its one argument; a "
            f"test function looks like: def {getattr(test, '__name__', 'test')}(runtime): ..."
        ) from None


def check_arguments(
    test: Any,
    iterations: int,
    max_steps: int,
    seed: int | None,
    threshold: int | None,
    timer_delay: int,
    progress: Any = None,
    workers: int = 1,
) -> None:
    check_test(test)
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise TestkitError(
            "explore(..., progress=...) must be True (a progress bar on stderr), False "
            f"(none), None (a line every 10 s on long runs) or a callable, got {progress!r}"
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
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise TestkitError(
            f"explore(..., workers=...) must be a number of processes >= 1, got {workers!r}"
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
    progress: ProgressCallback | bool | None = None,
    name: str | None = None,
    time_budget: float | None = None,
    watchdog: float | None = DEFAULT_WATCHDOG,
    workers: int = 1,
    dask: Any = None,
    coverage: bool = True,
    shrink: bool = True,
    shrink_budget: float = 30.0,
) -> Report:
    """Run `test(runtime)` for up to `iterations` schedules chosen by `strategy`.

    Returns a `Report`; `report.bug` is the first bug found (with its `Trace`) or None.
    `liveness_threshold` (default `max_steps // 2`): under a fair strategy, a monitor hot for
    at least that many steps when `max_steps` is reached is a liveness bug.
    `timer_delay`: a timer becomes ready to fire up to this many steps after it is set.
    `time_budget`: stop starting new iterations after this many seconds (the report says
    how many ran); set it in CI to bound a run whatever the machine's speed.
    `progress`: True for a progress bar on stderr, False for none, a callable to receive
    `Progress`; the default prints a line every 10 s once a run has lasted that long.
    `watchdog`: seconds a handler or the test function may run without the schedule moving
    before it is stopped and reported as a `TestkitError` (None: never). Raise it only for
    handlers that legitimately compute that long.
    With `stop_at_first_bug=False`, `report.bugs` holds one bug per distinct signature (kind,
    actor class, message), each with its trace and `count` of iterations.
    `workers`: run the iterations in that many processes (the test must be importable:
    a module-level function). Iteration i runs as in one process, so with a stateless
    strategy (`random`, `probabilistic`) the report is the same whatever `workers` is; a
    learning strategy (`pct`, `prioritization`, the fair ones, `portfolio`'s members)
    learns per worker, so its report is the same for the same `workers`; `dfs` always runs
    in one process (its search tree is one sequence).
    `dask`: a `dask.distributed.Client` or a scheduler address (`tcp://host:8786`): run the
    iterations on that cluster instead, in batches of 16 (extra `pykka-fsm[dask]`); the report
    is the same whatever the cluster's size.
    `shrink`: shrink each kept bug's trace (`bug.trace` the shrunk one, `bug.original_trace`
    the one found), spending at most `shrink_budget` seconds on top of the exploration,
    shared among the bugs (see `testkit.shrink`).
    Ctrl-C raises `testkit.Interrupted`, whose `.report` covers the iterations that ran.
    `coverage`: count states, transitions and events into `report.coverage` (False: skip).

        report = testkit.explore(execute, iterations=1000, max_steps=2000, seed=1)
        assert report.bug is None, report
    """
    check_arguments(
        test, iterations, max_steps, seed, liveness_threshold, timer_delay, progress, workers
    )
    limit = check_watchdog(watchdog, "explore")
    if time_budget is not None and (
        isinstance(time_budget, bool)
        or not isinstance(time_budget, (int, float))
        or not time_budget > 0
    ):
        raise TestkitError(
            f"explore(..., time_budget=...) must be a number of seconds > 0 or None, "
            f"got {time_budget!r}"
        )
    if not isinstance(shrink, bool):
        raise TestkitError(f"explore(..., shrink=...) must be True or False, got {shrink!r}")
    if shrink:
        from testkit._shrinking.driver import check_budget  # it imports this module

        check_budget(shrink_budget, "explore(..., shrink_budget=...)")
    # what the other processes (local workers or a dask cluster) need to run iterations
    settings = Settings(
        test=test,
        iterations=iterations,
        max_steps=max_steps,
        strategy=strategy,
        seed=seed,
        stop_at_first_bug=stop_at_first_bug,
        liveness_threshold=liveness_threshold,
        timer_delay=timer_delay,
        name=name,
        watchdog=limit,
        coverage=coverage,
    )
    if dask is not None:
        if workers != 1:
            raise TestkitError(
                "explore(..., dask=..., workers=...): choose one; with dask the cluster's "
                "workers run the iterations"
            )
        from testkit._distribution.cluster import explore_on_cluster

        report = explore_on_cluster(settings, dask=dask, progress=progress, time_budget=time_budget)
        return _shrunk(report, test, shrink_budget if shrink else 0.0, limit)
    if workers > 1 and splittable(strategy):
        report = explore_parallel(
            settings, workers=workers, progress=progress, time_budget=time_budget
        )
        return _shrunk(report, test, shrink_budget if shrink else 0.0, limit)
    chosen = make_strategy(strategy)
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    threshold = max_steps // 2 if liveness_threshold is None else liveness_threshold
    report = Report(name or test_name(test), chosen.name, seed, max_steps)
    notify = progress_callback(progress)
    schedules: set[int] = set()
    notes: set[str] = set()
    started = wall_clock()
    observing = installed(report.coverage) if coverage else contextlib.nullcontext()
    try:
        with Sandbox(limit) as sandbox, observing:
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
                notes |= runtime.notes
                schedules.add(hash(runtime.trace.schedule_key()))
                if bug is not None:
                    report.buggy_iterations += 1
                    if report.add_bug(bug):  # a new kind of bug: keep it with its trace
                        finish_bug(bug, runtime, chosen, report, seed, iteration, threshold)
                notify(
                    Progress(iteration + 1, iterations, len(report.bugs), wall_clock() - started)
                )
                if bug is not None and stop_at_first_bug:
                    break
    except KeyboardInterrupt:
        report.interrupted = True
        finish_report(report, schedules, notes, chosen, started)
        raise Interrupted(report) from None
    finally:
        close = getattr(notify, "close", None)
        if close is not None:
            close()
    finish_report(report, schedules, notes, chosen, started)
    return _shrunk(report, test, shrink_budget if shrink else 0.0, limit)


def _shrunk(report: Report, test: TestFunction, budget: float, watchdog: float | None) -> Report:
    """`report` with its bugs shrunk within `budget` seconds (0: left as found)."""
    if budget <= 0 or not report.bugs:
        return report
    from testkit._shrinking.api import shrink_report  # it imports this module

    try:
        shrink_report(test, report, budget, watchdog)
    except KeyboardInterrupt:
        report.interrupted = True
        raise Interrupted(report) from None
    return report


def finish_report(
    report: Report,
    schedules: set[int],
    notes: set[str],
    strategy: Strategy,
    started: float,
) -> None:
    report.schedules = len(schedules)
    report.elapsed = wall_clock() - started
    if report.iterations and report.bound_reached == report.iterations and report.bug is None:
        why = (
            "dfs cannot exhaust a system that never becomes quiescent; "
            if isinstance(strategy, DFSStrategy)
            else ""
        )
        report.warnings.append(
            f"every iteration was cut off (at max_steps={report.max_steps}, or where virtual "
            "time ends) before the system became quiescent, so no run was tested to its "
            "end: a timer that re-arms forever or a message loop keeps it busy, or max_steps "
            f"is too low; {why}raise max_steps, or stop the periodic work when the test is done"
        )
    report.warnings.extend(sorted(notes))


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
    watchdog = sandbox.watchdog
    watchdog.runtime = runtime
    bug: Bug | None = None
    outcome: BaseException | None
    with _dispatch.installed(runtime):
        try:
            outcome = runtime.run_test(test)
        except Abort as abort:
            outcome = abort
        except (Hung, KeyboardInterrupt) as exc:
            if watchdog.message is None:
                raise  # a real Ctrl-C
            outcome = exc
        finally:
            runtime.dispose()
            watchdog.runtime = None
    if watchdog.message is not None:
        raise TestkitError(watchdog.message)
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
        if runtime.observer is not None:
            runtime.observer.failed(bug.step, bug)
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
    bug.original_trace = bug.trace
    bug.events = _recent_events(steps)
    for slot_cls, slot in runtime.monitor_slots.items():
        if slot.recent:
            bug.events[slot_cls.__name__] = slot.recent_text()
    for mailbox in runtime.mailboxes:
        get_log = getattr(mailbox.actor, "get_log", None)
        if get_log is not None:
            entries = get_log()
            if entries:
                bug.logs[mailbox.id] = [repr(entry) for entry in entries]


def build_steps(trace: Iterable[tuple[Any, Any, Any]]) -> list[Step]:
    """Turn the runtime's raw trace into readable steps."""
    steps = []
    for index, (op, payload, state) in enumerate(trace):
        if payload.__class__ is Choice:
            steps.append(Step(index, "random", op.id, payload.describe()))
            continue
        if payload.__class__ is Wait:
            steps.append(Step(index, payload.kind, op.id, payload.target, payload.what))
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
                if abort.error is not None:
                    raise abort.error from None
                bug = abort.bug or Bug(
                    "bound",
                    f"max_steps={max_steps} reached while the test waited; the system never "
                    "became quiescent (a timer that re-arms forever?)",
                    "test",
                )
                bug.step = runtime.steps
                steps = build_steps(runtime.trace)
                bug.events = _recent_events(steps)
                bug.trace = Trace(
                    steps,
                    test="deterministic() block",
                    strategy=chosen.active_name,
                    seed=seed,
                    iteration=1,
                    max_steps=max_steps,
                    fair=chosen.fair,
                    timer_delay=delay,
                    bug=bug.headline(),
                )
                raise BugFound(
                    bug,
                    f"reproduce it: deterministic(seed={seed}, strategy={chosen.name!r}) makes "
                    "the same decisions again; BugFound.bug.trace lists them",
                ) from None
            finally:
                sandbox.watchdog.runtime = None
                runtime.dispose()


__all__ = ["deterministic", "explore", "finish_bug", "run_once"]
