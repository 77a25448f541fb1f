"""One iteration: run the test function under a fresh runtime, and say what bug it found.

`run_once` is the engine's one entry point for running the program, whatever drives it
(`explore`'s loop, a worker process, `replay`, the shrinker); `finish_bug` turns the runtime's
raw record into the bug's `Trace`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from fsm import _dispatch
from fsm._dead_letters import DeadLetter
from testkit._engine import interrupts
from testkit._engine.bug import Abort, Bug, state_text
from testkit._engine.entropy import SeededRandom, hash_seed
from testkit._engine.faults import FaultPayload, Faults
from testkit._engine.journal import JournalPayload
from testkit._engine.operations import TimerQueue
from testkit._engine.payloads import Choice, Wait, describe_message
from testkit._engine.replaying import faults_of, likely_cause
from testkit._engine.runtime import Runtime, users_failure
from testkit._engine.sandbox import Sandbox
from testkit._engine.sometimes import SometimesBook
from testkit._engine.test_function import TestFunction
from testkit._engine.trace import Step, Trace
from testkit._engine.watchdog import Hung
from testkit._errors import QuiescentWait, ReplayDivergence, TestkitError
from testkit._strategies import Strategy

DEFAULT_TIMER_DELAY = 20
"""A timer becomes ready to fire 0..19 steps after it is set (see `TimerQueue`)."""


def iteration_seed(seed: int, iteration: int) -> int:
    """The seed of one iteration's strategy choices."""
    return seed * 1_000_003 + iteration


def delay_rng(seed: int, iteration: int) -> random.Random:
    """The generator of one iteration's timer delays, apart from the strategy's choices so
    that a replay, which makes no choices of its own, draws the very same delays. It carries
    the iteration's seed, from which the program's own random draws come (`Entropy`)."""
    origin = iteration_seed(seed, iteration)
    return SeededRandom(origin ^ 0x5DEECE66D, origin)


def run_like(
    test: TestFunction,
    strategy: Strategy,
    trace: Trace,
    sandbox: Sandbox,
    max_steps: int | None = None,
    timer_delay: int | None = None,
) -> tuple[Runtime, Bug | None]:
    """`run_once` as a replay of `trace`'s iteration, `strategy` deciding: its liveness
    threshold, its timer delays and declared faults, its `max_steps` and `timer_delay` unless
    given (the shrinker tries shorter bounds and no delays). Every replay, strict or lenient,
    runs through here, so none leaves out a setting the trace carries."""
    return run_once(
        test,
        strategy,
        trace.max_steps if max_steps is None else max_steps,
        trace.liveness_threshold,
        sandbox,
        trace.timer_delay if timer_delay is None else timer_delay,
        delay_rng(trace.seed, trace.iteration - 1),
        replaying=True,
        faults=faults_of(trace),
    )


def run_once(
    test: TestFunction,
    strategy: Strategy,
    max_steps: int,
    threshold: int,
    sandbox: Sandbox,
    timer_delay: int,
    delays: random.Random,
    replaying: bool = False,
    faults: Faults | None = None,
    sometimes: SometimesBook | None = None,
) -> tuple[Runtime, Bug | None]:
    """Run `test` once on the schedule `strategy` decides; the runtime (its trace, counts)
    and the bug found, if any. `faults`: the declared faults to inject; `sometimes`: the
    exploration's record of where each `sometimes` name is used (a fresh one if None).
    Raises `TestkitError` for misuse or a hang, and `KeyboardInterrupt` when a signal asked
    the run to stop (see `interrupts`), whatever the test function did."""
    interrupts.check()
    runtime = Runtime(
        strategy,
        max_steps,
        sandbox.set_clock,
        replaying,
        timer_delay,
        delays,
        sandbox.worker,
        faults,
        sometimes,
    )
    sandbox.new_iteration()
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
    if runtime.faults is not None:
        strategy.faults_ended(runtime.steps)
    if runtime.misuse is not None:  # raised where it happened, perhaps caught there
        raise runtime.misuse
    if watchdog.message is not None:
        raise TestkitError(watchdog.message)
    interrupts.check()
    if isinstance(outcome, Abort):
        if outcome.error is not None:
            raise outcome.error from None
        bug = outcome.bug
    elif isinstance(outcome, QuiescentWait):
        bug = Bug("deadlock", str(outcome), "test")
    elif outcome is not None:
        if not users_failure(outcome):  # the tester's own unwinding, escaped
            raise outcome
        # SystemExit, KeyboardInterrupt raised by the test function itself: a bug too
        kind = "safety" if isinstance(outcome, AssertionError) else "exception"
        bug = Bug(kind, _text(outcome), "test").raised(outcome)
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
    test: str,
    seed: int,
    iteration: int,
    threshold: int,
) -> None:
    """Give a freshly found `bug` its trace (as recorded for `test`, the name in the trace's
    header), the last events of each actor and the logs of its LoggingFSMs."""
    steps = build_steps(runtime.trace)
    bug.trace = trace_of(runtime, steps, strategy, test, seed, iteration + 1, threshold, bug)
    bug.original_trace = bug.trace
    bug.events = recent_events(steps)
    for slot_cls, slot in runtime.monitor_slots.items():
        if slot.recent:
            bug.events[slot_cls.__name__] = slot.recent_text()
    for mailbox in runtime.mailboxes:
        get_log = getattr(mailbox.actor, "get_log", None)
        if get_log is not None:
            entries = get_log()
            if entries:
                bug.logs[mailbox.id] = [repr(entry) for entry in entries]


def finish_replayed(
    bug: Bug, runtime: Runtime, trace: Trace, *, test: str | None = None, check: bool = True
) -> Bug:
    """`finish_bug` for a bug met on the schedule of `trace` (a replay, a shrinker's candidate):
    the new trace keeps the recorded strategy, seed, iteration and threshold, and names `test`
    (by default the recorded name). With `check`, a replay that met the bug before the end of
    the recorded steps, or drew other random values, raises `ReplayDivergence` instead."""
    if check:
        if runtime.steps < len(trace.steps):
            raise ReplayDivergence(
                runtime.steps,
                f"{len(trace.steps)} steps before the bug",
                f"the bug: {bug.headline()}",
            )
        drawn = runtime.entropy.summary()
        if trace.entropy and drawn != trace.entropy:
            raise ReplayDivergence(
                runtime.steps,
                f"'# entropy: {trace.entropy}' (draws, digest of which steps drew)",
                f"'{drawn or '0 draws'}'",
                "Every step went as recorded, but the program drew other random values (random, "
                "uuid4, os.urandom, secrets) from other steps or another number of times. "
                + likely_cause(trace.hash_seed),
            )
    recorded = Strategy()
    recorded.name = trace.strategy
    recorded.fair = trace.fair
    finish_bug(
        bug,
        runtime,
        recorded,
        trace.test if test is None else test,
        trace.seed,
        trace.iteration - 1,
        trace.liveness_threshold,
    )
    return bug


def trace_of(
    runtime: Runtime,
    steps: list[Step],
    strategy: Strategy,
    test: str,
    seed: int,
    iteration: int,
    threshold: int,
    bug: Bug,
) -> Trace:
    """The `Trace` of `runtime`'s iteration (number `iteration`, from 1) that found `bug`."""
    return Trace(
        steps,
        test=test,
        strategy=strategy.active_name,
        seed=seed,
        iteration=iteration,
        max_steps=runtime.max_steps,
        fair=strategy.fair,
        liveness_threshold=threshold,
        timer_delay=runtime.timer_delay,
        bug=bug.headline(),
        hash_seed=hash_seed(),
        entropy=runtime.entropy.summary(),
        dead_letters=[(step, dead_letter_text(letter)) for step, letter in runtime.dead_letters],
        faults=str(runtime.faults.spec) if runtime.faults is not None else "",
    )


def dead_letter_text(letter: DeadLetter) -> str:
    """`Msg(...) from Sender#1 to Receiver#1`: a dead letter as the trace shows it."""
    _, what, detail = describe_message(letter.message)
    message = f"{what} {detail}" if detail else what
    return f"{message} from {actor_name(letter.sender)} to {actor_name(letter.recipient)}"


def actor_name(ref: Any) -> str:
    """`Robot#1`: the name the trace gives an actor's ref (or a probe's; None: the test)."""
    if ref is None:
        return "test"
    urn = str(getattr(ref, "actor_urn", "") or "")
    if urn.startswith("urn:testkit:"):
        return urn[len("urn:testkit:") :]
    return repr(ref)


def build_steps(trace: Iterable[tuple[Any, Any, Any]]) -> list[Step]:
    """Turn the runtime's raw trace into readable steps."""
    steps = []
    for index, (op, payload, state) in enumerate(trace):
        if payload.__class__ is Choice:
            steps.append(Step(index, "random", op.id, payload.describe()))
            continue
        if payload.__class__ is FaultPayload:
            steps.append(Step(index, "fault", payload.kind, payload.target, payload.detail))
            continue
        if payload.__class__ is Wait:
            steps.append(Step(index, payload.kind, op.id, payload.target, payload.what))
            continue
        if payload.__class__ is JournalPayload:
            steps.append(Step(index, "journal", op.mailbox.id, payload.what, payload.detail))
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


def recent_events(steps: list[Step], per_actor: int = 6) -> dict[str, list[str]]:
    recent: dict[str, list[str]] = {}
    for step in reversed(steps):
        actor = step.actor
        if step.kind == "fault":  # `fault drop A#1->B#1 ...` is an event of B#1
            actor = step.what.rpartition("->")[2] if "#" in step.what else "faults"
        events = recent.setdefault(actor, [])
        if len(events) < per_actor:
            events.append(str(step))
    return {actor: list(reversed(events)) for actor, events in recent.items()}
