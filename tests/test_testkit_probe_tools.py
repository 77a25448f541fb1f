"""ignore_msg, receive_while, await_*, senders, remaining, TestFSMRef's underlying_actor and
get_log: what they do and the clear errors for misuse, on threads and under the tester."""

from __future__ import annotations

import pytest

from fsm import FSMError, LogEntry
from testkit import TestFSMRef, TestProbe, deterministic
from testkit._errors import QuiescentWait
from tests.probe_actors import RUNTIMES, Logged, Worker, runtime


@pytest.mark.parametrize("kind", RUNTIMES)
def test_ignore_no_msg_stops_ignoring(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe()
        probe.ignore_msg(lambda m: isinstance(m, int))
        probe.ref.tell(1)
        probe.ref.tell("a")
        probe.expect_msg("a")
        probe.ignore_no_msg()
        probe.ref.tell(2)
        probe.expect_msg(2)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_ignored_messages_are_not_seen_by_receive_while_or_fish(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe()
        probe.ignore_msg(lambda m: m == "tick")
        for msg in ("tick", 1, "tick", 2, "end"):
            probe.ref.tell(msg)
        assert probe.receive_while(lambda m: m != "end") == [1, 2]
        assert probe.fish_for_message(lambda m: m == "end") == "end"


@pytest.mark.parametrize("kind", RUNTIMES)
def test_receive_while_collects_messages_told_by_an_fsm(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe()
        worker = Worker.start()
        for n in range(3):
            worker.tell(("tell", probe.ref, n))
        assert probe.receive_while(lambda m: True, max=1, messages=3) == [0, 1, 2]
        assert probe.last_sender == worker


def test_receive_while_stops_when_max_runs_out_on_threads() -> None:
    probe = TestProbe()
    assert probe.receive_while(lambda m: True, max=0.05) == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"messages": -1}, "must be >= 0"),
        ({"messages": 1.5}, "needs an int"),
        ({"max": -1}, "must not be negative"),
    ],
)
def test_receive_while_rejects_bad_arguments(kwargs: dict[str, float], error: str) -> None:
    probe = TestProbe("p")
    with pytest.raises((TypeError, ValueError, AssertionError), match=error):
        probe.receive_while(lambda m: True, **kwargs)  # type: ignore[arg-type]


def test_probe_functions_must_be_callable() -> None:
    probe = TestProbe("p")
    for method in (probe.ignore_msg, probe.receive_while, probe.await_cond, probe.await_assert):
        with pytest.raises(TypeError, match=r"TestProbe\('p'\): \w+ needs a function"):
            method(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="interval"):
        probe.await_cond(lambda: True, interval=0)


@pytest.mark.testkit(enabled=False, reason="checks a timeout on real threads")
def test_await_cond_times_out_on_threads() -> None:
    probe = TestProbe("p")
    with pytest.raises(AssertionError, match=r"TestProbe\('p'\): await_cond: timeout 0.05s"):
        probe.await_cond(lambda: False, max=0.05, interval=0.01)


def test_await_assert_raises_the_last_failure_on_threads() -> None:
    probe = TestProbe("p")

    def fails() -> None:
        raise AssertionError("still 2")

    with pytest.raises(AssertionError, match="last failure: still 2") as info:
        probe.await_assert(fails, max=0.05, interval=0.01)
    assert str(info.value.__cause__) == "still 2"


def test_await_cond_never_true_is_a_deadlock_under_the_tester() -> None:
    with deterministic(seed=1):
        probe = TestProbe("p")
        fsm = TestFSMRef(Worker)
        fsm.tell("count")
        with pytest.raises(QuiescentWait, match=r"await_cond: the system became quiescent"):
            probe.await_cond(lambda: fsm.state_data == 5)  # no sleeping: the schedule runs out


def test_await_assert_at_quiescence_names_the_last_failure_under_the_tester() -> None:
    with deterministic(seed=1):
        probe = TestProbe("p")
        fsm = TestFSMRef(Worker)

        def is_five() -> None:
            assert fsm.state_data == 5, f"data {fsm.state_data}"

        with pytest.raises(QuiescentWait, match=r"last failure: data 0"):
            probe.await_assert(is_five)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_last_sender_of_a_reply_is_the_replying_actor(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe()
        worker = Worker.start()
        assert probe.last_sender is None
        probe.send(worker, ("reply", "pong"))
        probe.expect_msg("pong")
        assert probe.last_sender == worker
        probe.ref.tell("from the test")
        probe.expect_msg("from the test")
        assert probe.last_sender is None


@pytest.mark.parametrize("kind", RUNTIMES)
def test_reply_to_an_fsm_tells_it(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe()
        fsm = TestFSMRef(Worker)
        fsm.tell(("tell", probe.ref, "hi"))
        probe.expect_msg("hi")
        probe.reply("count")  # tells the FSM, which counts it
        assert fsm.state_data == 1


def test_reply_and_forward_need_a_last_message() -> None:
    probe = TestProbe("p")
    with pytest.raises(AssertionError, match=r"TestProbe\('p'\): reply\('x'\) needs"):
        probe.reply("x")
    with pytest.raises(AssertionError, match=r"forward.*needs a last message"):
        probe.forward(TestProbe().ref)


def test_remaining_is_akkas_only_inside_within() -> None:
    probe = TestProbe("p")
    with pytest.raises(AssertionError, match="only be read inside"):
        _ = probe.remaining
    assert probe.remaining_or_default == 3.0
    with probe.within(2):
        assert 1.0 < probe.remaining <= 2.0
        assert probe.receive_one(0.01) is None


@pytest.mark.parametrize("kind", RUNTIMES)
def test_receive_one_returns_the_next_message_or_none(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe()
        probe.ref.tell("one")
        assert probe.receive_one(0.5) == "one"
        assert probe.receive_one(0.01) is None


@pytest.mark.parametrize("kind", RUNTIMES)
def test_testfsmref_underlying_actor_and_get_log(kind: str) -> None:
    with runtime(kind):
        fsm = TestFSMRef(Logged)
        fsm.tell("x")
        fsm.tell("y")
        assert fsm.get_log() == [LogEntry("a", 0, "x"), LogEntry("b", 1, "y")]
        assert isinstance(fsm.underlying_actor, Logged)
        assert fsm.underlying_actor.state_data == 2


def test_get_log_of_an_fsm_without_log_is_a_clear_error() -> None:
    fsm = TestFSMRef(Worker)
    with pytest.raises(FSMError, match="keeps no log; make it a LoggingFSM"):
        fsm.get_log()
