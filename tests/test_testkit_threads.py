"""TestProbe and TestFSMRef with real Pykka threads (TestFSMRefSpec and TestKit behaviours)."""

from __future__ import annotations

import time
from typing import Any

import pykka
import pytest

from fsm import FSM, Event, State, StateTimeout
from testkit import TestFSMRef, TestProbe
from tests.bases import on


class Numbers(FSM):
    """TestFSMRefSpec's machine: 1 --"go"--> 2 --"back"--> 1; a timeout in 1 goes to 2."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with(1, "")
        self.when(1, self.one)
        self.when(2, self.two)
        self.initialize()

    def one(self, event: Event) -> State | None:
        match event.message:
            case "go":
                return self.goto(2).using("go")
            case StateTimeout():
                return self.goto(2).using("timeout")
        return None

    def two(self, event: Event) -> State | None:
        if event.message == "back":
            return self.goto(1).using("back")
        return None


def test_allow_access_to_state_data(actor_base: type[pykka.Actor]) -> None:
    fsm = TestFSMRef(on(actor_base, Numbers))
    assert (fsm.state_name, fsm.state_data) == (1, "")
    fsm.tell("go")
    assert (fsm.state_name, fsm.state_data) == (2, "go")
    fsm.set_state(1)
    assert (fsm.state_name, fsm.state_data) == (1, "go")
    fsm.set_state(1, data="buh")
    assert (fsm.state_name, fsm.state_data) == (1, "buh")
    started = time.monotonic()
    fsm.set_state(1, timeout=0.1)
    assert fsm.is_state_timer_active()
    while fsm.state_name != 2:
        assert time.monotonic() - started < 5, "the state timeout set by set_state never fired"
        time.sleep(0.01)
    assert time.monotonic() - started >= 0.09
    assert fsm.state_data == "timeout"


def test_allow_access_to_timers(actor_base: type[pykka.Actor]) -> None:
    fsm = TestFSMRef(on(actor_base, Numbers))
    assert not fsm.is_timer_active("test")
    fsm.set_timer("test", 12, 0.01, repeat=True)
    assert fsm.is_timer_active("test")
    fsm.cancel_timer("test")
    assert not fsm.is_timer_active("test")


def test_set_state_to_an_undeclared_state_is_a_clear_error(actor_base: type[pykka.Actor]) -> None:
    fsm = TestFSMRef(on(actor_base, Numbers))
    with pytest.raises(Exception, match="has no when"):
        fsm.set_state(99)
    assert fsm.state_name == 1


# ---- TestProbe ------------------------------------------------------------------------------


class Echo:
    """A plain actor (no FSM): `on(base, Echo)`."""

    def on_receive(self, message: Any) -> Any:
        return ("echo", message)


def test_expectations_pass(probe: TestProbe) -> None:
    for message in (1, "two", 3.0, 4, 5, 6, 7, 8):
        probe.ref.tell(message)
    assert probe.expect_msg(1) == 1
    assert probe.expect_msg_type(str) == "two"
    assert probe.expect_msg_any_of(2.0, 3.0) == 3.0
    assert sorted(probe.expect_msg_all_of(5, 4)) == [4, 5]
    assert probe.receive_n(2) == [6, 7]
    assert probe.fish_for_message(lambda m: m == 8) == 8
    probe.expect_no_msg(0.05)


@pytest.mark.parametrize(
    "check, message",
    [
        (lambda p: p.expect_msg(2), "expected 2, got 1"),
        (lambda p: p.expect_msg_type(str), "expected a message of type <class 'str'>, got 1"),
        (lambda p: p.expect_msg_any_of(5, 6), r"expected any of \(5, 6\), got 1"),
        (lambda p: p.expect_msg_all_of(1, 9), r"missing \[9\], unexpected \[2\]"),
        (lambda p: p.expect_no_msg(0.05), "expected no message, got 1"),
        (lambda p: p.receive_n(3, timeout=0.1), r"expected 3 messages, got only 2: \[1, 2\]"),
        (
            lambda p: p.fish_for_message(lambda m: m == 7, timeout=0.1),
            r"no matching message; skipped \[1, 2\]",
        ),
    ],
)
def test_expectations_fail_with_expected_and_received(check: Any, message: str) -> None:
    probe = TestProbe()
    probe.ref.tell(1)
    probe.ref.tell(2)
    with pytest.raises(AssertionError, match=message):
        check(probe)


def test_expect_msg_times_out_with_a_clear_message() -> None:
    probe = TestProbe("target")
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"TestProbe\('target'\): waited for 0.2s for 'x'"):
        probe.expect_msg("x", timeout=0.2)
    assert time.monotonic() - started >= 0.19


def test_send_delivers_the_reply_to_the_probe(
    actor_base: type[pykka.Actor], probe: TestProbe
) -> None:
    echo = on(actor_base, Echo).start()
    probe.send(echo, "hi")
    probe.expect_msg(("echo", "hi"))
    fsm = TestFSMRef(on(actor_base, Numbers))
    probe.send(fsm.ref, "go")  # no replying(): nothing lands
    probe.expect_no_msg(0.1)


def test_reply_answers_an_ask(probe: TestProbe) -> None:
    future = probe.ref.ask("question", block=False)
    probe.expect_msg("question")
    probe.reply("answer")
    assert future.get(timeout=3) == "answer"


def test_reply_without_an_ask_is_an_assertion_error(probe: TestProbe) -> None:
    probe.ref.tell("told")
    probe.expect_msg("told")
    with pytest.raises(AssertionError, match="needs a last message sent with ask"):
        probe.reply("answer")


def test_within_bounds_the_block_and_default_timeouts(probe: TestProbe) -> None:
    with probe.within(0, 2):
        probe.ref.tell("quick")
        probe.expect_msg("quick")
    with pytest.raises(AssertionError, match=r"expected at least 0\.5s"), probe.within(0.5, 2):
        pass
    started = time.monotonic()
    with pytest.raises(AssertionError, match="no message came"), probe.within(0.3):
        probe.expect_msg("never")  # waits only for what is left of 0.3 s, not 3 s
    assert time.monotonic() - started < 2


def test_within_rejects_bad_bounds(probe: TestProbe) -> None:
    with pytest.raises(AssertionError, match="need 0 <= min <= max"), probe.within(2, 1):
        pass


def test_negative_timeout_is_rejected(probe: TestProbe) -> None:
    with pytest.raises(AssertionError, match="timeout must not be negative"):
        probe.expect_msg("x", timeout=-1)
