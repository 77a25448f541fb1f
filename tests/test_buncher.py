"""FSMDocSpec: the Buncher from Akka's FSM documentation."""

from __future__ import annotations

import pykka
import pytest

from buncher_example import Batch, BuncherFSM, BuncherState, Flush, Queue, SetTarget, Todo
from buncher_example.__main__ import main
from testkit import TestFSMRef, TestProbe
from tests.bases import on


@pytest.mark.testkit(
    enabled=False,
    reason="Akka's test: Queue(43) must come within the Active state's 1 s timeout, which only "
    "real time promises (under the tester the timeout may fire first)",
)
def test_batch_correctly(actor_base: type[pykka.Actor], probe: TestProbe) -> None:
    buncher = on(actor_base, BuncherFSM).start()
    buncher.tell(SetTarget(probe.ref))
    buncher.tell(Queue(42))
    buncher.tell(Queue(43))
    probe.expect_msg(Batch((42, 43)))
    buncher.tell(Queue(44))
    buncher.tell(Flush())
    buncher.tell(Queue(45))
    probe.expect_msg(Batch((44,)))
    probe.expect_msg(Batch((45,)))


def test_batch_not_if_uninitialized(actor_base: type[pykka.Actor], probe: TestProbe) -> None:
    buncher = on(actor_base, BuncherFSM).start()
    buncher.tell(Queue(42))
    probe.expect_no_msg(timeout=0.3)


@pytest.mark.testkit(
    enabled=False,
    reason="asserts that a 60 s state timeout has not fired yet, true in real time; the "
    "tester fires a timer whenever the schedule lets it, which is what it explores",
)
def test_states_and_data_along_a_burst(actor_base: type[pykka.Actor], probe: TestProbe) -> None:
    buncher = TestFSMRef(on(actor_base, BuncherFSM), burst_timeout=60)
    assert buncher.state_name is BuncherState.IDLE
    assert buncher.state_data is None
    buncher.tell(SetTarget(probe.ref))
    assert buncher.state_data == Todo(probe.ref)
    buncher.tell(Queue(1))
    assert buncher.state_name is BuncherState.ACTIVE
    assert buncher.is_state_timer_active()
    buncher.tell(Flush())
    assert buncher.state_name is BuncherState.IDLE
    assert not buncher.is_state_timer_active()
    probe.expect_msg(Batch((1,)))


@pytest.mark.testkit(enabled=False, reason="the demo's main() runs on real threads and real time")
def test_demo_runs(capsys: object) -> None:
    assert main(["--burst-timeout", "0.2"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "[1, 2, 3, 4, 5]" in out
    assert "[6, 7, 8]" in out
    assert "[9]" in out
