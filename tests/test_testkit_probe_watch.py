"""Death watch: `Terminated(ref)` however an actor stops, on threads and under the tester."""

from __future__ import annotations

import pytest

from testkit import Terminated, TestProbe, deterministic, explore
from testkit._errors import QuiescentWait
from tests.probe_actors import RUNTIMES, Plain, Worker, runtime


@pytest.mark.parametrize("kind", RUNTIMES)
def test_terminated_when_the_fsm_returns_stop(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe()
        worker = probe.watch(Worker.start())
        worker.tell("stop")
        probe.expect_terminated(worker)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_terminated_when_stopped_from_outside(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe()
        worker = probe.watch(Worker.start())
        worker.stop()
        probe.expect_terminated(worker)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_terminated_at_once_when_already_dead(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe()
        worker = Worker.start()
        worker.stop()
        probe.watch(worker)
        probe.expect_terminated(worker)


@pytest.mark.testkit(
    enabled=False, reason="checks an actor's own failure, which the tester reports as a bug"
)
def test_terminated_when_the_fsm_fails() -> None:
    # Under the tester an exception in a handler is a bug found, so this runs on threads.
    probe = TestProbe()
    worker = probe.watch(Worker.start())
    worker.tell("boom")
    probe.expect_terminated(worker)


@pytest.mark.testkit(
    enabled=False,
    reason="its failure case checks an actor's own failure, which the tester reports as a bug",
)
@pytest.mark.parametrize("how", ["stop", "failure", "dead"])
def test_terminated_for_plain_threading_actors(how: str) -> None:
    probe = TestProbe()
    actor = Plain.start()
    if how == "dead":
        actor.stop()
    probe.watch(actor)
    if how == "stop":
        actor.stop()
    elif how == "failure":
        actor.tell("boom")
    probe.expect_terminated(actor)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_one_terminated_for_two_watches_and_each_probe_gets_one(kind: str) -> None:
    with runtime(kind):
        first, second = TestProbe("first"), TestProbe("second")
        worker = Worker.start()
        first.watch(worker)
        first.watch(worker)
        second.watch(worker)
        worker.stop()
        first.expect_terminated(worker)
        second.expect_terminated(worker)
        first.expect_no_msg(0.05)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_unwatch_drops_even_a_queued_terminated(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe()
        stopped, live = Worker.start(), Worker.start()
        probe.watch(stopped)
        probe.watch(live)
        stopped.stop(block=True)
        probe.unwatch(stopped)
        probe.unwatch(live)
        live.stop()
        probe.expect_no_msg(0.1)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_expect_terminated_without_watch_is_a_clear_error(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe("p")
        worker = Worker.start()
        with pytest.raises(AssertionError, match=r"TestProbe\('p'\).*call probe.watch\(ref\)"):
            probe.expect_terminated(worker)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_expect_terminated_names_what_came_instead(kind: str) -> None:
    with runtime(kind):
        probe = TestProbe("p")
        worker = probe.watch(Worker.start())
        probe.ref.tell("other")
        with pytest.raises(AssertionError, match=r"TestProbe\('p'\): expected Terminated\("):
            probe.expect_terminated(worker, timeout=0.5)


@pytest.mark.testkit(enabled=False, reason="checks a timeout on real threads")
def test_expect_terminated_of_a_live_actor_times_out_on_threads() -> None:
    probe = TestProbe("p")
    worker = probe.watch(Worker.start())
    with pytest.raises(AssertionError, match=r"waited for 0.05s for Terminated"):
        probe.expect_terminated(worker, timeout=0.05)


def test_expect_terminated_of_a_live_actor_is_a_deadlock_under_the_tester() -> None:
    with deterministic(seed=1):
        probe = TestProbe("p")
        worker = probe.watch(Worker.start())
        with pytest.raises(QuiescentWait, match="deadlock"):
            probe.expect_terminated(worker)  # default 3 s: no waiting, the schedule runs out


def never_stops(runtime: object) -> None:
    probe = TestProbe("watcher")
    worker = probe.watch(Worker.start())
    probe.expect_terminated(worker)


def stops(runtime: object) -> None:
    probe = TestProbe("watcher")
    worker = probe.watch(Worker.start())
    worker.tell("count")
    worker.tell("stop")
    probe.expect_terminated(worker)


def test_explore_reports_a_wait_for_a_never_stopping_actor_as_deadlock() -> None:
    report = explore(never_stops, iterations=3, seed=1)
    assert report.bug is not None and report.bug.kind == "deadlock"
    assert "TestProbe('watcher')" in report.bug.message
    assert explore(stops, iterations=30, seed=1).bug is None


def test_watch_needs_an_actor_ref() -> None:
    probe = TestProbe("p")
    with pytest.raises(TypeError, match=r"pass probe.ref for a probe"):
        probe.watch(TestProbe())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Terminated"):
        Terminated("x")  # type: ignore[arg-type]
