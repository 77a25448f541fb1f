"""Pykka code as it is written, under the tester: blocking handlers, plain actors, ask cycles."""

from __future__ import annotations

import threading
import time
from typing import Any

import pykka
import pytest

import testkit
from fsm import FSM, Event, State
from testkit import TestProbe
from testkit._engine.trace import Trace

# ---- blocking inside handlers ---------------------------------------------------------------


class Echo(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        return message


class Asker(FSM, pykka.ThreadingActor):
    """Asks `other` on every message and keeps what it got, in order."""

    def __init__(self, other: pykka.ActorRef[Any], log: list[str]) -> None:
        super().__init__()
        self.other = other
        self.seen = log
        self.start_with("a", None)
        self.when("a", self.a)
        self.initialize()

    def a(self, event: Event) -> State:
        self.seen.append(f"begin {event.message}")
        reply = self.other.ask(f"echo {event.message}")
        self.seen.append(f"end {reply}")
        return self.stay()


def test_an_fsm_handler_blocking_on_ask_is_resumed_and_handles_nothing_else_meanwhile() -> None:
    logs: list[list[str]] = []

    def test(runtime: testkit.Runtime) -> None:
        log: list[str] = []
        logs.append(log)
        asker = Asker.start(Echo.start(), log)
        asker.tell(1)
        asker.tell(2)
        runtime.run()
        assert log == ["begin 1", "end echo 1", "begin 2", "end echo 2"], log

    report = testkit.explore(test, iterations=50, seed=1)
    assert report.bug is None, report
    assert len(logs) == 50


def test_waits_and_resumptions_are_steps_of_the_trace_and_replay() -> None:
    def test(runtime: testkit.Runtime) -> None:
        Asker.start(Echo.start(), []).tell(1)
        runtime.run()
        raise AssertionError("the end")

    report = testkit.explore(test, iterations=1, seed=1)
    assert report.bug is not None
    text = report.bug.trace.to_text()
    assert " wait Asker#1 Echo#1 ask:str" in text
    assert " resume Asker#1 Echo#1 ask:str" in text
    loaded = Trace.from_text(text)
    assert testkit.replay(test, loaded).bug is not None
    edited = Trace.from_text(text.replace("wait Asker#1 Echo#1", "wait Asker#1 Other#1"))
    with pytest.raises(testkit.ReplayDivergence, match="wait Asker#1 Other#1"):
        testkit.replay(test, edited)


def test_a_wait_step_without_its_request_is_a_clear_load_error() -> None:
    text = "# testkit-trace 2\n# max_steps: 10\n0 start A#1\n1 wait A#1 B#1\n"
    with pytest.raises(testkit.TestkitError, match="line 4: a wait step needs"):
        Trace.from_text(text)


class Gatherer(pykka.ThreadingActor):
    def __init__(self, others: list[pykka.ActorRef[Any]]) -> None:
        super().__init__()
        self.others = others

    def gather(self) -> list[Any]:
        return pykka.get_all([other.ask(n, block=False) for n, other in enumerate(self.others)])

    def stop_them(self) -> list[Any]:
        return [other.stop() for other in self.others]


def test_get_all_and_ref_stop_block_a_handler_until_the_values_arrive() -> None:
    def test(runtime: testkit.Runtime) -> None:
        gatherer = Gatherer.start([Echo.start(), Echo.start()]).proxy()
        assert gatherer.gather().get() == [0, 1]
        assert gatherer.stop_them().get() == [True, True]

    report = testkit.explore(test, iterations=30, seed=4)
    assert report.bug is None, report


class Patient(pykka.ThreadingActor):
    def __init__(self, probe: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.probe = probe

    def wait_a_bit(self) -> str:
        try:
            self.probe.ask("never answered", timeout=1.0)
        except pykka.Timeout:
            return "timed out"
        return "answered"


def test_a_handler_wait_with_a_timeout_ends_in_pykka_timeout_when_nothing_can_run() -> None:
    def test(runtime: testkit.Runtime) -> None:
        probe = TestProbe()
        assert Patient.start(probe.ref).proxy().wait_a_bit().get() == "timed out"

    report = testkit.explore(test, iterations=5, seed=1)
    assert report.bug is None, report


# ---- ask cycles ----------------------------------------------------------------------------


class Foo:
    pass


class Bar:
    pass


class Ping(pykka.ThreadingActor):
    peer: pykka.ActorRef[Any] | None = None

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, pykka.ActorRef):
            self.peer = message
            return None
        if isinstance(message, str) and self.peer is not None:
            return self.peer.ask(Foo() if message == "a" else Bar())
        return "pong"


def test_an_ask_cycle_is_a_deadlock_naming_the_cycle_and_when_each_wait_began() -> None:
    def test(runtime: testkit.Runtime) -> None:
        a, b = Ping.start(), Ping.start()
        a.tell(b)
        b.tell(a)
        a.tell("a")  # A asks B (Foo) while B asks A (Bar)
        b.tell("b")

    report = testkit.explore(test, iterations=100, seed=1)
    bug = report.bug
    assert bug is not None and bug.kind == "deadlock", report
    assert (
        "Ping#1 waits for Ping#2 (ask Foo), Ping#2 waits for Ping#1 (ask Bar)" in bug.message
        or "Ping#2 waits for Ping#1 (ask Bar), Ping#1 waits for Ping#2 (ask Foo)" in bug.message
    )
    steps = {s.actor: s.index for s in bug.trace.steps if s.kind == "wait"}
    assert f"Ping#1 at step {steps['Ping#1']}" in bug.message
    assert f"Ping#2 at step {steps['Ping#2']}" in bug.message
    assert testkit.replay(test, bug.trace).bug is not None


class AsksTheProbe(pykka.ThreadingActor):
    def __init__(self, probe: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.probe = probe

    def on_receive(self, message: Any) -> Any:
        return self.probe.ask(Bar())


def test_a_cycle_through_the_test_function_is_a_deadlock() -> None:
    def test(runtime: testkit.Runtime) -> None:
        probe = TestProbe()
        AsksTheProbe.start(probe.ref).ask(Foo())  # the probe's reply would come from here

    report = testkit.explore(test, iterations=1, seed=1)
    bug = report.bug
    assert bug is not None and bug.kind == "deadlock", report
    assert bug.message.startswith("a cycle through the test function: ")
    assert "the test function waits for AsksTheProbe#1 (ask Foo)" in bug.message
    assert "AsksTheProbe#1 waits for TestProbe('probe') (ask Bar)" in bug.message


# ---- plain Pykka actors ----------------------------------------------------------------------

EVENTS: list[str] = []


class Counter(pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def on_start(self) -> None:
        EVENTS.append("start")

    def on_stop(self) -> None:
        EVENTS.append("stop")

    def on_failure(self, *exc_info: Any) -> None:
        EVENTS.append("failure")

    def add(self, n: int) -> int:
        self.count += n
        return self.count

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise ValueError("boom")
        return self.count


def test_plain_actors_run_under_the_tester_with_proxies_registry_and_hooks() -> None:
    EVENTS.clear()

    def test(runtime: testkit.Runtime) -> None:
        ref = Counter.start()
        assert pykka.ActorRegistry.get_by_class(Counter) == [ref]
        proxy = ref.proxy()
        proxy.add(2)
        assert proxy.add(3).get() == 5
        assert proxy.count.get() == 5
        assert ref.ask("count") == 5
        ref.tell("anything")
        assert ref.stop() is True
        assert not ref.is_alive()

    report = testkit.explore(test, iterations=10, seed=1)
    assert report.bug is None, report
    assert EVENTS == ["start", "stop"] * 10
    assert pykka.ActorRegistry.get_by_class(Counter) == []


def test_an_exception_in_a_plain_actor_goes_to_the_asker_or_is_a_bug() -> None:
    def asked(runtime: testkit.Runtime) -> None:
        with pytest.raises(ValueError):
            Counter.start().ask("boom")

    assert testkit.explore(asked, iterations=3, seed=1).bug is None
    EVENTS.clear()

    def told(runtime: testkit.Runtime) -> None:
        Counter.start().tell("boom")

    report = testkit.explore(told, iterations=1, seed=1, shrink=False)  # one run only
    assert report.bug is not None and report.bug.kind == "exception"
    assert "ValueError: boom" in report.bug.message and report.bug.actor == "Counter#1"
    assert EVENTS == ["start", "failure"]


def test_pykka_is_restored_after_a_run_even_one_that_failed() -> None:
    def test(runtime: testkit.Runtime) -> None:
        Counter.start()
        raise testkit.TestkitError("misuse")

    with pytest.raises(testkit.TestkitError), testkit.deterministic():
        test(None)  # type: ignore[arg-type]
    ref = Counter.start()  # a real thread again
    assert isinstance(ref.actor_class._create_future(), pykka.ThreadingFuture)
    assert any(t.name.startswith("Counter-") for t in threading.enumerate())
    ref.stop()


class Spawner(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        threading.Thread(target=lambda: None, name="helper").start()


class Sleeper(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        time.sleep(0.1)


def test_a_plain_actor_starting_a_thread_is_a_clear_error_and_sleeping_virtual_time() -> None:
    def spawns(runtime: testkit.Runtime) -> None:
        Spawner.start().tell("go")

    with pytest.raises(testkit.TestkitError, match=r"Spawner#1, in .* started a thread"):
        testkit.explore(spawns, iterations=1, seed=1)

    def sleeps(runtime: testkit.Runtime) -> None:
        Sleeper.start().tell("go")

    assert testkit.explore(sleeps, iterations=1, seed=1).bug is None  # issue 25 point 2
