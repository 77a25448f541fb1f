"""`deterministic()` keeps nothing back: what is due at the end of the block runs, and every
bug surfaces as a `BugFound` with its trace, also when the block is a fixture's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pykka
import pytest

import testkit
from fsm import FSM, Event, Monitor, State
from testkit import BugFound, TestkitError, TestProbe, deterministic

from . import buggy_systems as systems


class Picky(pykka.ThreadingActor):
    """Fails on "bad"; on "relay", tells "bad" to itself (a bug one message later)."""

    def on_receive(self, message: Any) -> Any:
        assert message != "bad", "Picky got a bad message"
        if message == "relay":
            self.actor_ref.tell("bad")
        return message


class Chatty(pykka.ThreadingActor):
    """Tells itself forever: never quiescent."""

    def on_receive(self, message: Any) -> None:
        self.actor_ref.tell(message)


class Alarm(FSM, pykka.ThreadingActor):
    """Ticks every second forever; "now" arms a timer due at once that fails the actor."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("on", 0)
        self.when("on", self.on)
        self.initialize()
        self.start_timer_at_fixed_rate("tick", "tick", 1.0)

    def on(self, event: Event) -> State | None:
        match event.message:
            case "tick":
                return self.stay().using(event.data + 1)
            case "now":
                self.start_single_timer("ring", "ring", 0.0)
                return self.stay()
            case "ring":
                raise AssertionError("the alarm rang")
        return None


class Never(Monitor):
    """Fails on any event."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("idle", None)
        self.when("idle", self.idle)
        self.initialize()

    def idle(self, event: Event) -> State | None:
        raise AssertionError("Never saw an event")


@contextmanager
def as_fixture(**settings: Any) -> Iterator[testkit.Runtime]:
    """The block as a pytest fixture runs it: entered before the test, left after it by
    `next()`, so that what the test raises never passes through the `with`."""
    block = deterministic(**settings)
    runtime = block.__enter__()
    try:
        yield runtime
    finally:
        block.__exit__(None, None, None)


def test_a_message_still_queued_at_the_end_runs_and_its_bug_is_found() -> None:
    with pytest.raises(BugFound) as caught, deterministic(seed=1):
        Picky.start().tell("bad")  # nobody waits for it
    message = str(caught.value)
    assert "Picky got a bad message" in message
    assert "at the end of the block" in message
    assert "deterministic(seed=1, strategy='random')" in message
    trace = caught.value.bug.trace
    assert isinstance(trace, testkit.Trace)
    assert [step.kind for step in trace.steps][-1] == "deliver"


def test_what_queued_messages_cause_at_the_end_runs_too() -> None:
    with pytest.raises(BugFound, match="Picky got a bad message"), deterministic(seed=2):
        Picky.start().tell("relay")


def test_a_clean_block_with_queued_messages_ends_quiescent() -> None:
    with deterministic(seed=1):
        ref = Picky.start()
        for _ in range(5):
            ref.tell("fine")
        replies = [ref.ask("fine", block=False) for _ in range(3)]
    assert all(reply.get() == "fine" for reply in replies)


def test_a_timer_due_now_fires_at_the_end_but_later_ticks_do_not() -> None:
    with pytest.raises(BugFound, match="the alarm rang"), deterministic(seed=1):
        Alarm.start().tell("now")


def test_a_periodic_timer_does_not_fail_a_clean_block() -> None:
    with deterministic(seed=1, max_steps=500) as runtime:
        ref = Alarm.start()
        probe = TestProbe()
        probe.await_cond(lambda: runtime.now >= 3.0)
        ref.tell("tick")
    assert runtime.now == pytest.approx(3.0, abs=1.0)  # the clock stopped with the block


def test_the_drain_at_the_end_is_bounded_by_max_steps() -> None:
    with pytest.raises(BugFound) as caught, deterministic(seed=1, max_steps=300):
        Chatty.start().tell("again")
    message = str(caught.value)
    assert "max_steps=300 reached while the messages still queued" in message
    assert caught.value.bug.kind == "bound"


def test_a_bug_in_a_probe_wait_of_a_fixture_block_is_a_bug_found() -> None:
    with as_fixture(seed=3):
        probe = TestProbe()
        Picky.start().tell("bad")
        with pytest.raises(BugFound) as caught:
            probe.expect_msg("never", timeout=1.0)
        assert "Picky got a bad message" in str(caught.value)
        assert caught.value.bug.trace.seed == 3
        # the run ended at the bug: waiting again says so again, with the same trace
        with pytest.raises(BugFound) as again:
            probe.expect_msg("never", timeout=1.0)
        assert again.value.bug is caught.value.bug


def test_a_bug_at_the_end_of_a_fixture_block_is_a_bug_found() -> None:
    with pytest.raises(BugFound, match="at the end of the block"), as_fixture(seed=1):
        Picky.start().tell("bad")


def test_a_deadlocked_wait_in_a_fixture_block_is_a_bug_found() -> None:
    with as_fixture(seed=1):
        promise = systems.Silent._create_future()
        systems.Silent.start().tell(("call me back", promise))
        with pytest.raises(BugFound) as caught:
            promise.get()
        assert caught.value.bug.kind == "deadlock"


def test_a_monitor_failing_on_an_event_from_the_block_is_a_bug_found() -> None:
    with as_fixture(seed=1) as runtime:
        runtime.register_monitor(Never)
        with pytest.raises(BugFound, match="Never saw an event"):
            runtime.monitor(Never, "anything")


def test_misuse_in_a_fixture_block_is_its_error_not_an_internal_exception() -> None:
    with as_fixture(seed=1) as runtime:
        before = time.monotonic()
        time.sleep(1)  # virtual time (issue 25 point 2): no longer misuse
        assert time.monotonic() - before == 1.0
        with pytest.raises(TestkitError, match="random_int"):
            runtime.random_int(0)
