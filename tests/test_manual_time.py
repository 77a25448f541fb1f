"""`testkit.ManualTime`: FSM timers of thread-per-actor and pooled FSMs follow a clock the test
moves with `time_passes`; `expect_no_msg_for`; misuse is a clear `TestkitError`. Nothing here
sleeps or depends on the machine's speed."""

from __future__ import annotations

import math
import threading
from datetime import timedelta
from typing import Any

import pykka
import pytest

import fsm
import testkit
from fsm import FSM, Event, State, StateTimeout, _timer_thread
from testkit import ManualTime, TestFSMRef, TestkitError, TestProbe, expect_no_msg_for
from tests.bases import on

pytestmark = pytest.mark.testkit(
    enabled=False,
    reason="ManualTime is for real threads (its use under the tester is tested here)",
)


class Door(FSM):
    """Closes itself 5 s after it was opened (a state timeout); tells `probe` each change.

    Messages: "open"; ("start", method, name, delay) starts a named timer whose message is
    name; a timer named "chain" starts a single timer "chained" of 0.5 s when it fires;
    ("cancel", name); "block" makes the next "tick" wait for `gate`.
    """

    def __init__(self, probe: pykka.ActorRef[Any], gate: threading.Event | None = None) -> None:
        super().__init__()
        self.probe = probe
        self.gate = gate
        self.blocked = False
        self.start_with("closed", None)
        self.when("closed", self.closed)
        self.when("open", self.opened, state_timeout=5.0)
        self.when_unhandled(self.anywhere)
        self.initialize()

    def closed(self, event: Event) -> State | None:
        if event.message == "open":
            self.probe.tell("opened")
            return self.goto("open")
        return None

    def opened(self, event: Event) -> State | None:
        if isinstance(event.message, StateTimeout):
            self.probe.tell("closed by timeout")
            return self.goto("closed")
        return None

    def anywhere(self, event: Event) -> State:
        match event.message:
            case ("start", "set_timer_repeat", name, delay):
                self.set_timer(name, name, delay, repeat=True)
            case ("start", method, name, delay):
                getattr(self, method)(name, name, delay)
            case ("cancel", name):
                self.cancel_timer(name)
            case "block":
                self.blocked = True
            case name:
                if self.blocked and self.gate is not None:
                    self.blocked = False
                    self.gate.wait(10)
                if name == "chain":
                    self.start_single_timer("chained", "chained", 0.5)
                self.probe.tell(name)
                if name == "last":
                    return self.stop()
        return self.stay()


def received(probe: TestProbe) -> list[Any]:
    """Every message already in the probe, without waiting."""
    got = []
    while (message := probe.receive_one(timeout=0)) is not None:
        got.append(message)
    return got


def settle(ref: pykka.ActorRef[Any]) -> None:
    """The actor handled what was sent to it before (a proxy read, answered in order)."""
    ref.ask(pykka.messages.ProxyGetAttr(attr_path=("actor_urn",)), timeout=5)


# ---- timers follow the manual clock ---------------------------------------------------------


def test_a_state_timeout_fires_when_its_time_has_passed(
    actor_base: type[pykka.Actor], manual_time: ManualTime, probe: TestProbe
) -> None:
    door = on(actor_base, Door).start(probe.ref)
    door.tell("open")
    probe.expect_msg("opened")
    expect_no_msg_for(probe, 4.9)
    manual_time.time_passes(0.1)
    assert received(probe) == ["closed by timeout"]
    assert manual_time.now == pytest.approx(5.0)


@pytest.mark.parametrize(
    "method, ticks",
    [
        ("start_single_timer", 1),
        ("set_timer", 1),
        ("set_timer_repeat", 3),
        ("start_timer_with_fixed_delay", 3),
        ("start_timer_at_fixed_rate", 3),
    ],
)
def test_named_timers_fire_once_per_interval_passed(
    actor_base: type[pykka.Actor],
    manual_time: ManualTime,
    probe: TestProbe,
    method: str,
    ticks: int,
) -> None:
    door = on(actor_base, Door).start(probe.ref)
    door.tell(("start", method, "tick", 1.0))
    settle(door)
    manual_time.time_passes(0.999)
    assert received(probe) == []
    manual_time.time_passes(timedelta(seconds=2.501))
    assert received(probe) == ["tick"] * ticks


def test_timers_fire_in_deadline_order_and_those_set_by_a_handler_fire_in_the_same_call(
    actor_base: type[pykka.Actor], manual_time: ManualTime, probe: TestProbe
) -> None:
    door = on(actor_base, Door).start(probe.ref)
    door.tell(("start", "start_single_timer", "late", 2.0))
    door.tell(("start", "start_single_timer", "chain", 1.0))  # sets "chained" at 1.5
    settle(door)
    manual_time.time_passes(3)
    assert received(probe) == ["chain", "chained", "late"]


def test_manual_time_is_exact_in_small_steps(
    manual_time: ManualTime, probe: TestProbe, actor_base: type[pykka.Actor]
) -> None:
    door = on(actor_base, Door).start(probe.ref)
    door.tell(("start", "start_single_timer", "tick", 0.3))
    settle(door)
    manual_time.time_passes(0.1)
    manual_time.time_passes(0.1)
    assert received(probe) == []
    manual_time.time_passes(0.1)  # 0.1 + 0.1 + 0.1 reaches 0.3 exactly
    assert received(probe) == ["tick"]


def test_a_cancelled_timer_never_fires_and_a_stopped_actor_does_not_hold_the_clock(
    actor_base: type[pykka.Actor], manual_time: ManualTime, probe: TestProbe
) -> None:
    door = on(actor_base, Door).start(probe.ref)
    door.tell(("start", "start_timer_at_fixed_rate", "tick", 1.0))
    door.tell(("cancel", "tick"))
    other = on(actor_base, Door).start(probe.ref)
    other.tell(("start", "start_single_timer", "never", 1.0))
    settle(door)
    settle(other)
    other.stop()
    manual_time.time_passes(5)
    assert received(probe) == []
    assert manual_time.pending == 0


def test_an_actor_stopping_on_its_timer_message_leaves_no_dead_letter_behind(
    actor_base: type[pykka.Actor], manual_time: ManualTime, probe: TestProbe
) -> None:
    letters = TestProbe("dead letters")
    fsm.dead_letters.subscribe(letters.ref)
    try:
        door = on(actor_base, Door).start(probe.ref)
        door.tell(("start", "start_single_timer", "last", 1.0))  # its handler stops the FSM
        settle(door)
        manual_time.time_passes(1)
        assert received(probe) == ["last"]
        assert not door.is_alive()
        assert received(letters) == []
    finally:
        fsm.dead_letters.unsubscribe(letters.ref)


def test_test_fsm_ref_timers_and_state_timeouts_follow_the_clock(
    manual_time: ManualTime, probe: TestProbe
) -> None:
    door = TestFSMRef(on(pykka.ThreadingActor, Door), probe.ref)
    door.ref.tell("open")
    assert door.state_name == "open" and door.is_state_timer_active()
    manual_time.time_passes(5)
    assert door.state_name == "closed"


def test_leaving_the_block_drops_its_timers_and_gives_timers_back_to_the_timer_thread(
    probe: TestProbe,
) -> None:
    with ManualTime() as clock:
        assert _timer_thread.current is clock
        door = on(pykka.ThreadingActor, Door).start(probe.ref)
        door.tell(("start", "start_single_timer", "tick", 1.0))
        settle(door)
        assert clock.pending == 1
    assert _timer_thread.current is _timer_thread.SHARED
    assert clock.pending == 0
    door.tell(("start", "start_single_timer", "real", 0.0))  # the real thread fires this one
    probe.expect_msg("real")


def test_expect_no_msg_for_fails_when_a_timer_sends_a_message(
    manual_time: ManualTime, probe: TestProbe, actor_base: type[pykka.Actor]
) -> None:
    door = on(actor_base, Door).start(probe.ref)
    door.tell(("start", "start_single_timer", "reminder", 1.0))
    settle(door)
    with pytest.raises(AssertionError, match=r"expected no message while 1 s .* got 'reminder'"):
        expect_no_msg_for(probe, 1)


# ---- bad input and misuse -------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, message",
    [
        (-1.0, r"time cannot go backwards, got -1\.0"),
        (math.nan, r"NaN"),
        (math.inf, r"infinite time"),
        (timedelta(seconds=-2), r"time cannot go backwards"),
        ("1", r"needs a number of seconds or a datetime\.timedelta, got '1'"),
        (True, r"got True"),
    ],
)
def test_time_passes_rejects_bad_amounts(
    manual_time: ManualTime, probe: TestProbe, amount: Any, message: str
) -> None:
    with pytest.raises(TestkitError, match=message):
        manual_time.time_passes(amount)
    with pytest.raises(TestkitError, match=message):
        expect_no_msg_for(probe, amount)
    assert manual_time.now == 0


def test_manual_time_blocks_cannot_be_nested_or_overlap(manual_time: ManualTime) -> None:
    with pytest.raises(TestkitError, match="cannot be nested or overlap"), ManualTime():
        pass
    outer = ManualTime()
    with pytest.raises(TestkitError, match="cannot be nested or overlap"):
        outer.__enter__()
    assert _timer_thread.current is manual_time


def test_a_manual_time_is_entered_once() -> None:
    clock = ManualTime()
    with clock, pytest.raises(TestkitError, match="is active: a ManualTime is entered once"):
        clock.__enter__()
    with pytest.raises(TestkitError, match="is closed: a ManualTime is entered once"):
        clock.__enter__()


def test_time_passes_outside_its_block_is_a_clear_error() -> None:
    clock = ManualTime()
    with pytest.raises(TestkitError, match=r"needs an active ManualTime, but this one is new"):
        clock.time_passes(1)
    with clock:
        pass
    with pytest.raises(TestkitError, match=r"this one is closed: use it as `with testkit"):
        clock.time_passes(1)


def test_expect_no_msg_for_needs_an_active_clock_and_a_probe(probe: TestProbe) -> None:
    with pytest.raises(TestkitError, match="none is active"):
        expect_no_msg_for(probe, 1)
    with ManualTime(), pytest.raises(TestkitError, match="needs a TestProbe, got 'probe'"):
        expect_no_msg_for("probe", 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, "3", True])
def test_handled_within_must_be_a_positive_number(value: Any) -> None:
    with pytest.raises(TestkitError, match=r"handled_within=\.\.\.\) needs a positive"):
        ManualTime(handled_within=value)


def test_manual_time_under_the_deterministic_tester_is_a_clear_error(probe: TestProbe) -> None:
    virtual = "under the deterministic tester time is virtual"
    with testkit.deterministic(seed=1), pytest.raises(TestkitError, match=virtual), ManualTime():
        pass
    with ManualTime() as clock, testkit.deterministic(seed=1):
        with pytest.raises(TestkitError, match=r"ManualTime\.time_passes is for actors on real"):
            clock.time_passes(1)
        with pytest.raises(TestkitError, match="time is virtual"):
            expect_no_msg_for(probe, 1)


def test_an_actor_that_does_not_handle_its_timer_message_is_named(probe: TestProbe) -> None:
    gate = threading.Event()
    with ManualTime(handled_within=0.2) as clock:
        door = on(pykka.ThreadingActor, Door).start(probe.ref, gate)
        door.tell("block")
        door.tell(("start", "start_single_timer", "tick", 1.0))
        settle(door)
        with pytest.raises(TestkitError, match=r"did not handle its timer message .*'tick'"):
            clock.time_passes(1)
        gate.set()
