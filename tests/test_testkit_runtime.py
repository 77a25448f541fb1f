"""The deterministic runtime: control of actors, time and choices; misuse is a clear error."""

from __future__ import annotations

import datetime
import logging
import threading
import time
from typing import Any

import pykka
import pytest

import fsm
import testkit
from fsm import FSM, Event, FSMError, LoggingFSM, Monitor, Shutdown, State, StopEvent
from testkit import TestProbe, deterministic, explore, replay

from . import buggy_systems as systems


class Echo(FSM, pykka.ThreadingActor):
    """Replies to `ask` with what it got, and tells it to `target` if given."""

    def __init__(self, target: pykka.ActorRef[Any] | None = None) -> None:
        super().__init__()
        self.target = target
        self.start_with("on", None)
        self.when("on", self.on)
        self.on_termination(self.terminated)
        self.initialize()

    def on(self, event: Event) -> State:
        if self.target is not None:
            self.target.tell(event.message)
        return self.stay().replying(event.message)

    def terminated(self, stop: StopEvent) -> None:
        if self.target is not None:
            self.target.tell(stop)


def test_no_thread_is_started_per_actor() -> None:
    before = set(threading.enumerate())
    seen = []

    def many_actors(runtime: testkit.Runtime) -> None:
        refs = [Echo.start() for _ in range(50)]
        assert refs[10].ask("hello") == "hello"
        seen.append({thread.name for thread in set(threading.enumerate()) - before})

    report = explore(many_actors, iterations=5, seed=1)
    assert report.bug is None
    # the tester's watchdog only: the test function is a greenlet on the scheduler's thread,
    # and actor threads would be named after their class
    assert len(seen) == 5 and all(len(names) <= 1 for names in seen), seen
    assert not any(name.startswith("Echo") for names in seen for name in names)


def test_ask_from_the_test_runs_the_scheduler_and_stop_runs_on_termination() -> None:
    with deterministic(seed=1) as runtime:
        probe = TestProbe()
        echo = Echo.start(probe.ref)
        assert echo.ask("ping") == "ping"
        probe.expect_msg("ping")
        assert echo.stop() is True
        probe.expect_msg(StopEvent(Shutdown, "on", None))
        assert runtime.steps >= 3


def test_an_hour_long_state_timeout_takes_no_real_time() -> None:
    real_start = time.perf_counter()
    with deterministic(seed=1) as runtime:
        probe = TestProbe()
        virtual_start, wall_start = time.time(), datetime.datetime.now()
        systems.Timeouts.start(probe.ref)
        probe.expect_msg("an hour passed")
        assert time.time() - virtual_start == pytest.approx(3600)
        assert (datetime.datetime.now() - wall_start).total_seconds() == pytest.approx(3600)
        assert runtime.now == pytest.approx(3600)
    assert time.perf_counter() - real_start < 2  # virtual: no waiting at all


def test_monotonic_clock_follows_virtual_time_inside_handlers() -> None:
    seen: list[float] = []

    class Clocked(FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("a", None)
            self.when("a", self.a)
            self.initialize()
            self.set_timer("t", "tick", 90.0)

        def a(self, event: Event) -> State:
            seen.append(time.monotonic())
            return self.stay()

    def test(runtime: testkit.Runtime) -> None:
        seen.append(time.monotonic())
        Clocked.start()

    assert explore(test, iterations=1, seed=1).bug is None
    assert seen[1] - seen[0] == pytest.approx(90.0)


def test_time_sleep_in_a_handler_is_virtual_time_and_lets_the_others_run() -> None:
    # issue 25 point 2: a handler that sleeps is parked for its virtual seconds (it used to be
    # a TestkitError); the others run meanwhile, and the clock moves on by the sleep
    class Sleeper(FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("a", None)
            self.when("a", self.a)
            self.initialize()

        def a(self, event: Event) -> State:
            before = time.monotonic()
            time.sleep(1)
            return self.stay().replying(time.monotonic() - before)

    class Echo(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> Any:
            return message

    slept: list[tuple[float, list[str]]] = []

    def test(runtime: testkit.Runtime) -> None:
        order: list[str] = []
        napping = Sleeper.start().ask("nap", block=False)
        napping.add_done_callback(lambda _: order.append("woke"))
        echo = Echo.start().ask("hi", block=False)
        echo.add_done_callback(lambda _: order.append("echo"))
        slept.append((napping.get(), order))

    assert explore(test, iterations=5, seed=1).bug is None
    assert {seconds for seconds, _ in slept} == {1.0}
    assert all(order == ["echo", "woke"] for _, order in slept)
    time.sleep(0)  # restored afterwards


def test_an_exception_in_a_handler_is_an_exception_bug_naming_actor_and_state() -> None:
    class Broken(FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("fragile", {})
            self.when("fragile", self.fragile)
            self.initialize()

        def fragile(self, event: Event) -> State:
            return self.stay().using(event.data["missing"])

    def test(runtime: testkit.Runtime) -> None:
        Broken.start().tell("touch")

    bug = explore(test, iterations=1, seed=1).bug
    assert bug is not None
    assert (bug.kind, bug.actor, bug.state) == ("exception", "Broken#1", "fragile")
    assert "KeyError" in bug.message
    assert "Broken#1" in testkit.Report("t", "s", 1, 1, bugs=[bug]).summary()


def test_bug_report_shows_recent_events_and_logging_fsm_log() -> None:
    class Counter(LoggingFSM, pykka.ThreadingActor):
        log_depth = 3

        def __init__(self) -> None:
            super().__init__()
            self.start_with("counting", 0)
            self.when("counting", self.counting)
            self.initialize()

        def counting(self, event: Event) -> State:
            assert event.data < 4, "counted too far"
            return self.stay().using(event.data + 1)

    def test(runtime: testkit.Runtime) -> None:
        ref = Counter.start()
        for i in range(6):
            ref.tell(f"n{i}")

    report = explore(test, iterations=1, seed=1)
    bug = report.bug
    assert bug is not None and bug.kind == "safety" and bug.state == "counting"
    assert "counted too far" in bug.message
    text = report.summary()
    assert "last events of each actor" in text
    assert "deliver Counter#1 str 'n4' @'counting'" in text
    assert "LoggingFSM logs" in text and "'n3'" in text


def test_expect_no_msg_means_not_before_quiescence() -> None:
    with deterministic(seed=1):
        probe = TestProbe()
        echo = Echo.start(probe.ref)
        probe.expect_no_msg()
        echo.tell("late")
        with pytest.raises(AssertionError, match="'late'"):
            probe.expect_no_msg()


def test_expect_msg_fails_at_quiescence_without_sleeping() -> None:
    started = time.perf_counter()
    with deterministic(seed=1):
        probe = TestProbe()
        Echo.start()
        with pytest.raises(AssertionError, match="until the system was quiescent"):
            probe.expect_msg("never", timeout=30)
    assert time.perf_counter() - started < 2


def test_deterministic_block_raises_bug_found_for_a_bug_in_an_actor() -> None:
    outcomes = []
    for seed in range(60):  # the passing schedules are rare (seed 21 with swap-removal)
        try:
            with deterministic(seed=seed, timer_delay=2) as runtime:
                systems.timer_race(runtime)
                runtime.run()
            outcomes.append("passed")
        except testkit.BugFound as found:
            assert "oven beeped 'done' after the bake was cancelled" in str(found)
            assert found.bug.actor == "Oven#1"
            outcomes.append("bug")
    assert "bug" in outcomes and "passed" in outcomes


def test_random_choices_are_recorded_and_replayed() -> None:
    values: list[int] = []

    class Dice(FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("rolling", None)
            self.when("rolling", self.rolling)
            self.initialize()

        def rolling(self, event: Event) -> State:
            values.append(self.random_int(6))
            values.append(int(fsm.random_bool()))
            assert values[-2] != 5, "rolled a six"
            return self.stay()

    def test(runtime: testkit.Runtime) -> None:
        dice = Dice.start()
        for _ in range(3):
            dice.tell("roll")

    report = explore(test, iterations=100, strategy="random", seed=4)
    assert report.bug is not None
    lines = report.bug.trace.to_text().splitlines()
    assert any(" random Dice#1 random_int(6)=5" in line for line in lines)
    assert any(" random Dice#1 random_bool()=" in line for line in lines)
    found = list(values[-6:])
    values.clear()
    replay(test, report.bug.trace)
    assert values[-len(found) :] == found[-len(values) :]


def test_monitor_registration_and_bad_monitors() -> None:
    def twice(runtime: testkit.Runtime) -> None:
        runtime.register_monitor(systems.Outstanding)
        runtime.register_monitor(systems.Outstanding)

    with pytest.raises(testkit.TestkitError, match="already registered"):
        explore(twice, iterations=1, seed=1)

    def not_a_monitor(runtime: testkit.Runtime) -> None:
        runtime.register_monitor(Echo)  # type: ignore[type-var]

    with pytest.raises(FSMError, match="expected a Monitor subclass"):
        explore(not_a_monitor, iterations=1, seed=1)
    with pytest.raises(FSMError, match="expected a Monitor subclass"):
        fsm.monitor("Outstanding", 1)  # type: ignore[arg-type]

    class Timed(Monitor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("a", None)
            self.when("a", lambda event: self.stay(), state_timeout=5)
            self.initialize()

    with pytest.raises(FSMError, match="monitors have no timers"):
        Timed()


def test_monitors_are_a_no_op_in_production_unless_enabled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fsm.monitor(systems.Outstanding, systems.Response(1))  # not enabled: nothing happens
    monitor = fsm.enable_monitor(systems.Outstanding)
    try:
        fsm.monitor(systems.Outstanding, "anything but a Request")  # count would go negative
        with caplog.at_level(logging.ERROR, logger="fsm.monitor"):
            fsm.monitor(systems.Outstanding, systems.Response(1))
        assert monitor.state_name == "idle"
        assert "monitor Outstanding failed" in caplog.text
    finally:
        fsm.disable_monitor(systems.Outstanding)


def test_actor_started_outside_the_run_cannot_be_used_inside() -> None:
    outside = Echo.start()
    outside_value: list[Any] = []

    def test(runtime: testkit.Runtime) -> None:
        outside_value.append(Echo.start().ask("inside"))

    assert explore(test, iterations=1, seed=1).bug is None
    assert outside_value == ["inside"]
    assert outside.ask("still threaded", timeout=5) == "still threaded"


def test_step_bound_ends_an_iteration_quietly_under_unfair_strategies() -> None:
    report = explore(systems.never_served, iterations=2, max_steps=100, strategy="pct", seed=1)
    assert report.bug is None
    assert report.bound_reached == 2
    assert report.steps >= 200


def test_bad_random_int_is_a_clear_error() -> None:
    def test(runtime: testkit.Runtime) -> None:
        runtime.random_int(0)

    with pytest.raises(testkit.TestkitError, match=r"random_int\(n\) needs an integer n >= 1"):
        explore(test, iterations=1, seed=1)


def test_deterministic_block_reports_a_run_that_never_ends() -> None:
    with (
        pytest.raises(testkit.BugFound, match="max_steps=500 reached while the test waited"),
        deterministic(seed=1, max_steps=500) as runtime,
    ):
        systems.Heartbeat.start(True)  # ticks forever
        runtime.run()


def test_test_fsm_ref_under_the_deterministic_runtime() -> None:
    with deterministic(seed=1) as runtime:
        ref = testkit.TestFSMRef(systems.Timeouts, TestProbe().ref)
        assert (ref.state_name, ref.is_state_timer_active()) == ("waiting", True)
        ref.set_state("done")
        assert ref.state_name == "done" and not ref.is_state_timer_active()
        runtime.run()
        assert runtime.now == 0.0  # the cancelled hour-long timeout never fired


def test_a_busy_looping_test_function_is_stopped_by_the_watchdog() -> None:
    def spins(runtime: testkit.Runtime) -> None:
        while True:  # waits for nothing, lets nothing run
            pass

    with pytest.raises(testkit.TestkitError) as caught:
        explore(spins, iterations=1, seed=1, watchdog=0.5)
    message = str(caught.value)
    assert "the test function made no progress for 0.5 s at step 0" in message
    assert f"spins ({__file__}:" in message  # the user's own frame
    report = explore(systems.lost_update_fixed, iterations=3, seed=1)  # a fresh worker
    assert report.bug is None and report.iterations == 3
