"""`testkit.expect_logs` / `forbid_logs`: on threads, pooled, under `deterministic()` and
`explore`; the wait for records of actors still handling; exact counts; bad input."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pykka
import pytest

import testkit
from fsm import FSM, Event, State
from testkit import TestProbe, expect_logs, forbid_logs
from tests.bases import on
from tests.probe_actors import RUNTIMES, runtime


class Picky(FSM):
    """Keeps "ok" (and says "done" to a ("ok", ref)); anything else is unhandled (the default
    handler logs a warning); "info" logs at INFO; "fail" raises."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("idle", None)
        self.when("idle", self.idle)
        self.initialize()

    def idle(self, event: Event) -> State | None:
        match event.message:
            case "ok":
                return self.stay()
            case ("ok", ref):
                ref.tell("done")
                return self.stay()
            case "info":
                self.log.info("saw info %d", 1)
                return self.stay()
            case "fail":
                raise ValueError("handler failed")
        return None


PickyThread = on(pykka.ThreadingActor, Picky)


@pytest.fixture(params=["threading", "pooled"])
def picky(request: pytest.FixtureRequest) -> type[Any]:
    import fsm

    base = pykka.ThreadingActor if request.param == "threading" else fsm.PooledActor
    return on(base, Picky)


def test_a_warning_logged_on_the_actor_thread_after_the_block_is_waited_for(
    picky: type[Any],
) -> None:
    ref = picky.start()
    with expect_logs("WARNING", message="unhandled event 'junk'") as logs:
        ref.tell("junk")  # handled on another thread, maybe after the block ended
    assert [r.levelname for r in logs.records] == ["WARNING"]
    assert logs.records[0].name.endswith("Picky")


@pytest.mark.parametrize("kind", RUNTIMES)
def test_exact_count_passes_and_too_many_fails_with_what_was_logged(kind: str) -> None:
    with runtime(kind):
        ref = PickyThread.start()
        with expect_logs(message="unhandled", occurrences=2):
            ref.tell("a")
            ref.tell("b")
        with (
            pytest.raises(AssertionError) as failure,
            expect_logs(message="unhandled", occurrences=2, timeout=0.05),
        ):
            for message in ("c", "d", "e"):
                ref.tell(message)
            ref.ask("ok")  # on threads: the three were handled before the block ends
        text = str(failure.value)
        assert text.startswith("expect_logs: expected exactly 2 record(s)")
        assert "got 3" in text
        assert "WARNING tests.test_testkit_logs.Picky: unhandled event 'e'" in text


@pytest.mark.parametrize("kind", RUNTIMES)
def test_too_few_fails_listing_the_records_of_other_levels_and_messages(kind: str) -> None:
    with runtime(kind):
        ref = PickyThread.start()
        with (
            pytest.raises(AssertionError) as failure,
            expect_logs("INFO", message="never said", timeout=0.05),
        ):
            ref.tell("info")
            ref.ask("ok")
        text = str(failure.value)
        assert "at INFO or above with a message matching 'never\\\\ said', got 0" in text
        assert "INFO tests.test_testkit_logs.Picky: saw info 1" in text


def test_info_records_are_caught_though_the_root_level_is_warning() -> None:
    root = logging.getLogger()
    saved = root.level
    root.setLevel(logging.WARNING)
    try:
        ref = PickyThread.start()
        with expect_logs("info", message=re.compile(r"saw info \d")):
            ref.tell("info")
        assert root.level == logging.WARNING  # restored
    finally:
        root.setLevel(saved)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_logger_filter_takes_the_logger_and_its_children(kind: str) -> None:
    with runtime(kind):
        ref = PickyThread.start()
        with expect_logs(logger="tests.test_testkit_logs", message="unhandled"):
            ref.tell("x")
        with (
            pytest.raises(AssertionError, match="got 0"),
            expect_logs(logger="tests.test_testkit_log", timeout=0.05),  # not a parent
        ):
            ref.tell("y")
            ref.ask("ok")


@pytest.mark.parametrize("kind", RUNTIMES)
def test_forbid_logs_passes_when_nothing_matches_and_fails_when_something_does(
    kind: str,
) -> None:
    with runtime(kind):
        probe = TestProbe()
        ref = PickyThread.start()
        with forbid_logs("WARNING"):
            ref.tell(("ok", probe.ref))
            probe.expect_msg("done")
        with pytest.raises(AssertionError) as failure, forbid_logs("WARNING"):
            ref.tell("junk")
            ref.tell(("ok", probe.ref))
            probe.expect_msg("done")  # on threads: "junk" was handled before
        assert str(failure.value).startswith(
            "forbid_logs: expected no record at WARNING or above, got 1; "
        )
        assert "unhandled event 'junk'" in str(failure.value)


def test_forbid_logs_sees_the_error_of_a_failing_actor(picky: type[Any]) -> None:
    probe = TestProbe()
    # Pykka reports the failure on the actor's thread after the termination: waited for here,
    # or it may land in the next test's block
    with expect_logs("ERROR", logger="pykka", message="Unhandled exception in Picky"):
        ref = probe.watch(picky.start())
        with pytest.raises(AssertionError) as failure, forbid_logs("ERROR"):
            ref.tell("fail")
            probe.expect_terminated(ref)
    assert "terminating in state 'idle' due to ValueError('handler failed')" in str(failure.value)


def test_under_the_tester_the_scheduler_runs_until_quiescent_before_the_check() -> None:
    with testkit.deterministic(seed=3):
        ref = PickyThread.start()
        with pytest.raises(AssertionError, match="got 1"), forbid_logs():
            ref.tell("junk")  # nothing ran yet when the block ends
        with expect_logs(message="'late'"):
            ref.tell("late")


def _explored(runtime: testkit.Runtime) -> None:
    ref = PickyThread.start()
    with expect_logs(message="unhandled event 'x'"):
        ref.tell("x")
    with forbid_logs():
        ref.tell("ok")


def _explored_wrong(runtime: testkit.Runtime) -> None:
    ref = PickyThread.start()
    with expect_logs(message="unhandled", occurrences=2):
        ref.tell("x")


def test_under_explore_every_schedule_checks_the_same() -> None:
    assert testkit.explore(_explored, iterations=20, seed=1).bug is None
    report = testkit.explore(_explored_wrong, iterations=5, seed=1)
    assert report.bug is not None
    assert "expected exactly 2 record(s)" in report.bug.message


def test_an_exception_in_the_block_is_not_hidden_by_the_check() -> None:
    with pytest.raises(KeyError), expect_logs(message="never", timeout=5.0):
        raise KeyError("mine")


def test_records_from_a_plain_thread_count() -> None:
    import threading

    log = logging.getLogger("tests.plain_thread")
    with expect_logs("ERROR", logger=log):
        threading.Thread(target=log.error, args=("from %s", "a thread")).start()


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"level": "LOUD"}, ValueError, "unknown level name; use one of DEBUG, INFO, WARNING"),
        ({"level": True}, TypeError, "needs a level name or number"),
        ({"level": -1}, ValueError, "must be >= 0"),
        ({"logger": 3}, TypeError, "needs a logger name or a logging.Logger"),
        ({"message": b"x"}, TypeError, "needs a substring or a compiled regex"),
        ({"occurrences": -1}, ValueError, "occurrences=-1) must be >= 0"),
        ({"occurrences": 1.0}, TypeError, "needs an int"),
        ({"timeout": float("nan")}, ValueError, "must be a number >= 0"),
    ],
)
def test_bad_input_is_a_clear_error(
    kwargs: dict[str, Any], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=re.escape(text)):
        expect_logs(**kwargs)


def test_forbid_logs_bad_level_names_the_method() -> None:
    with pytest.raises(ValueError, match=r"forbid_logs\(level='warn-ish'\): unknown level"):
        forbid_logs("warn-ish")


@pytest.fixture(autouse=True)
def _no_handler_left() -> Iterator[None]:
    before = list(logging.getLogger().handlers)
    yield
    assert logging.getLogger().handlers == before


def test_forbid_logs_with_a_timeout_keeps_watching_after_the_block(picky: type[Any]) -> None:
    ref = picky.start()
    with (
        pytest.raises(AssertionError, match=r"got 1 \(waited up to 5s after the block\)"),
        forbid_logs(message="unhandled", timeout=5.0),  # the wait ends once the record came
    ):
        ref.tell("junk")
