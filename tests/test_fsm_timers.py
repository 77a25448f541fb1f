"""Akka 2.6 timers: single-shot, fixed delay, fixed rate; never a backlog of ticks.

Timings only bound things from one side (a loaded machine makes ticks later, never earlier),
so none of these tests depends on the machine being fast.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pykka
import pytest

import testkit
from fsm import FSM, Event, FSMError, State
from fsm._actor import _TimerFired
from fsm._timer_thread import TimerThread
from testkit import TestFSMRef, TestProbe
from tests.bases import on

REPEATING = ["start_timer_with_fixed_delay", "start_timer_at_fixed_rate", "set_timer"]


def start_timer(fsm: FSM, kind: str, name: str, msg: Any, delay: float) -> None:
    """Start a timer of `kind` (a REPEATING name; set_timer with repeat=True)."""
    if kind == "set_timer":
        fsm.set_timer(name, msg, delay, repeat=True)
    else:
        getattr(fsm, kind)(name, msg, delay)


class Record:
    """What a Ticker saw, shared with the test."""

    def __init__(self) -> None:
        self.gate = threading.Event()  # while clear, a tick's handler blocks on it
        self.gate.set()
        self.queued_ticks: list[int] = []  # ticks waiting in the inbox, at each handled tick
        self.spans: list[tuple[float, float]] = []  # (start, end) of each handled tick
        self.work = 0.0  # seconds each tick's handler takes


class Ticker(FSM):
    """Reports every message to `probe` and `record`; `("start", kind, name, msg, delay)`
    starts a timer; "block" makes the next tick's handler wait for `record.gate`."""

    def __init__(self, probe: pykka.ActorRef[Any] | None = None, record: Record | None = None):
        super().__init__()
        self.probe = probe
        self.record = record or Record()
        self.gate = self.record.gate
        self.queued_ticks = self.record.queued_ticks
        self.spans = self.record.spans
        self.start_with("on", None)
        self.when("on", self.on)
        self.initialize()

    def on(self, event: Event) -> State:
        match event.message:
            case ("start", kind, name, msg, delay):
                start_timer(self, kind, name, msg, delay)
            case ("cancel", name):
                self.cancel_timer(name)
            case "block":
                self.gate.clear()
            case msg:
                start = time.monotonic()
                self.gate.wait(10)
                time.sleep(self.record.work)
                self.queued_ticks.append(self._ticks_in_inbox())
                if self.probe is not None:
                    self.probe.tell(msg)
                self.spans.append((start, time.monotonic()))
        return self.stay()

    def _ticks_in_inbox(self) -> int:
        inbox: Any = self.actor_inbox
        threaded = hasattr(inbox, "mutex")  # a queue.Queue; else the pool's PoolInbox
        lock, items = (inbox.mutex, inbox.queue) if threaded else (inbox.lock, inbox.items)
        with lock:
            return sum(isinstance(env.message, _TimerFired) for env in items)


@pytest.mark.testkit(enabled=False, reason="measures real time (time.sleep)")
@pytest.mark.parametrize("kind", REPEATING)
def test_a_slow_receiver_never_has_a_backlog_of_ticks(
    actor_base: type[pykka.Actor], kind: str
) -> None:
    actor = Record()
    fsm = TestFSMRef(on(actor_base, Ticker), None, actor)
    fsm.tell("block")
    fsm.tell(("start", kind, "t", "tick", 0.005))
    time.sleep(0.3)  # ~60 intervals while the first tick's handler is blocked
    actor.gate.set()
    deadline = time.monotonic() + 5
    while len(actor.queued_ticks) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    fsm.tell(("cancel", "t"))
    assert len(actor.queued_ticks) >= 5
    assert actor.queued_ticks[0] == 0, "ticks piled up behind a handler that was blocked"
    assert max(actor.queued_ticks) == 0


@pytest.mark.testkit(enabled=False, reason="measures real time (time.sleep)")
def test_fixed_delay_measures_from_the_end_of_the_previous_tick(
    actor_base: type[pykka.Actor],
) -> None:
    actor = Record()
    actor.work = 0.03  # a fixed rate would start the next tick 0.02 s after this one ends
    fsm = TestFSMRef(on(actor_base, Ticker), None, actor)
    fsm.tell(("start", "start_timer_with_fixed_delay", "t", "tick", 0.05))
    deadline = time.monotonic() + 5
    while len(actor.spans) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    fsm.tell(("cancel", "t"))
    spans = list(actor.spans)
    assert len(spans) >= 4
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start - end >= 0.05 - 1e-3


@pytest.mark.testkit(enabled=False, reason="its handler sleeps to measure real time")
def test_single_timer_fires_once_and_accepts_a_timedelta(
    actor_base: type[pykka.Actor], probe: TestProbe
) -> None:
    fsm = TestFSMRef(on(actor_base, Ticker), probe.ref)
    fsm.start_single_timer("once", "ding", timedelta(milliseconds=20))
    assert fsm.is_timer_active("once")
    probe.expect_msg("ding")
    probe.expect_no_msg(timeout=0.2)
    assert not fsm.is_timer_active("once")


@pytest.mark.testkit(enabled=False, reason="its handler sleeps to measure real time")
@pytest.mark.parametrize("kind", ["start_timer_with_fixed_delay", "start_timer_at_fixed_rate"])
def test_repeating_timers_tick_until_cancelled(
    actor_base: type[pykka.Actor], kind: str, probe: TestProbe
) -> None:
    record = Record()
    fsm = TestFSMRef(on(actor_base, Ticker), probe.ref, record)
    getattr(fsm, kind)("t", "tick", timedelta(milliseconds=10))
    assert fsm.is_timer_active("t")
    probe.receive_n(3)
    fsm.cancel_timer("t")
    assert not fsm.is_timer_active("t")
    handled = len(record.spans)
    time.sleep(0.2)
    assert len(record.spans) == handled


@pytest.mark.testkit(enabled=False, reason="its handler sleeps to measure real time")
def test_the_same_name_replaces_a_timer_of_another_kind(
    actor_base: type[pykka.Actor], probe: TestProbe
) -> None:
    fsm = TestFSMRef(on(actor_base, Ticker), probe.ref)
    fsm.start_timer_with_fixed_delay("t", "old", 0.01)
    probe.expect_msg("old")
    fsm.start_single_timer("t", "new", 0.05)
    probe.fish_for_message(lambda msg: msg == "new")
    probe.expect_no_msg(timeout=0.2)
    assert not fsm.is_timer_active("t")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.start_single_timer("t", "x", -1), r"start_single_timer\('t'\).*negative"),
        (lambda f: f.start_single_timer("t", "x", None), "must be finite"),
        (lambda f: f.start_timer_with_fixed_delay("t", "x", 0), "must be > 0"),
        (lambda f: f.start_timer_with_fixed_delay("t", "x", "1s"), "number of seconds"),
        (lambda f: f.start_timer_at_fixed_rate("t", "x", timedelta(0)), "must be > 0"),
        (lambda f: f.start_timer_at_fixed_rate("t", "x", float("inf")), "must be finite"),
    ],
)
@pytest.mark.testkit(
    enabled=False, reason="checks an FSM's error, which the tester reports as a bug"
)
def test_bad_timer_durations_are_clear_errors(
    actor_base: type[pykka.Actor], call: Any, message: str
) -> None:
    fsm = TestFSMRef(on(actor_base, Ticker))
    with pytest.raises(FSMError, match=message):
        call(fsm)


# ---- under the deterministic tester ------------------------------------------------------


class VirtualTicker(FSM):
    """A repeating timer `kind` of 10 s and a single-shot timer at 10.5 s that moves the
    virtual clock; checks, at every tick, that no other tick waits and the spacing holds."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.last: float | None = None
        self.start_with("on", 0)
        self.when("on", self.on)
        self.initialize()
        start_timer(self, kind, "t", "tick", 10.0)
        self.start_single_timer("jump", "jump", 10.5)

    def on(self, event: Event) -> State:
        if event.message == "tick":
            waiting = [
                e
                for e in self.actor_inbox.items
                if isinstance(e.message, _TimerFired) and e.message.name == "t"
            ]
            assert not waiting, f"{len(waiting)} more tick(s) queued behind this one"
            now = time.monotonic()
            if self.kind == "start_timer_with_fixed_delay" and self.last is not None:
                assert now - self.last >= 10.0, f"tick {now - self.last:.1f} s after the last"
            self.last = now
            if event.data == 4:
                self.cancel_timer("t")
            return self.stay().using(event.data + 1)
        return self.stay()


@pytest.mark.parametrize("kind", REPEATING)
def test_under_the_tester_a_repeating_timer_never_queues_a_second_tick(
    actor_base: type[pykka.Actor], kind: str
) -> None:
    def test(runtime: testkit.Runtime) -> None:
        on(actor_base, VirtualTicker).start(kind)
        on(actor_base, VirtualTicker).start(kind)

    report = testkit.explore(test, iterations=50, max_steps=200, seed=1, timer_delay=0)
    assert report.bug is None, report.bug.headline() if report.bug else ""


def test_under_the_tester_fixed_rate_keeps_its_grid_where_fixed_delay_would_not(
    actor_base: type[pykka.Actor],
) -> None:
    """The spacing check of VirtualTicker holds for fixed delay (above) and fails for a
    fixed-rate timer in the schedules where the clock jumps before a tick is delivered."""

    class RateChecked(VirtualTicker, actor_base):
        def on(self, event: Event) -> State:
            if event.message == "tick":
                now = time.monotonic()
                assert self.last is None or now - self.last >= 10.0, "fixed-rate tick early"
                self.last = now
            return self.stay()

    def test(runtime: testkit.Runtime) -> None:
        RateChecked.start("start_timer_at_fixed_rate")

    report = testkit.explore(test, iterations=50, max_steps=200, seed=1, timer_delay=0)
    assert report.bug is not None and "fixed-rate tick early" in report.bug.message


# ---- the shared production timer thread falls behind -------------------------------------


@pytest.mark.testkit(enabled=False, reason="checks the production timer thread")
def test_a_late_timer_thread_warns_once_per_episode(caplog: pytest.LogCaptureFixture) -> None:
    timers = TimerThread()
    gate, holding = threading.Event(), threading.Event()
    fired: list[int] = []
    done = threading.Event()

    def late(i: int, last: int) -> None:
        fired.append(i)
        if i == last:
            done.set()

    caplog.set_level(logging.WARNING, logger="fsm.timers")
    timers.schedule(0, lambda: (holding.set(), gate.wait(10)))  # holds the thread meanwhile
    assert holding.wait(10)
    for i in range(20):  # 5 s in the past: all overdue, all served back to back
        timers.schedule(-5.0, lambda i=i: late(i, 19))
    gate.set()
    assert done.wait(10)
    warnings = [r for r in caplog.records if r.name == "fsm.timers"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    text = warnings[0].getMessage()
    assert "5." in text and "s late" in text and "20 timer(s) pending" in text
    assert "fixed_delay" in text

    done.clear()
    timers.schedule(-3.0, lambda: late(98, 99))  # still behind: no second warning
    timers.schedule(0.0, lambda: late(99, 99))
    assert done.wait(10)
    assert len([r for r in caplog.records if r.name == "fsm.timers"]) == 1
    for _ in range(50):  # a timer fired on time ends the episode (retried if the box stalls)
        done.clear()
        timers.schedule(0.0, lambda: late(99, 99))
        assert done.wait(10)
        if not timers._behind:
            break
    assert not timers._behind
    done.clear()
    timers.schedule(-3.0, lambda: late(100, 100))
    assert done.wait(10)
    warnings = [r for r in caplog.records if r.name == "fsm.timers"]
    assert len(warnings) == 2
    assert "3." in warnings[1].getMessage() and "1 timer(s) pending" in warnings[1].getMessage()


@pytest.mark.testkit(enabled=False, reason="checks the production timer thread")
def test_a_timer_thread_on_time_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    timers = TimerThread()
    done = threading.Event()
    caplog.set_level(logging.WARNING, logger="fsm.timers")
    for _ in range(20):
        timers.schedule(0.01, lambda: None)
    timers.schedule(0.02, done.set)
    assert done.wait(10)
    assert not [r for r in caplog.records if r.name == "fsm.timers"]
