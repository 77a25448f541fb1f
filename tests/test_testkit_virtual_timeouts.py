"""A wait with a timeout under the tester is virtual time: `future.get(timeout=5)` in a handler
or the test function parks it; if the value has not come when nothing else can run, virtual
time moves on by the timeout and `pykka.Timeout` is raised, a step of the trace, never a real
wait. (Virtual seconds are read with `time.time()`, which follows the virtual clock.)"""

from __future__ import annotations

import time
from typing import Any

import pykka
import pytest

import testkit
from fsm import FSM, Event, State
from testkit import Runtime, TestProbe


class Impatient(FSM, pykka.ThreadingActor):
    """Asked "go", it waits `patience` s for something that may never come and replies with
    what it got, or with the virtual seconds it waited before `pykka.Timeout`."""

    def __init__(self, how: str, patience: float = 5.0, peer: Any = None) -> None:
        super().__init__()
        self.how = how
        self.patience = patience
        self.peer = peer
        self.start_with("ready", None)
        self.when("ready", self.ready)
        self.initialize()

    def ready(self, event: Event) -> State | None:
        before = time.time()
        try:
            if self.how == "ask":  # a probe that never answers
                value = self.peer.ask("never answered", timeout=self.patience)
            elif self.how == "threading":  # a future nobody sets
                value = pykka.ThreadingFuture[Any]().get(timeout=self.patience)
            else:  # a future handed to a peer actor, which sets it
                future = pykka.ThreadingFuture[Any]()
                self.peer.tell(future)
                value = future.get(timeout=self.patience)
        except pykka.Timeout:
            value = time.time() - before
        return self.stay().replying(value)


class Setter(pykka.ThreadingActor):
    """Sets every future it is told."""

    def on_receive(self, message: Any) -> None:
        message.set("set by Setter")


def _reply(how: str, peer: Any = None, patience: float = 5.0) -> Any:
    """What an `Impatient` replies, in every iteration (the same each time)."""
    replies: set[Any] = set()

    def test(runtime: Runtime) -> None:
        target = peer() if callable(peer) else peer
        replies.add(Impatient.start(how, patience, target).ask("go"))

    report = testkit.explore(test, iterations=3, seed=1, shrink=False)
    assert report.bug is None, report
    assert len(replies) == 1, replies
    return replies.pop()


def test_a_handlers_ask_with_a_timeout_waits_virtual_seconds() -> None:
    assert _reply("ask", lambda: TestProbe("silent").ref) == 5.0


def test_a_handlers_wait_on_a_threading_future_is_virtual_too() -> None:
    # it used to wait 5 real seconds per iteration (and per replay), the clock standing still
    assert _reply("threading") == 5.0


def test_a_threading_future_set_by_another_actor_wakes_the_waiting_handler() -> None:
    assert _reply("handed", lambda: Setter.start()) == "set by Setter"


def test_the_earliest_timeout_ends_first() -> None:
    def test(runtime: Runtime) -> None:
        probe = TestProbe("silent")
        slow = Impatient.start("ask", 5.0, probe.ref).ask("go", block=False)
        quick = Impatient.start("ask", 2.0, probe.ref).ask("go", block=False)
        assert (quick.get(), slow.get()) == (2.0, 5.0)
        assert time.time() - 1_767_225_600 == 5.0  # 2026-01-01 (virtual zero) + 5 s

    report = testkit.explore(test, iterations=20, seed=2, shrink=False)
    assert report.bug is None, report


def test_the_test_functions_get_with_a_timeout_is_virtual_time() -> None:
    def test(runtime: Runtime) -> None:
        probe = TestProbe("silent")
        ref = Impatient.start("ask", 5.0, probe.ref)
        before = time.time()
        with pytest.raises(pykka.Timeout):
            ref.ask("go", timeout=3.0)  # the actor waits 5 s: the test gives up at 3
        assert time.time() - before == 3.0

    report = testkit.explore(test, iterations=5, seed=1, shrink=False)
    assert report.bug is None, report


def test_a_timeout_is_a_step_that_replays_exactly() -> None:
    def test(runtime: Runtime) -> None:
        waited = Impatient.start("threading", 5.0).ask("go")
        assert waited != 5.0, "gave up after 5 s"

    report = testkit.explore(test, iterations=3, seed=1, shrink=False)
    bug = report.bug
    assert bug is not None and "gave up after 5 s" in bug.message
    assert any(step.kind == "resume" and "timeout" in step.detail for step in bug.trace.steps)
    replayed = testkit.replay(test, bug.trace).bug
    assert replayed is not None and replayed.headline() == bug.headline()
