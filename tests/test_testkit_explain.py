"""Explaining a bug: the causal slice, the decisive change, the words, the passing trace, the
picture's new elements, shrinking that keeps the story, and bad input."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pykka
import pytest

import testkit
from blocking_examples import playback
from fsm import FSM, Event, Monitor, State
from testkit import TestkitError, Trace
from testkit._cli import main
from testkit._exploration.diagrams import record
from testkit._pictures.sequence_page import page_data
from tests import buggy_systems as systems


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture(scope="module")
def lost_update() -> testkit.Bug:
    report = testkit.explore(
        systems.lost_update, iterations=100, max_steps=500, strategy="random", seed=1
    )
    assert report.bug is not None
    return report.bug


@pytest.fixture(scope="module")
def deadlock() -> testkit.Bug:
    report = testkit.explore(playback.execute, iterations=100, seed=1)
    assert report.bug is not None and report.bug.kind == "deadlock"
    return report.bug


# ---- the slice, the decisive change, the words ------------------------------------------


def test_explain_names_the_race_and_gives_the_passing_trace(lost_update: testkit.Bug) -> None:
    why = lost_update.explain(systems.lost_update)
    assert isinstance(why, testkit.Explanation) and why.complete
    steps = lost_update.trace.steps
    assert why.failing_step == steps[-1]
    assert why.slice[-1] == why.failing_step  # in order, the failing step last
    assert [s.index for s in why.slice] == sorted(s.index for s in why.slice)
    assert set(why.slice) <= set(steps) and len(why.slice) < len(steps)
    change = why.decisive
    assert isinstance(change, testkit.Change) and change.in_slice
    assert change.text == (
        "fails when `Read(Incrementer#2)` from Incrementer#2 reaches `Register#1` (in state "
        "'ready') before `Write(1)` from Incrementer#1 reaches it; passes when they are the "
        "other way round"
    )
    assert all(steps[i].actor == "Register#1" for i in change.steps)
    assert change.text in why.text and "lost update" in why.text
    passing = why.passing
    assert isinstance(passing, Trace) and not passing.bug
    with pytest.raises(TestkitError, match="no bug happened"):
        testkit.replay(systems.lost_update, passing)  # it replays exactly, without the bug
    assert [passing.steps[i].actor for i in change.passing_steps] == ["Register#1"] * 2


def test_a_deadlock_is_explained_by_the_order_of_two_calls(deadlock: testkit.Bug) -> None:
    why = deadlock.explain(playback.execute)
    assert why.decisive is not None
    assert why.decisive.text == (
        "fails when `play()` from test reaches `Core#1` first; passes when `current_track()` "
        "from Library#1 reaches it first"
    )
    kinds = {step.kind for step in why.slice}
    assert "wait" in kinds  # both waits of the cycle are what it is about
    waits = [s for s in deadlock.trace.steps if s.kind == "wait"]
    assert set(waits) <= set(why.slice)


@dataclass(frozen=True)
class Inc:
    pass


@dataclass(frozen=True)
class Check:
    expected: int


@dataclass(frozen=True)
class Ping:
    left: int


class Counter(FSM, pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.start_with("counting", 0)
        self.when("counting", self.counting)
        self.initialize()

    def counting(self, event: Event) -> State | None:
        match event:
            case Event(Inc(), n):
                return self.stay().using(n + 1)
            case Event(Check(expected), n):
                assert n == expected, f"counted {n}, expected {expected}"
                return self.stay()
        return None


class Sender(FSM, pykka.ThreadingActor):
    def __init__(self, counter: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.counter = counter
        self.start_with("idle", None)
        self.when("idle", lambda event: self.stay())
        self.initialize()

    def on_start(self) -> None:
        self.counter.tell(Inc())


class Noise(FSM, pykka.ThreadingActor):
    """Talks to itself, unrelated to anything else."""

    def __init__(self) -> None:
        super().__init__()
        self.pings = 0
        self.start_with("on", None)
        self.when("on", self.on)
        self.initialize()

    def on(self, event: Event) -> State | None:
        match event.message:
            case Ping(left) if left > 0:
                self.pings += 1
                self.actor_ref.tell(Ping(left - 1))
        return self.stay()


def racy_check(runtime: testkit.Runtime) -> None:
    counter = Counter.start()
    Noise.start().tell(Ping(6))
    Sender.start(counter)
    counter.tell(Check(1))


def test_the_slice_leaves_out_what_the_failure_does_not_depend_on() -> None:
    report = testkit.explore(racy_check, iterations=200, seed=2, shrink=False)
    bug = report.bug
    assert bug is not None
    noise = [s for s in bug.trace.steps if s.actor == "Noise#1" and s.kind == "deliver"]
    assert noise, "the found trace has the unrelated chatter in it"
    why = bug.explain(racy_check)
    assert not any(step.actor == "Noise#1" for step in why.slice)
    assert why.decisive is not None and "`Inc` from Sender#1" in why.decisive.text


def test_a_budget_that_runs_out_gives_a_partial_explanation(lost_update: testkit.Bug) -> None:
    why = lost_update.explain(systems.lost_update, time_budget=1e-9)
    assert why.decisive is None and why.passing is None and not why.complete
    assert why.slice  # the slice needs one replay only: it is always there
    assert any("time budget" in item for item in why.undecided)
    assert "Could not decide which change makes the run pass" in why.text


# ---- bad input -----------------------------------------------------------------------------


def test_a_trace_that_does_not_fail_cannot_be_explained(lost_update: testkit.Bug) -> None:
    why = lost_update.explain(systems.lost_update)
    assert why.passing is not None
    from testkit._explaining.explanation import explain_trace

    with pytest.raises(TestkitError, match="without a bug"):
        explain_trace(systems.lost_update, why.passing)


def test_a_trace_of_another_test_is_refused(lost_update: testkit.Bug) -> None:
    with pytest.raises(TestkitError, match=r"recorded for tests\.buggy_systems:lost_update"):
        lost_update.explain(systems.timer_race)


@pytest.mark.parametrize("budget", [0, -1.0, "5", True, None])
def test_a_bad_budget_is_a_clear_error(lost_update: testkit.Bug, budget: Any) -> None:
    with pytest.raises(TestkitError, match="time_budget must be a number of seconds > 0"):
        lost_update.explain(systems.lost_update, time_budget=budget)


def test_a_bug_without_a_trace_says_so() -> None:
    with pytest.raises(TestkitError, match="no trace"):
        testkit.Bug("safety", "boom", "A#1").explain(systems.lost_update)


# ---- the command line ------------------------------------------------------------------------


def test_cli_explain_prints_why_and_writes_the_passing_trace_and_the_page(
    lost_update: testkit.Bug, tmp_path: Path
) -> None:
    path = lost_update.trace.save(tmp_path / "bug.trace")
    out = io.StringIO()
    assert main(["explain", "tests.buggy_systems:lost_update", str(path)], out) == 1
    text = out.getvalue()
    assert "why:" in text and "passes when they are the other way round" in text
    assert "slice: " in text
    passing = Trace.load(tmp_path / "bug.passing.trace")
    assert not passing.bug
    page = (tmp_path / "bug.explained.html").read_text()
    assert 'id="explanation"' in page and 'id="passing"' in page


def test_cli_explain_of_a_passing_trace_is_exit_2(lost_update: testkit.Bug, tmp_path: Path) -> None:
    passing = lost_update.explain(systems.lost_update).passing
    assert passing is not None
    path = passing.save(tmp_path / "ok.trace")
    out = io.StringIO()
    assert main(["explain", "tests.buggy_systems:lost_update", str(path)], out) == 2
    assert "without a bug" in out.getvalue()


def test_cli_test_prints_the_explanation_after_the_bug(tmp_path: Path) -> None:
    out = io.StringIO()
    argv = ["test", "tests.buggy_systems:lost_update", "-j", "1", "--seed", "1", "-s", "random"]
    code = main([*argv, "--max-steps", "500", "--trace-out", str(tmp_path), "--no-progress"], out)
    assert code == 1
    text = out.getvalue()
    assert "why:\n  It fails when" in text and "causal slice" in text
    assert text.index("trace written to") < text.index("why:")


# ---- shrinking keeps the story -----------------------------------------------------------------


@dataclass(frozen=True)
class Go:
    pass


class Boom(FSM, pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.start_with("armed", None)
        self.when("armed", self.armed)
        self.initialize()

    def armed(self, event: Event) -> State | None:
        assert not isinstance(event.message, Go), "boom"
        return None


class Idle(FSM, pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.start_with("idle", None)
        self.when("idle", lambda event: self.stay())
        self.initialize()


def stop_then_boom(runtime: testkit.Runtime) -> None:
    idle = Idle.start()
    idle.stop(block=False)
    Boom.start().tell(Go())


def test_shrink_keeps_the_kinds_of_step_asked_for_and_says_what_it_dropped() -> None:
    report = testkit.explore(stop_then_boom, iterations=50, seed=1, shrink=False)
    bug = report.bug
    assert bug is not None and any(s.kind == "stop" for s in bug.trace.steps)
    plain = testkit.shrink(stop_then_boom, bug.trace)
    assert not any(s.kind == "stop" for s in plain.steps)  # the bug needs no stop
    kept = testkit.shrink(stop_then_boom, bug.trace, keep=("stop",))
    assert [s.actor for s in kept.steps if s.kind == "stop"] == ["Idle#1"]
    assert len(plain) <= len(kept) <= len(bug.trace)
    shrunk = testkit.explore(stop_then_boom, iterations=50, seed=1)
    assert any(
        "no longer has the stop of Idle the original had" in warning for warning in shrunk.warnings
    )


@pytest.mark.parametrize("keep", [("restart",), 3, ("stop", 1)])
def test_shrink_refuses_what_is_not_a_kind_of_step(lost_update: testkit.Bug, keep: Any) -> None:
    with pytest.raises(TestkitError, match="keep must name kinds of step"):
        testkit.shrink(systems.lost_update, lost_update.trace, keep=keep)


# ---- the picture -------------------------------------------------------------------------------


class Sink(pykka.ThreadingActor):
    """A plain Pykka actor: its messages change no FSM state."""

    def on_receive(self, message: Any) -> None:
        return None


class Done(Monitor):
    hot_states = frozenset({"working"})

    def __init__(self) -> None:
        super().__init__()
        self.start_with("working", None)
        self.when("working", lambda event: self.stay())
        self.initialize()


def floods_a_plain_actor(runtime: testkit.Runtime) -> None:
    runtime.register_monitor(Done)
    sink = Sink.start()
    for number in range(12):
        sink.tell(Check(number))
    sink.ask("flush")
    runtime.monitor(Done, "still-working")


def test_picture_rows_carry_payloads_plain_messages_and_monitor_values() -> None:
    report = testkit.explore(floods_a_plain_actor, iterations=1, seed=1, shrink=False)
    assert report.bug is not None and report.bug.kind == "liveness"
    data = page_data(record(floods_a_plain_actor, report.bug.trace, logs=False))
    folded = [row for item in data["items"] if isinstance(item, list) for row in item]
    assert not any(row["k"] == "deliver" for row in folded)  # never folded as quiet
    rows = [item for item in data["items"] if isinstance(item, dict)]
    labels = [row.get("t") for row in rows if row["k"] == "deliver"]
    assert "Check(11)" in labels and "flush" in labels
    assert [row["t"] for row in rows if row["k"] == "monitor"] == ["still-working"]
    mermaid = testkit.sequence_diagram(floods_a_plain_actor, report.bug.trace, format="mermaid")
    assert "Check(11)" in mermaid
    short = testkit.sequence_diagram(
        floods_a_plain_actor, report.bug.trace, format="mermaid", payload_length=0
    )
    assert "Check(11)" not in short and ": Check" in short


def test_picture_draws_a_blocking_handler_where_it_starts(deadlock: testkit.Bug) -> None:
    rows = record(playback.execute, deadlock.trace, logs=False).rows
    play = next(r for r in rows if r.kind == "deliver" and r.label == "play()")
    assert deadlock.trace.steps[play.step].what == "call:play"  # where it began
    waits = [r for r in rows if r.kind == "wait"]
    assert [r.step for r in waits] == [s.index for s in deadlock.trace.steps if s.kind == "wait"]
    assert rows.index(play) < rows.index(waits[-1])


def test_the_explained_page_has_the_slice_the_decisive_steps_and_the_passing_run(
    lost_update: testkit.Bug,
) -> None:
    why = lost_update.explain(systems.lost_update)
    page = testkit.sequence_diagram(systems.lost_update, lost_update.trace, explanation=why)
    data = json.loads(page.split('id="data">', 1)[1].split("</script>", 1)[0])
    assert data["slice"] == sorted(why.slice_steps)
    assert why.decisive is not None
    assert data["decisive"] == list(why.decisive.steps)
    assert data["passing"]["decisive"] == list(why.decisive.passing_steps)
    assert data["passing"]["bug_step"] == -1 or not data["passing"]["bug"]
    assert 'id="only-slice"' in page and 'id="explanation"' in page


def test_an_explanation_of_another_trace_is_refused(
    lost_update: testkit.Bug, deadlock: testkit.Bug
) -> None:
    why = deadlock.explain(playback.execute)
    with pytest.raises(TestkitError, match="another trace"):
        testkit.sequence_diagram(systems.lost_update, lost_update.trace, explanation=why)


class Picky(FSM, pykka.ThreadingActor):
    """Checks its own class exactly, and looks its attributes up its own way."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0
        self.start_with("on", None)
        self.when("on", self.on)
        self.initialize()

    def on(self, event: Event) -> State | None:
        assert type(self) is Picky, "a subclass"
        self.seen += 1
        assert not isinstance(event.message, Check), f"checked after {self.seen}"
        return self.stay()


def picky(runtime: testkit.Runtime) -> None:
    actor = Picky.start()
    actor.tell(Inc())
    actor.tell(Check(0))


def test_code_that_checks_its_own_class_is_still_explained() -> None:
    report = testkit.explore(picky, iterations=5, seed=1)
    assert report.bug is not None and "checked after 2" in report.bug.message
    why = report.bug.explain(picky)
    assert why.failing_step == report.bug.trace.steps[-1]
    assert "checked after 2" in why.text
