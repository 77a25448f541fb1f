"""Declared faults (`testkit.Faults`) and `sometimes`: what each fault does, that faults are
trace steps that replay, shrink and draw, how reports count them, and every bad input."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import pykka
import pytest

import fsm
import testkit
from testkit import Faults, NeverHappened, Runtime, TestkitError, Trace
from testkit._cli import main as cli_main
from testkit._strategies import RandomStrategy
from tests import faulty_systems as systems
from tests.faulty_systems import Cell, Feeder, World


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


class Forced(RandomStrategy):
    """Random scheduling; injects the faults named by `labels` (prefixes), each at the first
    step where it is possible, in order."""

    def __init__(self, *labels: str) -> None:
        super().__init__()
        self.labels = list(labels)
        self.name = "forced"

    def plan_faults(self, budget: int, heal_at: int | None, max_steps: int, kinds: Any) -> None:
        self.todo = list(self.labels)

    def next_fault(self, step: int) -> int:
        return step if self.todo else 1 << 62

    def pick_fault(self, options: Sequence[Sequence[Any]], step: int) -> Any | None:
        for option in (o for kind in options for o in kind):
            if option.label.startswith(self.todo[0]):
                self.todo.pop(0)
                return option
        return None


def _explore(test: Any, faults: Faults, strategy: Any = "random", **kwargs: Any) -> testkit.Report:
    settings: dict[str, Any] = {"iterations": 1, "max_steps": 500, "seed": 1, "shrink": False}
    settings.update(kwargs)
    return testkit.explore(test, strategy=strategy, faults=faults, progress=False, **settings)


# ---- the declaration ---------------------------------------------------------------------


def test_faults_read_classes_and_names_and_print_as_their_text() -> None:
    faults = Faults(
        crash=Cell,
        restart="Cell",
        drop=[(Feeder, Cell), "Cell"],
        duplicate=Cell,
        partition=[(Cell,), ("Feeder", "Pinger")],
        budget=3,
        heal_after=400,
        strict=True,
    )
    text = "crash=Cell;restart=Cell;drop=Feeder->Cell,Cell;duplicate=Cell;partition=Cell|Feeder,Pinger;budget=3;heal_after=400;strict"  # noqa: E501
    assert str(faults) == text
    assert Faults.parse(text) == faults
    assert Faults.parse(" crash = Cell ; strict=false ") == Faults(crash="Cell")
    assert faults.declared == ("crash", "restart", "drop", "duplicate", "partition")
    assert faults.class_names == {"Cell", "Feeder", "Pinger"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("crash", "is not key=value"),
        ("crash=Cell;crash=Cell", "given twice"),
        ("crash=Ce ll", "is not a class name"),
        ("drop=A->", "is not a class name"),
        ("partition=A,B", "separates groups with '|'"),
        ("budget=two", "budget must be a whole number"),
        ("budget=-1", "budget must be a whole number"),
        ("nemesis=Cell", "unknown setting 'nemesis'"),
        ("restart=Cell", "only a class that may crash can be restarted"),
        ("partition=A|A,B", "A is in two groups"),
    ],
)
def test_faults_text_that_does_not_parse_says_why(text: str, expected: str) -> None:
    with pytest.raises(TestkitError, match=expected):
        Faults.parse(text)


def test_a_negative_budget_and_a_heal_point_past_max_steps_are_errors() -> None:
    with pytest.raises(TestkitError, match=r"budget=\.\.\.\) must be an integer >= 0, got -1"):
        Faults(crash=Cell, budget=-1)
    with pytest.raises(TestkitError, match=r"heal_after=900\) is past max_steps=500"):
        _explore(systems.crash_and_restart, Faults(crash=Cell, heal_after=900))
    with pytest.raises(TestkitError, match=r"must be a testkit\.Faults"):
        _explore(systems.crash_and_restart, 3)  # type: ignore[arg-type]


def test_faults_naming_a_class_the_test_never_starts_are_an_error() -> None:
    with pytest.raises(TestkitError, match="the faults name Robot, which the test never started"):
        _explore(
            systems.crash_and_restart, Faults(crash=[Cell, "Robot"], restart=Cell), iterations=5
        )


# ---- what each fault does -------------------------------------------------------------------


def test_a_crash_runs_no_hook_and_a_restart_starts_the_same_arguments_again() -> None:
    faults = Faults(crash=Cell, restart=Cell, budget=1)
    report = _explore(systems.crash_and_restart, faults, iterations=100)
    assert report.bug is None, report.summary()
    crashed = report.sometimes["crashed"]
    assert report.faults.injected == {"crash": crashed, "restart": crashed}
    assert crashed > 80  # the first iteration, with no run length learned yet, may see none


def test_a_crashed_actor_fails_its_queued_asks_and_its_ref_stays_dead() -> None:
    seen: dict[str, Any] = {}

    def test(runtime: Runtime) -> None:
        world = World()
        cell = Cell.start(world, "cell")
        future = cell.ask("total", block=False)  # queued when the crash comes
        with pytest.raises(pykka.ActorDeadError):
            future.get()
        with pytest.raises(pykka.ActorDeadError):
            cell.tell(("add", 1))
        seen["hooks"] = list(world.hooks)
        runtime.run()
        seen["instances"] = len(world.instances)

    report = _explore(test, Faults(crash=Cell), Forced("crash Cell#1"))
    assert report.bug is None, report.summary()
    assert seen == {"hooks": [], "instances": 1}  # not restartable: it stays dead
    assert report.faults.injected == {"crash": 1}


def test_a_crashed_persistent_fsm_frees_its_id_and_its_restart_recovers() -> None:
    faults = Faults(crash=systems.Ledger, restart=systems.Ledger, budget=1)
    report = _explore(systems.persistent_restart, faults, iterations=80)
    assert report.bug is None, report.summary()
    assert report.sometimes["recovered after a crash"] > 0


def test_drops_and_duplicates_lose_and_double_messages_on_the_wire_only() -> None:
    faults = Faults(drop=Cell, duplicate=[(Feeder, Cell)], budget=2)
    report = _explore(systems.lossy, faults, iterations=150)
    assert report.bug is None, report.summary()
    assert report.sometimes["lost one"] > 0 and report.sometimes["doubled one"] > 0
    assert report.faults.injected["drop"] > 0 and report.faults.injected["duplicate"] > 0


def test_a_partition_holds_requests_back_until_it_heals() -> None:
    faults = Faults(partition=[(Cell,), (systems.Pinger,)], budget=1)
    report = _explore(systems.partitioned, faults, iterations=150)
    assert report.bug is None, report.summary()
    assert report.sometimes["timed out"] > 0 and report.sometimes["all answered"] > 0


def test_declaring_faults_changes_no_decision_before_the_first_fault() -> None:
    def trace(faults: Faults | None) -> list[str]:
        report = testkit.explore(
            systems.buggy_without_faults, 1, 500, "pct", 7, faults=faults, shrink=False
        )
        assert report.bug is not None
        return [str(step) for step in report.bug.trace.steps]

    assert trace(Faults(drop=Cell, budget=0)) == trace(None)


# ---- faults as trace steps: replay, shrink, pictures -----------------------------------------


def test_fault_steps_replay_from_a_saved_trace_and_draw(tmp_path: Any) -> None:
    from bench.bugs import lost_ack_write

    report = testkit.explore(
        lost_ack_write.buggy, 2000, 2000, "portfolio", 2, faults=lost_ack_write.FAULTS
    )
    bug = report.bug
    assert bug is not None
    kinds = [step.actor for step in bug.trace.steps if step.kind == "fault"]
    assert "drop" in kinds and "crash" in kinds  # the bug needs both, the shrinker kept both
    path = bug.trace.save(tmp_path / "lost.trace")
    text = path.read_text()
    assert "# faults: crash=Server;restart=Server;drop=Server->Disk;budget=2" in text
    assert " fault drop Server#1->Disk#1 Persist(key=" in text
    again = testkit.replay(lost_ack_write.buggy, Trace.load(path))
    assert again.bug is not None and again.bug.headline() == bug.headline()
    mermaid = testkit.sequence_diagram(lost_ack_write.buggy, path, format="mermaid")
    assert "-xP" in mermaid and "(dropped)" in mermaid and "crashed" in mermaid
    page = testkit.sequence_diagram(lost_ack_write.buggy, path)
    assert '"k": "drop"' in page and '"k": "crash"' in page


def test_the_shrinker_removes_the_faults_a_bug_does_not_need() -> None:
    faults = Faults(duplicate=Cell, budget=2)
    report = _explore(systems.buggy_without_faults, faults, Forced("duplicate Feeder#1->Cell#1"))
    bug = report.bug
    assert bug is not None
    assert [step.actor for step in bug.trace.steps if step.kind == "fault"] == ["duplicate"]
    shrunk = testkit.shrink(systems.buggy_without_faults, bug.trace)
    assert not [step for step in shrunk.steps if step.kind == "fault"]


def test_a_trace_with_a_fault_the_program_cannot_take_diverges() -> None:
    from bench.bugs import split_leader

    report = testkit.explore(split_leader.buggy, 100, 500, faults=split_leader.FAULTS)
    assert report.bug is not None
    text = report.bug.trace.to_text().replace(
        "fault partition Leader,Client|Standby", "fault partition A|B"
    )
    with pytest.raises(testkit.ReplayDivergence, match="fault partition A"):
        testkit.replay(split_leader.buggy, Trace.from_text(text))


# ---- reports: counts, never-fired kinds, sometimes --------------------------------------------


def test_a_declared_kind_that_never_fired_is_named_and_fails_a_strict_run() -> None:
    faults = Faults(crash=Cell, restart=Cell, duplicate=self_told(), budget=1)
    report = _explore(systems.crash_and_restart, faults, iterations=20)
    assert report.faults.never_fired == ["duplicate"]
    assert "faults injected: crash " in report.summary()
    assert "(never fired: duplicate)" in report.summary()
    strict = Faults(crash=Cell, restart=Cell, duplicate=self_told(), budget=1, strict=True)
    with pytest.raises(NeverHappened, match="declared fault 'duplicate' never fired in 20"):
        _explore(systems.crash_and_restart, strict, iterations=20)


def self_told() -> type:
    """A receiver that only tells itself (nothing on a wire to duplicate)."""
    return Feeder


def test_a_sometimes_condition_that_never_held_fails_the_exploration() -> None:
    with pytest.raises(NeverHappened) as failed:
        testkit.explore(systems.never, 7, 100, seed=1, progress=False)
    assert "sometimes 'the impossible' never happened in 7 iteration(s)" in str(failed.value)
    assert failed.value.report.sometimes == {"the impossible": 0}
    assert "FAILED: sometimes 'the impossible' never happened" in failed.value.report.summary()


def test_a_sometimes_name_used_in_two_places_is_an_error() -> None:
    with pytest.raises(TestkitError, match=r"'twice'\) is used in two places"):
        testkit.explore(systems.twice, 3, 100, seed=1, progress=False)
    with pytest.raises(TestkitError, match="name must be a text"):
        testkit.explore(lambda runtime: runtime.sometimes(True, 3), 1, 10, seed=1)


def test_sometimes_in_production_only_returns_the_condition() -> None:
    assert fsm.sometimes(1, "production") is True
    assert fsm.sometimes([], "production") is False


def test_workers_merge_fault_counts_and_sometimes() -> None:
    faults = Faults(crash=Cell, restart=Cell, budget=1)
    one = _explore(systems.crash_and_restart, faults, "random", iterations=40)
    two = _explore(systems.crash_and_restart, faults, "random", iterations=40, workers=2)
    # the planner learns run lengths per worker (as PCT does), so the counts may differ
    for report in (one, two):
        crashed = report.faults.injected["crash"]
        assert report.sometimes == {"crashed": crashed} and crashed > 30
        assert report.faults.injected["restart"] == crashed


# ---- the command line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("crash=Cell;budget=x", "budget must be a whole number"),
        ("crash=Cell;heal_after=999", "is past max_steps=500"),
        ("crash=Nope", "the faults name Nope, which the test never started"),
    ],
)
def test_cli_bad_faults_exit_2(spec: str, expected: str) -> None:
    out = io.StringIO()
    code = cli_main(
        ["test", "tests.faulty_systems:crash_and_restart", "-i", "3", "--max-steps", "500",
         "-j", "1", "--no-progress", "--faults", spec],
        out,
    )  # fmt: skip
    assert code == 2, out.getvalue()
    assert expected in out.getvalue()


def test_cli_faults_find_the_bug_and_an_unmet_sometimes_exits_1(tmp_path: Any) -> None:
    out = io.StringIO()
    code = cli_main(
        ["test", "bench.bugs.split_leader:buggy", "-i", "100", "--max-steps", "500", "-j", "1",
         "--seed", "1", "--no-progress", "--faults", "partition=Leader,Client|Standby;budget=1",
         "--trace-out", str(tmp_path / "split.trace")],
        out,
    )  # fmt: skip
    assert code == 1, out.getvalue()
    assert (
        "two leaders at once" in out.getvalue() and "faults injected: partition" in out.getvalue()
    )
    out = io.StringIO()
    code = cli_main(["replay", "bench.bugs.split_leader:buggy", str(tmp_path / "split.trace")], out)
    assert code == 1 and "reproduced the bug" in out.getvalue()
    out = io.StringIO()
    code = cli_main(
        ["test", "tests.faulty_systems:never", "-i", "5", "-j", "1", "--no-progress"], out
    )
    assert code == 1, out.getvalue()
    assert "FAILED: sometimes 'the impossible' never happened in 5 iteration(s)" in out.getvalue()


# ---- faults in explanations --------------------------------------------------------------------


def test_a_fault_bug_is_explained_by_the_fault_left_out() -> None:
    report = _explore(systems.all_arrive, Faults(drop=Cell, budget=1), iterations=50)
    bug = report.bug
    assert bug is not None and any(s.kind == "fault" for s in bug.trace.steps)
    explanation = bug.explain(systems.all_arrive, 30)
    change = explanation.decisive
    assert change is not None and change.kind == "fault", explanation.text
    assert "from `Feeder#1` to `Cell#1` is lost at step" in change.text
    assert change.text.endswith("passes without that drop"), change.text
    assert explanation.passing is not None
    assert not any(s.kind == "fault" for s in explanation.passing.steps)


def test_crashes_restarts_and_journal_writes_are_in_the_causal_slice() -> None:
    from failover_examples import ledger

    report = testkit.explore(ledger.execute_eager, 500, 2000, seed=3, faults=ledger.FAULTS)
    bug = report.bug
    assert bug is not None
    explanation = bug.explain(ledger.execute_eager, 30)  # it replays with its faults
    kinds = {(s.kind, s.actor if s.kind == "fault" else "") for s in explanation.slice}
    assert {("fault", "crash"), ("fault", "restart"), ("journal", "")} <= kinds, kinds
    assert explanation.decisive is not None, explanation.text
