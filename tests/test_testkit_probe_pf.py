"""`expect_msg_pf` (Akka's expectMsgPF) and the messages every failing expectation lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from testkit import TestProbe
from tests.probe_actors import RUNTIMES, Worker, runtime


@dataclass(frozen=True)
class Done:
    result: int


def positive_result(msg: Any) -> int | None:
    match msg:
        case Done(result) if result > 0:
            return result
    return None


@pytest.mark.parametrize("kind", RUNTIMES)
def test_expect_msg_pf_returns_what_the_function_returns(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe("client")
        worker = Worker.start()
        worker.tell(("tell", probe.ref, Done(42)))
        assert probe.expect_msg_pf(positive_result) == 42


@pytest.mark.parametrize("kind", RUNTIMES)
def test_expect_msg_pf_fails_when_the_first_message_does_not_match(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe("client")
        probe.ref.tell(Done(-1))
        probe.ref.tell(Done(7))  # a later match does not count: the first message must match
        with pytest.raises(AssertionError) as failure:
            probe.expect_msg_pf(positive_result)
        text = str(failure.value)
        assert "TestProbe('client')" in text
        assert "positive_result" in text
        assert "got Done(result=-1)" in text
        assert "returned None" in text
        assert probe.receive_one() == Done(7)


def test_a_raising_function_is_no_match_and_named_in_the_failure() -> None:
    probe = TestProbe("client")
    probe.ref.tell({"a": 1})
    with pytest.raises(AssertionError, match=r"raised KeyError\('b'\)") as failure:
        probe.expect_msg_pf(lambda msg: msg["b"])
    assert isinstance(failure.value.__cause__, KeyError)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_expect_msg_pf_fails_when_no_message_comes(kind: str) -> None:
    with runtime(kind), pytest.raises(AssertionError, match="no message came"):
        TestProbe().expect_msg_pf(positive_result, timeout=0.05)


def test_expect_msg_pf_needs_a_function() -> None:
    with pytest.raises(TypeError, match="expect_msg_pf needs a function"):
        TestProbe().expect_msg_pf(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", RUNTIMES)
def test_failures_list_the_messages_received_during_the_expectation(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe("p")
        for message in ("a", "b", "c"):
            probe.ref.tell(message)
        with pytest.raises(AssertionError) as failure:
            probe.expect_msg_all_of("a", "x", "y")
        assert "received during this expectation (3): ['a', 'b', 'c']" in str(failure.value)
        with pytest.raises(AssertionError) as failure:
            probe.receive_n(2, timeout=0.05)
        assert "received during this expectation: none" not in str(failure.value)
        assert "no message was received during this expectation" in str(failure.value)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_fish_and_single_message_expectations_list_what_they_took(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe("p")
        probe.ref.tell("skipped")
        with pytest.raises(AssertionError) as failure:
            probe.fish_for_message(lambda m: m == "wanted", timeout=0.05)
        assert "received during this expectation (1): ['skipped']" in str(failure.value)
        probe.ref.tell(3)
        with pytest.raises(AssertionError) as failure:
            probe.expect_msg_type(str)
        assert "received during this expectation (1): [3]" in str(failure.value)
        probe.ref.tell("late")
        with pytest.raises(AssertionError) as failure:
            probe.expect_no_msg()
        assert "['late']" in str(failure.value)


def test_a_long_listing_is_cut_and_counted() -> None:
    probe = TestProbe()
    for n in range(25):
        probe.ref.tell(n)
    with pytest.raises(AssertionError) as failure:
        probe.fish_for_message(lambda m: m == "never", timeout=0.05)
    assert "(25): [0, 1," in str(failure.value)
    assert "19, ... and 5 more]" in str(failure.value)


def test_a_passing_expectation_after_a_failing_one_starts_afresh() -> None:
    probe = TestProbe()
    probe.ref.tell("a")
    with pytest.raises(AssertionError):
        probe.expect_msg("b")
    probe.ref.tell("c")
    probe.ref.tell("d")
    with pytest.raises(AssertionError) as failure:
        probe.expect_msg("x")
    assert "['c']" in str(failure.value)
