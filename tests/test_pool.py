"""The shared pool: one worker per actor at a time, order, fairness, blocking, stopping,
configuration, and pooled actors under the deterministic tester."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pykka
import pytest
from pykka._envelope import Envelope

import fsm
import testkit
from fsm import FSM, Event, FSMError, State
from fsm import _pool as pool_module
from testkit import TestProbe


@pytest.fixture
def fresh_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[pool_module.PoolDispatcher]:
    """A pool of its own for this test, so that `configure_pool` can still size it."""
    dispatcher = pool_module.PoolDispatcher()
    monkeypatch.setattr(pool_module, "POOL", dispatcher)
    yield dispatcher
    pykka.ActorRegistry.stop_all()


class Recorder(fsm.PooledActor):
    """Records (sender, n) and checks that no two workers ever run it at once."""

    def __init__(self, log: list[Any], hold: float = 0.0) -> None:
        super().__init__()
        self.log = log
        self.hold = hold
        self.inside = False
        self.overlaps = 0

    def on_receive(self, message: Any) -> Any:
        if message == "overlaps":
            return self.overlaps
        if self.inside:
            self.overlaps += 1
        self.inside = True
        if self.hold:
            time.sleep(self.hold)
        self.log.append(message)
        self.inside = False
        return None


def test_one_worker_at_a_time_and_order_per_sender() -> None:
    log: list[Any] = []
    ref = Recorder.start(log)
    senders = [
        threading.Thread(target=lambda s=s: [ref.tell((s, n)) for n in range(2000)])
        for s in range(4)
    ]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    assert ref.ask("overlaps", timeout=10) == 0
    assert len(log) == 8000
    for s in range(4):
        assert [n for sender, n in log if sender == s] == list(range(2000))


def test_configure_pool_sizes_the_pool_and_throughput_bounds_a_turn(
    fresh_pool: pool_module.PoolDispatcher,
) -> None:
    fsm.configure_pool(workers=1, throughput=2)
    log: list[Any] = []
    gate = threading.Event()

    class Gate(fsm.PooledActor):
        def on_receive(self, message: Any) -> Any:
            gate.wait(5)  # holds the only worker while the test fills two inboxes

    gated = Gate.start()
    a, b = Recorder.start(log), Recorder.start(log)
    gated.tell("hold")
    time.sleep(0.02)  # let the worker take the gate (well under the blocking threshold)
    for n in range(4):
        a.tell(("a", n))
        b.tell(("b", n))
    gate.set()
    assert b.ask("overlaps", timeout=5) == 0
    assert [s for s, _ in log] == ["a", "a", "b", "b", "a", "a", "b", "b"]
    assert fresh_pool.pool.thread_count() == 1


def test_configure_pool_after_the_first_pooled_actor_is_a_clear_error(
    fresh_pool: pool_module.PoolDispatcher,
) -> None:
    Recorder.start([])
    with pytest.raises(FSMError, match=r"before the first PooledActor starts.*\d+ worker"):
        fsm.configure_pool(workers=4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"workers": 0}, r"workers=\.\.\.\) needs None .* or an integer >= 1, got 0"),
        ({"workers": 2.5}, r"got 2\.5"),
        ({"workers": True}, r"got True"),
        ({"throughput": 0}, r"throughput=\.\.\.\) needs an integer >= 1 .* got 0"),
        ({"throughput": "5"}, r"got '5'"),
    ],
)
def test_configure_pool_rejects_bad_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(FSMError, match=message):
        fsm.configure_pool(**kwargs)


class Asker(FSM, fsm.PooledActor):
    """Answers "go" by blocking on an ask to `other` (what a pooled handler should not do)."""

    def __init__(self, other: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.other = other
        self.start_with("idle", None)
        self.when("idle", self.idle)
        self.initialize()

    def idle(self, event: Event) -> State | None:
        if event.message == "go":
            return self.stay().replying(("got", self.other.ask("question", timeout=10)))
        return None


class Answerer(fsm.PooledActor):
    def on_receive(self, message: Any) -> Any:
        return "answer"


def test_a_blocking_ask_in_a_pool_of_one_gets_a_replacement_worker_and_a_warning(
    fresh_pool: pool_module.PoolDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    fsm.configure_pool(workers=1)
    asker = Asker.start(Answerer.start())
    with caplog.at_level(logging.WARNING, logger="fsm.pool"):
        assert asker.ask("go", timeout=10) == ("got", "answer")
    warning = next(r.getMessage() for r in caplog.records if r.name == "fsm.pool")
    assert "Asker" in warning and "handling str" in warning
    assert "started a replacement worker (2 threads, 1 configured)" in warning
    assert "Do not block in a pooled handler" in warning
    deadline = time.monotonic() + 5
    while fresh_pool.pool.thread_count() != 1:  # the extra worker retires once unblocked
        assert time.monotonic() < deadline, "the replacement worker never retired"
        asker.ask("ping?", timeout=5)  # any turn lets the unblocked worker check
        time.sleep(0.01)


def test_a_sleeping_handler_does_not_hold_up_the_other_actors(
    fresh_pool: pool_module.PoolDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    fsm.configure_pool(workers=1)
    sleeper = Recorder.start([], hold=3.0)
    other = Answerer.start()
    sleeper.tell("sleep")
    time.sleep(0.02)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="fsm.pool"):
        assert other.ask("q", timeout=10) == "answer"
    assert time.monotonic() - started < 2.5  # answered while the sleeper still slept
    assert any("Recorder" in r.getMessage() for r in caplog.records if r.name == "fsm.pool")


def test_stop_all_stops_pooled_actors_and_pool_threads_are_daemons() -> None:
    refs = [Recorder.start([]) for _ in range(20)]
    for ref in refs:
        ref.tell("x")
    pykka.ActorRegistry.stop_all()
    assert not any(ref.is_alive() for ref in refs)
    assert pykka.ActorRegistry.get_all() == []
    pool_threads = [t for t in threading.enumerate() if t.name.startswith("fsm-pool")]
    assert pool_threads and all(t.daemon for t in pool_threads)


def test_no_message_is_processed_after_the_actor_stopped() -> None:
    log: list[Any] = []
    ref = Recorder.start(log, hold=0.05)
    ref.tell("first")  # holds the actor while the rest queues up behind the stop
    ref.stop(block=False)
    ref.tell("after")  # accepted while the stop is queued, never handled
    assert ref.actor_stopped.wait(5)
    time.sleep(0.1)
    assert log == ["first"]
    late = pykka.ThreadingFuture[Any]()
    ref.actor_inbox.put(Envelope("racing the stop", reply_to=late))  # as a racing ask would
    with pytest.raises(pykka.ActorDeadError, match="stopped before handling the message"):
        late.get(timeout=1)
    assert log == ["first"]


def test_queued_asks_fail_when_the_actor_stops_first() -> None:
    ref = Recorder.start([], hold=0.05)
    ref.tell("first")
    ref.stop(block=False)
    queued = ref.actor_inbox  # put directly: tell/ask already refuse a stopping actor
    future = pykka.ThreadingFuture[Any]()
    queued.put(Envelope("queued", reply_to=future))
    with pytest.raises(pykka.ActorDeadError):
        future.get(timeout=5)


def test_plain_pooled_actor_lifecycle_and_proxy() -> None:
    events: list[str] = []

    class Plain(fsm.PooledActor):
        value = 1

        def on_start(self) -> None:
            events.append("start")

        def on_stop(self) -> None:
            events.append("stop")

        def double(self, x: int) -> int:
            return 2 * x

    proxy = Plain.start().proxy()
    assert proxy.double(21).get(timeout=5) == 42
    assert proxy.value.get(timeout=5) == 1
    proxy.actor_ref.stop()
    assert events == ["start", "stop"]


def test_an_exception_in_a_plain_pooled_actor_stops_it_as_with_threads() -> None:
    class Fragile(fsm.PooledActor):
        def on_receive(self, message: Any) -> Any:
            raise ValueError("boom")

    ref = Fragile.start()
    with pytest.raises(ValueError, match="boom"):
        ref.ask("q", timeout=5)  # an ask gets the exception; the actor lives on
    ref.tell("t")  # a tell's exception stops the actor
    assert ref.actor_stopped.wait(5)


# ---- under the deterministic tester ------------------------------------------------------


class Counter(FSM, fsm.PooledActor):
    """Counts "inc" messages; "check" asserts a bound the test can violate."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.start_with("counting", 0)
        self.when("counting", self.counting)
        self.initialize()

    def counting(self, event: Event) -> State | None:
        match event.message:
            case "inc":
                if event.data >= self.limit:
                    raise AssertionError(f"counted past {self.limit}")
                return self.stay().using(event.data + 1)
            case "get":
                return self.stay().replying(event.data)
        return None


class Incrementer(FSM, fsm.PooledActor):
    def __init__(self, counter: pykka.ActorRef[Any], times: int) -> None:
        super().__init__()
        self.start_with("on", None)
        self.when("on", lambda event: self.stay())
        self.initialize()
        for _ in range(times):
            counter.tell("inc")


def pooled_overflow(runtime: testkit.Runtime) -> None:
    counter = Counter.start(limit=3)
    Incrementer.start(counter, 2)
    Incrementer.start(counter, 2)


def test_explore_runs_pooled_fsms_under_its_scheduler_and_replays_the_bug() -> None:
    report = testkit.explore(pooled_overflow, iterations=20, max_steps=200, seed=1)
    assert report.bug is not None and "counted past 3" in report.bug.message
    assert report.bug.actor == "Counter#1"
    again = testkit.replay(pooled_overflow, report.bug.trace)
    assert again.bug is not None and again.bug.message == report.bug.message


def test_deterministic_block_runs_pooled_fsms_and_plain_pooled_actors() -> None:
    ran_on: set[str] = set()

    class Where(fsm.PooledActor):
        def on_receive(self, message: Any) -> Any:
            ran_on.add(threading.current_thread().name)
            return message

    with testkit.deterministic(seed=1):
        probe = TestProbe()
        counter = Counter.start(limit=10)
        counter.tell("inc")
        counter.tell("inc")
        assert counter.ask("get") == 2
        assert Where.start().ask("echo") == "echo"
        probe.send(counter, "get")
        probe.expect_msg(2)
    assert not any(name.startswith("fsm-pool") for name in ran_on)


def test_pooled_false_gives_a_subclass_a_thread_of_its_own() -> None:
    class Own(fsm.PooledActor):
        pooled = False

        def on_receive(self, message: Any) -> Any:
            return threading.current_thread().name

    assert Own.start().ask("where", timeout=5).startswith("Own-")
    assert Recorder.start([]).ask("overlaps", timeout=5) == 0  # the pool still serves others
