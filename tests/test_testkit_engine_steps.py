"""The engine's cheap step: handlers on the scheduler's own stack until one blocks, coverage
counted by the runtime, observer hooks called only when overridden, the schedule key."""

from __future__ import annotations

import uuid
from typing import Any

import pykka
import pykka._actor
from greenlet import getcurrent  # type: ignore[import-untyped]

import testkit
from fsm import FSM, Event, State
from testkit._engine.compact import CompactTrace
from testkit._engine.observer import Observer, hook, installed
from testkit._engine.payloads import Choice


class Where(pykka.ThreadingActor):
    """Answers with the greenlet its handler runs on."""

    def on_receive(self, message: Any) -> Any:
        return getcurrent()


class Echo(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        return message


class Relay(pykka.ThreadingActor):
    """Asks `next` (blocking) and answers with what came back, tagged with its name."""

    def __init__(self, name: str, nxt: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.name = name
        self.next = nxt

    def on_receive(self, message: Any) -> Any:
        return f"{self.name}({self.next.ask(message)})"


def test_a_handler_that_does_not_block_runs_on_the_schedulers_own_stack() -> None:
    seen: list[tuple[Any, Any]] = []

    def test(runtime: testkit.Runtime) -> None:
        where = Where.start()
        first, second = where.ask(1), where.ask(2)
        seen.append((first, second))
        seen.append((getcurrent().parent, None))  # the test function's scheduler

    report = testkit.explore(test, iterations=3, strategy="random", seed=1)
    assert report.bug is None, report
    for (first, second), (scheduler, _) in zip(seen[::2], seen[1::2], strict=True):
        assert first is second is scheduler  # no greenlet of its own, no switch per step


def test_handlers_blocked_at_once_resume_in_any_order_while_the_others_go_on() -> None:
    results: list[list[str]] = []

    def test(runtime: testkit.Runtime) -> None:
        echo = Echo.start()
        inner = Relay.start("inner", echo)
        relays = [Relay.start(f"r{n}", inner) for n in range(4)]
        futures = [relay.ask(n, block=False) for n, relay in enumerate(relays)]
        results.append(list(pykka.get_all(futures)))

    report = testkit.explore(test, iterations=60, strategy="random", seed=3)
    assert report.bug is None, report
    assert len(results) == 60
    assert all(r == [f"r{n}(inner({n}))" for n in range(4)] for r in results)


def test_a_handler_parked_across_two_runs_of_a_deterministic_block_resumes() -> None:
    for seed in range(10):
        with testkit.deterministic(seed=seed) as runtime:
            echo = Echo.start()
            relay = Relay.start("r", echo)
            future = relay.ask("x", block=False)
            assert echo.ask("ping") == "ping"  # may end while the relay still waits
            runtime.run()
            assert future.get() == "r(x)"


def test_an_ask_cycle_after_handlers_moved_the_scheduler_is_still_a_deadlock() -> None:
    class Cycle(pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.other: pykka.ActorRef[Any] | None = None

        def on_receive(self, message: Any) -> Any:
            if isinstance(message, pykka.ActorRef):
                self.other = message
                return None
            assert self.other is not None
            return self.other.ask(message)

    def test(runtime: testkit.Runtime) -> None:
        echo = Echo.start()
        Relay.start("warm-up", echo).ask("w")  # one blocking handler first
        a, b = Cycle.start(), Cycle.start()
        a.ask(b)
        b.ask(a)
        a.tell("go")
        b.tell("go")

    report = testkit.explore(test, iterations=20, strategy="random", seed=1, shrink=False)
    assert report.bug is not None and report.bug.kind == "deadlock", report
    assert "Cycle#1 waits for Cycle#2" in report.bug.message


class Counter(FSM, pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.start_with("low", 0)
        self.when("low", self.low)
        self.when("high", self.high)
        self.initialize()

    def low(self, event: Event) -> State:
        return self.goto("high") if event.message == "up" else self.stay()

    def high(self, event: Event) -> State | None:
        return self.goto("low") if event.message == "down" else None


class Counts(Observer):
    """Takes the runtime's delivery counts, and hears every delivery as well."""

    def __init__(self) -> None:
        self.delivery_counts: dict[tuple[Any, ...], list[Any]] = {}
        self.heard: list[tuple[Any, Any]] = []

    def delivered(self, step: int, receiver: Any, envelope: Any, before: Any, after: Any) -> None:
        self.heard.append((envelope.message, after.state_name))


def test_the_runtime_counts_deliveries_into_the_observers_dict_by_states_and_kind() -> None:
    counts = Counts()

    def test(runtime: testkit.Runtime) -> None:
        counter = Counter.start()
        for message in ("tick", "up", "up", "down"):
            counter.tell(message)

    with installed(counts):
        report = testkit.explore(test, iterations=1, strategy="random", seed=1, coverage=False)
    assert report.bug is None, report
    counted = {
        (cls, source, target, kind, moved): count
        for (cls, *_, kind, moved), (count, source, target) in counts.delivery_counts.items()
    }
    assert counted == {
        (Counter, "low", "low", str, False): 1,  # stay(): no transition
        (Counter, "low", "high", str, True): 1,
        (Counter, "high", "high", str, False): 1,  # unhandled: the default stays
        (Counter, "high", "low", str, True): 1,
    }
    assert counts.heard == [("tick", "low"), ("up", "high"), ("up", "high"), ("down", "low")]


def test_hook_gives_only_the_methods_an_observer_overrides() -> None:
    counts = Counts()
    assert hook(counts, "delivered") == counts.delivered
    assert hook(counts, "sent") is None
    assert hook(None, "delivered") is None


def test_the_schedule_key_tells_apart_where_a_choice_was_made() -> None:
    class Op:
        def __init__(self, name: str) -> None:
            self.id = name

    a, b = Op("a"), Op("b")

    def key(*steps: tuple[Any, Any]) -> Any:
        trace = CompactTrace()
        for op, payload in steps:
            trace.append((op, payload, None))
        return trace.schedule_key()

    choice = Choice(2, 1, False)
    assert key((a, "m"), (b, choice)) == key((a, "x"), (b, Choice(2, 1, False)))
    assert key((a, "m"), (b, choice)) != key((a, choice), (b, "m"))
    assert key((a, "m"), (b, choice)) != key((a, "m"), (b, Choice(2, 0, False)))
    assert key((a, "m"), (b, "m")) != key((b, "m"), (a, "m"))


def test_actors_draw_no_random_urn_under_the_tester_and_pykka_gets_uuid_back() -> None:
    seen: list[str] = []

    class Peek(pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            seen.append(self.actor_urn)

    def test(runtime: testkit.Runtime) -> None:
        ref = Peek.start()
        assert ref.actor_urn == "urn:testkit:Peek#1"  # its URN once started

    report = testkit.explore(test, iterations=2, strategy="random", seed=1)
    assert report.bug is None, report
    assert len(seen) == 2 and all(urn.startswith("urn:testkit:new-") for urn in seen)
    assert pykka._actor.uuid is uuid  # type: ignore[attr-defined]
    ref = Peek.start()
    try:
        assert seen[-1].startswith("urn:uuid:")
    finally:
        ref.stop()


def test_a_bug_report_lists_the_monitors_last_events_written_out_at_the_end() -> None:
    from failover_examples import drinks_robot

    report = testkit.explore(
        drinks_robot.execute, iterations=100, max_steps=2000, seed=3, shrink=False
    )
    assert report.bug is not None and report.bug.kind == "liveness", report
    events = report.bug.events["LivenessMonitor"]
    assert 0 < len(events) <= 8
    assert all(e.startswith("step ") and " in state " in e for e in events), events
    steps = [int(e.split()[1].rstrip(":")) for e in events]
    assert steps == sorted(steps)


def test_coverage_read_mid_run_keeps_counting_what_actors_count_into() -> None:
    from testkit._reporting.coverage import Coverage

    coverage = Coverage()
    seen: list[dict[Any, int]] = []

    def test(runtime: testkit.Runtime) -> None:
        counter = Counter.start()
        counter.tell("tick")
        counter.tell("tick")
        runtime.run()
        seen.append(dict(coverage["Counter"].events))  # folds the counts so far
        counter.tell("tick")  # the same count again, into what the actor remembers
        counter.tell("up")

    with installed(coverage):
        testkit.explore(test, iterations=1, strategy="random", seed=1, coverage=False)
    assert seen == [{("'low'", "str"): 2}]
    assert dict(coverage["Counter"].events) == {("'low'", "str"): 4}
