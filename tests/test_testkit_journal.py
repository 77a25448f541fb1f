"""Journal writes under the tester: scheduling points, failure policies, the iteration's
journal, replay, shrinking, pictures, `TestFSMRef.events`/`.recovered`, a crash mid-write."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pykka
import pytest

import fsm
import testkit
from fsm import FSM, Event, FSMError, InMemoryJournal, PersistentFSM, PersistRejected, State
from testkit import JournalFailures, Runtime, TestFSMRef, TestkitError, Trace, explore, replay
from testkit._engine.observer import Observer, installed
from tests.persistent_accounts import Account, Deposit, Deposited, GetBalance, S, Withdraw

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class Acct(Account, pykka.ThreadingActor):
    """The shared test account on Pykka threads (its journal: the default unless given)."""


@dataclass(frozen=True)
class Told:
    amount: int


class Eager(PersistentFSM, FSM, pykka.ThreadingActor):
    """Tells `watcher` it took a deposit, then persists it: the answer comes first."""

    def __init__(self, watcher: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.watcher = watcher
        self.persistence_id = "eager"
        self.start_with("open", 0)
        self.when("open", self.open)
        self.initialize()

    def open(self, event: Event) -> State | None:
        match event.message:
            case Deposit(n):
                self.watcher.tell(Told(n))  # BUG: before the write is confirmed
                return self.stay().applying(Deposited(n))
        return None

    def apply_event(self, event: Any, data: int) -> int:
        return data + int(event.amount)


def eager_test(runtime: Runtime) -> None:
    """Whatever the account told must be in the journal by the time the probe hears it."""
    probe = testkit.TestProbe()
    ref = Eager.start(probe.ref)
    ref.tell(Deposit(5))
    probe.expect_msg(Told(5))
    assert runtime.journal().events("eager") == [Deposited(5)], "told before it was stored"


# ---- scheduling points ------------------------------------------------------------------------


def test_a_write_is_a_scheduling_point_so_the_reply_before_it_is_found() -> None:
    report = explore(eager_test, iterations=200, max_steps=200, seed=1)
    bug = report.bug
    assert bug is not None, "the answer told before the write was never seen first"
    assert (bug.kind, bug.actor) == ("safety", "test")
    assert "told before it was stored" in bug.message
    kinds = [(s.kind, s.actor, s.what) for s in bug.trace.steps]
    assert ("wait", "Eager#1", "journal") in kinds
    again = replay(eager_test, bug.trace)
    assert again.bug is not None and again.bug.headline() == bug.headline()


def test_wait_journal_resume_steps_in_order_and_the_trace_round_trips(tmp_path: Path) -> None:
    def test(runtime: Runtime) -> None:
        probe = testkit.TestProbe()
        ref = Acct.start("acct-steps")
        probe.send(ref, Deposit(2))
        probe.expect_msg(("ok", 2))
        raise AssertionError("stop here")

    report = explore(test, iterations=1, max_steps=200, seed=2, shrink=False)
    assert report.bug is not None
    lines = [str(s).split(" ", 1)[1] for s in report.bug.trace.steps]
    wait = lines.index("wait Acct#1 journal write:1")
    assert lines[wait + 1 :].index("journal Acct#1 write:1") < lines[wait + 1 :].index(
        "resume Acct#1 journal write:1"
    )
    saved = report.bug.trace.save(tmp_path / "t.trace")
    loaded = Trace.load(saved)
    assert [str(s) for s in loaded.steps] == [str(s) for s in report.bug.trace.steps]
    assert replay(test, loaded).bug is not None


def test_programs_without_persistence_have_no_journal_steps() -> None:
    def test(runtime: Runtime) -> None:
        probe = testkit.TestProbe()
        probe.ref.tell("x")
        probe.expect_msg("x")
        raise AssertionError("end")

    report = explore(test, iterations=1, max_steps=50, seed=1)
    assert report.bug is not None
    assert all(s.kind != "journal" for s in report.bug.trace.steps)


def test_the_shrinker_keeps_what_the_bug_needs_and_the_result_replays() -> None:
    report = explore(eager_test, iterations=200, max_steps=200, seed=4, shrink=True)
    bug = report.bug
    assert bug is not None
    assert len(bug.trace.steps) <= len(bug.original_trace.steps)
    assert any(s.kind == "wait" and s.what == "journal" for s in bug.trace.steps)
    assert replay(eager_test, bug.trace).bug is not None


# ---- the iteration's journal ----------------------------------------------------------------


def test_each_iteration_has_a_fresh_default_journal_that_outlives_its_fsms() -> None:
    recovered: list[int] = []
    saved = fsm.default_journal()

    def test(runtime: Runtime) -> None:
        assert fsm.default_journal() is runtime.journal()
        first = TestFSMRef(Acct, "acct-fresh")
        recovered.append(first.recovered.sequence_nr)
        first.ask(Deposit(3))
        first.stop()
        second = TestFSMRef(Acct, "acct-fresh")
        assert second.recovered.state_data.amount == 3
        assert second.recovered.sequence_nr == 1
        assert second.events == [Deposited(3)]

    report = explore(test, iterations=20, max_steps=500, seed=5)
    assert report.bug is None, report.bug and report.summary()
    assert recovered and set(recovered) == {0}  # nothing leaked from an earlier iteration
    assert fsm.default_journal() is saved
    assert saved.events("acct-fresh") == []


def test_set_default_journal_under_the_tester_sets_the_iterations_only() -> None:
    saved = fsm.default_journal()
    mine: list[InMemoryJournal] = []

    def test(runtime: Runtime) -> None:
        journal = InMemoryJournal()
        mine.append(journal)
        fsm.set_default_journal(journal)
        assert runtime.journal() is journal
        TestFSMRef(Acct, "acct-set").ask(Deposit(1))
        with pytest.raises(FSMError, match="expected a journal"):
            fsm.set_default_journal("journal.db")  # type: ignore[arg-type]

    report = explore(test, iterations=3, max_steps=300, seed=1)
    assert report.bug is None, report.bug and report.summary()
    assert fsm.default_journal() is saved
    assert mine[-1].events("acct-set") == [Deposited(1)]


def test_a_journal_that_outlives_the_iteration_is_noted() -> None:
    class Other(InMemoryJournal):
        pass

    from fsm import Journal

    class Foreign(Journal):  # stands for a file journal: not an in-memory one
        def __init__(self) -> None:
            self.inner = Other()

        def write(self, batch: Any) -> None:
            self.inner.write(batch)

        def recover(self, persistence_id: str) -> Any:
            return self.inner.recover(persistence_id)

    foreign = Foreign()

    def test(runtime: Runtime) -> None:
        TestFSMRef(Acct, f"acct-foreign-{runtime.random_int(1000)}", foreign).ask(Deposit(1))

    report = explore(test, iterations=2, max_steps=300, seed=1)
    assert report.bug is None
    assert any("outlives the iteration" in w for w in report.warnings)


# ---- failure policies -------------------------------------------------------------------------


def test_a_rejected_write_stops_the_fsm_as_expected_and_nothing_is_stored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[Any] = []

    def test(runtime: Runtime) -> None:
        runtime.journal(failures=JournalFailures(reject={"acct-r": 1}))
        first = Acct.start("acct-r")
        with pytest.raises(PersistRejected, match="the tester rejected write 1 of 'acct-r'"):
            first.ask(Deposit(2))
        probe = testkit.TestProbe()
        probe.watch(first)
        probe.expect_terminated(first)
        second = TestFSMRef(Acct, "acct-r")
        outcomes.append((second.ask(Deposit(3)), second.events))

    with caplog.at_level(logging.ERROR):
        report = explore(test, iterations=10, max_steps=500, seed=3)
    assert report.bug is None, report.bug and report.summary()
    assert set(map(repr, outcomes)) == {repr((("ok", 3), [Deposited(3)]))}
    assert "the journal rejected its write of entries 1..1" in caplog.text


def test_failed_writes_by_number_and_by_callable() -> None:
    seen: list[Any] = []

    def test(runtime: Runtime) -> None:
        policy = JournalFailures(fail={"acct-f": {2}}, reject=lambda pid, n: n == 4)
        runtime.journal(failures=policy)
        ref = Acct.start("acct-f")
        answers = []
        for amount in (1, 2):
            try:
                answers.append(ref.ask(Deposit(amount)))
            except fsm.PersistFailed as exc:
                answers.append(type(exc).__name__)
        again = TestFSMRef(Acct, "acct-f")  # write 2 failed and stopped the first
        answers.append(again.ask(Deposit(3)))
        try:
            answers.append(again.ask(Deposit(4)))
        except PersistRejected as exc:
            answers.append(type(exc).__name__)
        seen.append((answers, runtime.journal().events("acct-f")))

    report = explore(test, iterations=5, max_steps=500, seed=2)
    assert report.bug is None, report.bug and report.summary()
    answers, events = seen[-1]
    assert answers == [("ok", 1), "PersistFailed", ("ok", 3), "PersistRejected"]
    assert events == [Deposited(1), Deposited(3)]


def test_the_first_n_writes_fail_and_the_trace_says_which() -> None:
    def test(runtime: Runtime) -> None:
        runtime.journal(failures=JournalFailures(reject={"acct-n": 2}))
        for _ in range(2):
            with pytest.raises(PersistRejected):
                Acct.start("acct-n").ask(Deposit(1))
        assert TestFSMRef(Acct, "acct-n").ask(Deposit(1)) == ("ok", 1)
        raise AssertionError("end")

    report = explore(test, iterations=1, max_steps=500, seed=1, shrink=False)
    assert report.bug is not None and report.bug.message == "AssertionError: end"
    journal = [str(s).split(" ", 1)[1] for s in report.bug.trace.steps if s.kind == "journal"]
    assert journal == [
        "journal Acct#1 write:1 rejected",
        "journal Acct#2 write:1 rejected",
        "journal Acct#3 write:1",
    ]
    assert replay(test, report.bug.trace).bug is not None


def test_an_unregistered_event_is_still_a_bug() -> None:
    @dataclass(frozen=True)
    class Stray:
        n: int

    class Careless(PersistentFSM, FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.persistence_id = "careless"
            self.start_with("on", 0)
            self.when("on", lambda e: self.stay().applying(Stray(1)))
            self.initialize()

        def apply_event(self, event: Any, data: int) -> int:
            return data + 1

    def test(runtime: Runtime) -> None:
        Careless.start().tell("go")

    report = explore(test, iterations=3, max_steps=100, seed=1)
    assert report.bug is not None and report.bug.kind == "exception"
    assert "PersistRejected" in report.bug.message and "Stray" in report.bug.message


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"reject": 5}, r"reject=\.\.\.\) must be a mapping"),
        ({"fail": "acct"}, r"fail=\.\.\.\) must be a mapping"),
        ({"reject": {3: 1}}, r"keys are persistence ids"),
        ({"reject": {"": 1}}, r"keys are persistence ids"),
        ({"fail": {"a": 0}}, r"int >= 1"),
        ({"fail": {"a": True}}, r"int >= 1"),
        ({"fail": {"a": [1, 0]}}, r"numbers >= 1, got 0"),
        ({"fail": {"a": []}}, r"numbers >= 1, got 'none'"),
        ({"fail": {"a": "1"}}, r"expected an int N"),
        ({"fail": {"a": 1.5}}, r"expected an int N"),
    ],
)
def test_bad_policies_are_clear_errors(keywords: dict[str, Any], message: str) -> None:
    with pytest.raises(TestkitError, match=message):
        JournalFailures(**keywords)


def test_misused_policies_stop_the_exploration() -> None:
    def not_a_policy(runtime: Runtime) -> None:
        runtime.journal(failures={"acct": 1})  # type: ignore[arg-type]

    with pytest.raises(TestkitError, match=r"takes a testkit\.JournalFailures"):
        explore(not_a_policy, iterations=1, max_steps=10)

    def twice(runtime: Runtime) -> None:
        runtime.journal(failures=JournalFailures(reject={"a": 1}))
        runtime.journal(failures=JournalFailures(fail={"a": 1}))

    with pytest.raises(TestkitError, match="called twice in one iteration"):
        explore(twice, iterations=1, max_steps=10)

    def broken(runtime: Runtime) -> None:
        runtime.journal(failures=JournalFailures(fail=lambda pid, n: 1 / 0))
        Acct.start("acct-b").tell(Deposit(1))

    with pytest.raises(TestkitError, match=r"policy for failed writes raised ZeroDivisionError"):
        explore(broken, iterations=1, max_steps=50)


def test_a_bad_journal_step_in_a_trace_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.trace"
    path.write_text("# testkit-trace 2\n# max_steps: 9\n0 journal A#1 write:1 lost\n")
    with pytest.raises(TestkitError, match=r"line 3: a journal step is"):
        Trace.load(path)


# ---- TestFSMRef ---------------------------------------------------------------------------------


def test_test_fsm_ref_shows_events_and_the_recovered_state_on_threads() -> None:
    journal = InMemoryJournal()
    first = TestFSMRef(Acct, "acct-ref", journal, snapshot_every=2)
    assert first.recovered == testkit.Recovered(S.OPEN, first.state_data, 0, 0)
    first.ask(Deposit(5))
    first.ask(Deposit(2))
    first.ask(Withdraw(4))
    assert first.events == [Deposited(5), Deposited(2), fsm_withdrawn(4)]
    first.stop()
    second = TestFSMRef(Acct, "acct-ref", journal, snapshot_every=2)
    recovered = second.recovered
    assert (recovered.state_name, recovered.state_data.amount) == (S.OPEN, 3)
    assert (recovered.sequence_nr, recovered.snapshot_nr) == (3, 2)
    assert second.ask(GetBalance()) == (S.OPEN, 3)
    second.stop()


def fsm_withdrawn(n: int) -> Any:
    from tests.persistent_accounts import Withdrawn

    return Withdrawn(n)


def test_test_fsm_ref_events_need_a_persistent_fsm() -> None:
    class Plain(FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("on", None)
            self.when("on", lambda e: self.stay())
            self.initialize()

    ref = TestFSMRef(Plain)
    try:
        with pytest.raises(FSMError, match="persists nothing; it is no PersistentFSM"):
            _ = ref.events
        with pytest.raises(FSMError, match="persists nothing"):
            _ = ref.recovered
    finally:
        ref.stop()


# ---- pictures and observers -----------------------------------------------------------------


class _Journaled(Observer):
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def journal(self, step: int, mailbox: Any, event: str, write: Any) -> None:
        self.events.append((event, write.wait_text))


def test_the_observer_hears_each_write_and_its_outcome() -> None:
    def test(runtime: Runtime) -> None:
        runtime.journal(failures=JournalFailures(reject={"acct-o": {2}}))
        ref = Acct.start("acct-o")
        ref.ask(Deposit(1))
        with pytest.raises(PersistRejected):
            ref.ask(Deposit(1))

    observer = _Journaled()
    with installed(observer):
        report = explore(test, iterations=1, max_steps=100, seed=1, coverage=False)
    assert report.bug is None
    assert observer.events == [
        ("write", "write:1"),
        ("stored", "write:1"),
        ("write", "write:2"),
        ("rejected", "write:2"),
    ]


def test_the_sequence_diagram_draws_the_journal() -> None:
    def test(runtime: Runtime) -> None:
        runtime.journal(failures=JournalFailures(reject={"acct-d": {2}}))
        ref = Acct.start("acct-d")
        ref.ask(Deposit(1))
        with pytest.raises(PersistRejected):
            ref.ask(Deposit(1))
        raise AssertionError("draw me")

    report = explore(test, iterations=1, max_steps=100, seed=1)
    assert report.bug is not None
    text = testkit.sequence_diagram(test, report.bug.trace, format="mermaid")
    assert "participant P2 as journal" in text
    assert "P1--)P2: " in text and "persist 1" in text
    assert "P2--)P1: " in text and "stored 1" in text and "rejected 2" in text
    lines = text.splitlines()
    deposit = next(i for i, line in enumerate(lines) if "P0->>P1" in line and "Deposit" in line)
    write = next(i for i, line in enumerate(lines) if "persist 1" in line)
    assert deposit < write  # the delivery is drawn before the write its handler made
    page = testkit.sequence_diagram(test, report.bug.trace)
    assert '"kind": "journal"' in page and "msg.journal" in page
