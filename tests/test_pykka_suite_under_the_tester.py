"""Pykka's own ways of testing, under the tester (issue 25): user code that fails in every
way Pykka's suite makes it fail never corrupts the engine (point 1); the test function's
waits on events, conditions, queues, futures and `time.sleep` run the schedule and then let
their timeout pass in virtual time (point 2); pytest's own timing stays real (point 3).

Each systematic test here starts from a clean runtime (a fresh `explore`) and ends by
running a healthy system again, in the same process, to prove nothing was left corrupt.
"""

from __future__ import annotations

import queue
import re
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from typing import Any

import pykka
import pytest

import testkit
from fsm import FSM, Event, State, StateTimeout
from testkit import Runtime, explore

from . import buggy_systems

PLUGIN = (
    "-p",
    "testkit.pytest_plugin",
    "-p",
    "no:cacheprovider",
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",  # see tests/test_pytest_plugin.py
)


class Events:
    """What a failing actor signals, as Pykka's suite's `events` fixture."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopped = threading.Event()
        self.failed = threading.Event()


class Failing(pykka.ThreadingActor):
    """Fails the way `how` says, as Pykka's own test actors do."""

    def __init__(self, events: Events, how: str) -> None:
        super().__init__()
        self.events = events
        self.how = how

    def on_start(self) -> None:
        self.events.started.set()
        if self.how == "on_start":
            raise RuntimeError("on_start failure")
        if self.how == "on_stop":
            self.stop()

    def on_stop(self) -> None:
        self.events.stopped.set()
        if self.how == "on_stop":
            raise RuntimeError("on_stop failure")

    def on_receive(self, message: Any) -> Any:
        if message == "raise":
            raise ValueError("on_receive failure")
        if message == "raise base":
            raise BaseException("from a handler")
        return message

    def on_failure(self, *exc_info: Any) -> None:
        self.events.failed.set()
        if self.how == "on_failure":
            raise RuntimeError("on_failure failure")


class Bystander(pykka.ThreadingActor):
    """Stopped with everyone else when an actor raises a `BaseException`."""

    def __init__(self, events: Events) -> None:
        super().__init__()
        self.events = events

    def on_stop(self) -> None:
        self.events.stopped.set()


def _in_pykka_mode(test: Callable[[Runtime], None]) -> Callable[[Runtime], None]:
    """`test` with plain actors' failures as Pykka behaviour (what `--testkit-explore` does)."""

    def run(runtime: Runtime) -> None:
        runtime.pykka_failures = True
        test(runtime)

    return run


def _healthy_afterwards() -> None:
    assert explore(buggy_systems.lost_update_fixed, iterations=3, seed=1).bug is None
    assert pykka.ActorRegistry.get_all() == []


# ---- point 1: no failure of user code corrupts the engine ----------------------------------


def test_on_failure_raising_is_logged_and_stops_the_actor_and_later_runs_are_clean() -> None:
    # it used to escape Runtime._burst (an internal error), and every later teardown failed
    # with "IndexError: pop from an empty deque"
    seen: list[tuple[bool, bool]] = []

    def test(runtime: Runtime) -> None:
        events = Events()
        ref = Failing.start(events, "on_failure")
        ref.tell("raise")
        assert events.failed.wait(5)
        seen.append((ref.is_alive(), ref.stop()))  # stopping a failed actor: False

    report = explore(_in_pykka_mode(test), iterations=5, seed=1)
    assert report.bug is None, report
    assert set(seen) == {(False, False)}
    _healthy_afterwards()


def test_on_failure_raising_is_still_a_bug_of_the_actor_without_pykka_mode() -> None:
    def test(runtime: Runtime) -> None:
        Failing.start(Events(), "on_failure").tell("raise")

    bug = explore(test, iterations=3, seed=1).bug
    assert bug is not None and bug.kind == "exception" and bug.actor == "Failing#1"
    assert "ValueError: on_receive failure" in bug.message  # the failure, not its hook's
    _healthy_afterwards()


@pytest.mark.parametrize("how", ["on_start", "on_stop"])
def test_a_lifecycle_hook_raising_stops_the_actor_as_pykka_does(how: str) -> None:
    outcomes: list[tuple[bool, bool]] = []

    def test(runtime: Runtime) -> None:
        events = Events()
        ref = Failing.start(events, how)
        (events.started if how == "on_start" else events.stopped).wait(5)
        ref.actor_stopped.wait(5)
        with pytest.raises(pykka.ActorDeadError):
            ref.ask("anyone there?")
        outcomes.append((ref.is_alive(), ref.stop()))

    with testkit.expect_logs("ERROR", logger="pykka", message="Unhandled exception in Failing"):
        report = explore(_in_pykka_mode(test), iterations=1, seed=1)
    assert report.bug is None, report
    assert outcomes == [(False, False)]
    _healthy_afterwards()


def test_on_start_raising_is_a_bug_without_pykka_mode() -> None:
    def test(runtime: Runtime) -> None:
        Failing.start(Events(), "on_start")

    bug = explore(test, iterations=2, seed=1).bug
    assert bug is not None and "RuntimeError: on_start failure" in bug.message
    _healthy_afterwards()


def test_a_base_exception_in_a_plain_actor_stops_every_actor_as_pykka_does() -> None:
    counts: list[int] = []

    def test(runtime: Runtime) -> None:
        events, others = Events(), Events()
        ref = Failing.start(events, "none")
        Bystander.start(others)
        ref.tell("raise base")
        assert events.stopped.wait(5) and others.stopped.wait(5)
        counts.append(len(pykka.ActorRegistry.get_all()))

    report = explore(_in_pykka_mode(test), iterations=5, seed=1)
    assert report.bug is None, report
    assert counts == [0] * 5
    _healthy_afterwards()


def test_a_base_exception_is_a_bug_without_pykka_mode() -> None:
    def test(runtime: Runtime) -> None:
        Failing.start(Events(), "none").tell("raise base")

    bug = explore(test, iterations=2, seed=1).bug
    assert bug is not None and bug.kind == "exception" and bug.actor == "Failing#1"
    _healthy_afterwards()


def test_an_asked_plain_actor_failing_logs_as_pykka_and_goes_on() -> None:
    def test(runtime: Runtime) -> None:
        ref = Failing.start(Events(), "none")
        with pytest.raises(ValueError, match="on_receive failure"):
            ref.ask("raise")
        assert ref.ask("still here") == "still here"

    with testkit.expect_logs(
        "INFO", logger="pykka", message="Exception returned from Failing", occurrences=2
    ):
        assert explore(test, iterations=2, seed=1).bug is None
    _healthy_afterwards()


class Setter(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        future, value = message
        future.set(value)


def test_a_future_set_twice_raises_queue_full_as_pykka_and_the_engine_goes_on() -> None:
    def test(runtime: Runtime) -> None:
        ref = Setter.start()
        future = runtime.create_future()  # what an ask returns under the tester
        ref.tell((future, 1))
        assert future.get() == 1
        with pytest.raises(queue.Full, match="already has its value"):
            future.set(2)
        with pytest.raises(queue.Full):
            future.set_exception((ValueError, ValueError("late"), None))
        hooked = runtime.create_future()
        hooked.set_get_hook(lambda timeout: 3)
        with pytest.raises(queue.Full, match="get hook"):
            hooked.set(4)
        assert hooked.get() == 3
        ref.tell((future, 5))  # in a handler: its failure, logged as Pykka does

    assert explore(_in_pykka_mode(test), iterations=3, seed=1).bug is None
    bug = explore(test, iterations=1, seed=1).bug
    assert bug is not None and bug.actor == "Setter#1" and "already has its value" in bug.message
    _healthy_afterwards()


# ---- point 2: the test function's waits run the schedule, then virtual time ----------------


class Signaller(pykka.ThreadingActor):
    """Sets what it is told to, late: after `hops` more messages to itself."""

    def on_receive(self, message: Any) -> Any:
        what, hops = message
        if hops:
            self.actor_ref.tell((what, hops - 1))
        elif isinstance(what, threading.Event):
            what.set()
        elif isinstance(what, queue.Queue):
            what.put("item")
        elif isinstance(what, pykka.ThreadingFuture):
            what.set("value")
        else:
            with what.condition:
                what.flag = True
                what.condition.notify_all()


def _waits(wait: Callable[[Any], Any], make: Callable[[], Any], signal: bool) -> list[Any]:
    """What `wait(thing)` gave in the test function of each of 3 iterations, an actor
    signalling `thing` after a few hops (or never), and the virtual seconds it took."""
    results: list[Any] = []

    def test(runtime: Runtime) -> None:
        thing = make()
        if signal:
            Signaller.start().tell((thing, 3))
        before = time.monotonic()
        results.append((wait(thing), time.monotonic() - before))

    report = explore(test, iterations=3, seed=1)
    assert report.bug is None, report
    return results


class Flagged:
    """A flag and the condition its setter notifies."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.flag = False


def _condition_wait(flagged: Flagged) -> bool:
    with flagged.condition:
        return flagged.condition.wait_for(lambda: flagged.flag, 5)


def _queue_get(box: queue.Queue[Any]) -> Any:
    try:
        return box.get(timeout=5)
    except queue.Empty:
        return "empty"


def _future_get(future: pykka.ThreadingFuture[Any]) -> Any:
    try:
        return future.get(timeout=5)
    except pykka.Timeout:
        return "timeout"


WAITS: dict[str, tuple[Callable[[Any], Any], Callable[[], Any], Any, Any]] = {
    "event": (lambda event: event.wait(5), threading.Event, True, False),
    "condition": (_condition_wait, Flagged, True, False),
    "queue": (_queue_get, queue.Queue, "item", "empty"),
    "threading future": (_future_get, pykka.ThreadingFuture, "value", "timeout"),
}


@pytest.mark.parametrize("kind", list(WAITS))
def test_a_wait_in_the_test_function_runs_the_actors_until_it_is_satisfied(kind: str) -> None:
    wait, make, satisfied, _ = WAITS[kind]
    assert _waits(wait, make, signal=True) == [(satisfied, 0.0)] * 3  # no virtual time passed


@pytest.mark.parametrize("kind", list(WAITS))
def test_a_wait_nothing_satisfies_times_out_in_virtual_time(kind: str) -> None:
    wait, make, _, timed_out = WAITS[kind]
    started = time.monotonic()
    assert _waits(wait, make, signal=False) == [(timed_out, 5.0)] * 3
    assert time.monotonic() - started < 10  # not 3 x 5 real seconds


def test_time_sleep_in_the_test_function_lets_the_actors_run_then_passes_virtually() -> None:
    seen: list[tuple[bool, float]] = []

    def test(runtime: Runtime) -> None:
        event = threading.Event()
        Signaller.start().tell((event, 3))
        before = time.time()
        time.sleep(30)
        seen.append((event.is_set(), time.time() - before))

    started = time.monotonic()
    assert explore(test, iterations=3, seed=1).bug is None
    assert seen == [(True, 30.0)] * 3
    assert time.monotonic() - started < 30


class Patient(FSM, pykka.ThreadingActor):
    """Notes the virtual second its 10 s state timeout fires."""

    def __init__(self, fired: list[float]) -> None:
        super().__init__()
        self.fired = fired
        self.start_with("waiting", None)
        self.when("waiting", self.waiting, state_timeout=10.0)
        self.when("late", lambda event: self.stay())
        self.initialize()

    def waiting(self, event: Event) -> State | None:
        if isinstance(event.message, StateTimeout):
            self.fired.append(time.monotonic())
            return self.goto("late")
        return self.stay()


def test_a_timed_wait_of_the_test_ends_before_a_later_timer_fires() -> None:
    # a 10 s state timeout pending when a 1 s sleep begins may not fire during it (a state the
    # test could never see on threads); during a further 10 s wait it does, at its own second.
    # (Before the sleep, a timer may fire whenever the schedule says, as any step.)
    seen: list[tuple[bool, float, int, list[float]]] = []

    def test(runtime: Runtime) -> None:
        fired: list[float] = []
        start = time.monotonic()
        Patient.start(fired)
        pending = not fired
        before = time.monotonic()
        time.sleep(1)
        slept, after_sleep = time.monotonic() - before, len(fired)
        threading.Event().wait(10)
        seen.append((pending, slept, after_sleep, [at - start for at in fired]))

    assert explore(test, iterations=10, seed=1).bug is None
    assert all(when == [10.0] for *_, when in seen)
    waited = [(slept, after_sleep) for pending, slept, after_sleep, _ in seen if pending]
    assert waited and set(waited) == {(1.0, 0)}


def test_an_untimed_wait_nothing_can_satisfy_is_a_deadlock_report_not_a_hang() -> None:
    def test(runtime: Runtime) -> None:
        Signaller.start().tell((threading.Event(), 1))  # sets another event
        threading.Event().wait()

    bug = explore(test, iterations=2, seed=1).bug
    assert bug is not None and bug.kind == "deadlock" and bug.actor == "test"
    assert "the test waits on threading (Event.wait), which nothing can end" in bug.message
    _healthy_afterwards()


class Waiter(pykka.ThreadingActor):
    """Told a timeout, waits that long in its handler on its event; answers what the wait
    gave and the virtual seconds it took."""

    def __init__(self, event: threading.Event) -> None:
        super().__init__()
        self.event = event

    def on_receive(self, timeout: float | None) -> Any:
        before = time.monotonic()
        return self.event.wait(timeout), time.monotonic() - before


def test_a_handler_waiting_on_an_event_is_woken_by_the_test_or_times_out_virtually() -> None:
    answers: list[Any] = []

    def test(runtime: Runtime) -> None:
        event = threading.Event()
        woken = Waiter.start(event).ask(None, block=False)
        event.set()
        timed = Waiter.start(threading.Event()).ask(2.5, block=False)
        answers.append((woken.get(), timed.get()))

    assert explore(test, iterations=5, seed=1).bug is None
    assert answers == [((True, 0.0), (False, 2.5))] * 5


def test_a_handler_waiting_on_an_event_nobody_sets_is_a_deadlock_naming_it() -> None:
    def test(runtime: Runtime) -> None:
        Waiter.start(threading.Event()).tell(None)

    bug = explore(test, iterations=1, seed=1).bug
    assert bug is not None and bug.kind == "deadlock"
    assert "Waiter#1 waits for threading (Event.wait)" in bug.message


def test_a_handlers_wait_is_a_step_that_replays() -> None:
    def test(runtime: Runtime) -> None:
        event = threading.Event()
        Waiter.start(event).ask(None, block=False)
        Waiter.start(threading.Event()).tell(1.0)
        time.sleep(0.5)
        event.set()
        time.sleep(1)
        raise AssertionError("the end")

    bug = explore(test, iterations=1, seed=1).bug
    assert bug is not None
    text = "\n".join(str(step) for step in bug.trace.steps)
    assert "wait Waiter#1 threading Event.wait" in text
    assert "resume Waiter#2 threading Event.wait:timeout" in text
    again = testkit.replay(test, bug.trace).bug
    assert again is not None and again.message == bug.message


def test_waits_and_sleeps_off_the_tester_stay_real() -> None:
    event = threading.Event()
    threading.Timer(0.01, event.set).start()
    assert event.wait(30)
    _healthy_afterwards()
    assert threading.Condition.wait is _real_condition_wait and time.sleep is _real_sleep


_real_condition_wait = threading.Condition.wait
_real_sleep = time.sleep


# ---- points 1 and 3 under pytest --testkit-explore --------------------------------------------


ACTORS = """
import logging, threading
import pykka

class Failing(pykka.ThreadingActor):
    def __init__(self, event):
        super().__init__()
        self.event = event
    def on_receive(self, message):
        raise ValueError("on_receive failure")
    def on_failure(self, *args):
        self.event.set()
        raise RuntimeError("on_failure failure")
"""


def test_under_pytest_an_actor_failing_is_pykka_behaviour_unless_asked_otherwise(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        actors=ACTORS,
        test_failing="""
        import threading, pytest
        from actors import Failing

        def test_expects_the_failure():
            event = threading.Event()
            ref = Failing.start(event)
            ref.tell("go")
            assert event.wait(5)
            assert not ref.is_alive()

        @pytest.mark.testkit(actor_failures="bug")
        def test_marked():
            test_expects_the_failure()

        def test_after():
            assert Failing.start(threading.Event()).stop()
        """,
    )
    result = pytester.runpytest(*PLUGIN, "--testkit-explore", "3", "--testkit-seed", "1")
    result.assert_outcomes(passed=2, failed=1)
    text = "\n".join(result.outlines)
    assert "FAILED test_failing.py::test_marked" in text
    assert re.search(r"BUG: exception bug in Failing#1 at step \d+: ValueError", text)
    strict = pytester.runpytest(
        *PLUGIN, "--testkit-explore", "2", "-o", "testkit_actor_failures=bug"
    )
    strict.assert_outcomes(passed=1, failed=2)
    on_threads = pytester.runpytest(*PLUGIN)
    on_threads.assert_outcomes(passed=2, failed=1)  # as written, the marked one too


def test_a_bad_actor_failures_setting_is_a_usage_error_saying_what_to_write(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.testkit(actor_failures="ignore")
        def test_marked():
            pass
        """
    )
    marked = pytester.runpytest(*PLUGIN, "--testkit-explore", "1")
    assert marked.ret == pytest.ExitCode.USAGE_ERROR
    assert "actor_failures must be 'pykka' (as on threads) or 'bug', got 'ignore'" in (
        "\n".join(marked.errlines + marked.outlines)
    )
    ini = pytester.runpytest(*PLUGIN, "--testkit-explore", "1", "-o", "testkit_actor_failures=x")
    assert ini.ret == pytest.ExitCode.USAGE_ERROR
    assert "testkit_actor_failures = x: write 'pykka'" in "\n".join(ini.errlines + ini.outlines)


TIMING = """
import time, pytest

RECORDED = []

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    RECORDED.append(("call", call.when, call.start, call.stop, call.duration))
    yield

def pytest_runtest_logreport(report):
    RECORDED.append(("report", report.when, report.start, report.stop, report.duration))

def pytest_sessionfinish(session):
    print("RECORDED", RECORDED)
"""


def test_pytests_own_timing_stays_real_under_the_tester(pytester: pytest.Pytester) -> None:
    # issue 25 point 3: freezegun used to patch _pytest.timing while a test ran under the
    # tester, so calls and reports carried virtual start and stop times (2026-01-01) and
    # virtual durations
    pytester.makeconftest(TIMING)
    pytester.makepyfile(
        """
        import threading, time

        def test_sleeps_a_virtual_hour():
            time.sleep(3600)
            threading.Event().wait(3600)
        """
    )
    before = time.time()
    result = pytester.runpytest(
        *PLUGIN, "-s", "--testkit-explore", "3", "--junitxml", "junit.xml", "--durations", "0"
    )
    after = time.time()
    result.assert_outcomes(passed=1)
    (line,) = [line for line in result.outlines if "RECORDED" in line]
    recorded = eval(line.split("RECORDED ", 1)[1])
    assert recorded
    for kind, when, start, stop, duration in recorded:
        assert before <= start <= stop <= after, (kind, when, start, stop)
        assert 0 <= duration <= after - before, (kind, when, duration)
    (summary,) = [line for line in result.outlines if " passed in " in line]
    seconds = float(re.search(r"passed in ([\d.]+)s", summary).group(1))  # type: ignore[union-attr]
    assert seconds <= after - before
    case = ElementTree.parse(pytester.path / "junit.xml").getroot().find(".//testcase")
    assert case is not None and float(case.attrib["time"]) <= after - before


def test_the_tester_leaves_no_virtual_wait_or_sleep_behind(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import threading, time

        def test_under_the_tester():
            time.sleep(1)

        def test_zz_after():
            import testkit._engine.blocking as blocking
            assert threading.Condition.wait is blocking._saved_wait
            assert time.sleep is blocking._saved_sleep
        """
    )
    result = pytester.runpytest(
        *PLUGIN, "--testkit-explore", "2", "-o", "testkit_real_threads=*::test_zz_after"
    )
    result.assert_outcomes(passed=2)
