"""PersistentFSM: events written before anything else happens, recovery, snapshots, failures."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pykka
import pytest

import fsm
import testkit
from fsm import (
    FSM,
    Event,
    Failure,
    FSMError,
    InMemoryJournal,
    LoggingFSM,
    PersistentFSM,
    PersistFailed,
    PersistRejected,
    State,
    StopEvent,
)
from fsm._journal import AtomicWrite
from tests.bases import on
from tests.persistent_accounts import (
    Account,
    Balance,
    Close,
    Deposit,
    Deposited,
    FaultyJournal,
    Freeze,
    GatedJournal,
    GetBalance,
    S,
    Unfreeze,
    Withdraw,
    Withdrawn,
)


def done(future: pykka.Future[Any]) -> bool:
    """Whether `future` has its value (without waiting for it)."""
    try:
        future.get(timeout=0)
    except pykka.Timeout:
        return False
    return True


def start(base: type[pykka.Actor], *args: Any, **kwargs: Any) -> pykka.ActorRef[Any]:
    ref: pykka.ActorRef[Any] = on(base, Account).start(*args, **kwargs)
    return ref


def test_events_are_persisted_and_recovered(actor_base: type[pykka.Actor]) -> None:
    journal = InMemoryJournal()
    ref = start(actor_base, "acct-1", journal)
    assert ref.ask(Deposit(10)) == ("ok", 10)
    assert ref.ask(Withdraw(3)) == ("ok", -3)
    assert ref.ask(Withdraw(30)) == ("insufficient", 30)  # stay() without events: no write
    ref.stop()
    assert journal.events("acct-1") == [Deposited(10), Withdrawn(3)]
    seen: list[Any] = []
    again = start(actor_base, "acct-1", journal, seen=seen)
    assert again.ask(GetBalance()) == (S.OPEN, 7)
    assert seen == [("recovered", S.OPEN, 7, 2)]


def test_reply_transition_and_and_then_come_after_the_write(
    actor_base: type[pykka.Actor],
) -> None:
    journal = FaultyJournal()
    seen: list[Any] = []
    ref = start(actor_base, "acct-2", journal, seen=seen)
    at_write: list[tuple[Any, list[Any]]] = []
    future: list[pykka.Future[Any]] = []

    def on_write(batch: AtomicWrite) -> None:  # runs inside the journal's write
        at_write.append((done(future[0]) if future else None, list(seen)))

    journal.on_write = on_write
    future.append(ref.ask(Deposit(5), block=False))
    assert future[0].get(timeout=10) == ("ok", 5)
    # while the journal was writing: no reply, no and_then
    assert at_write == [(False, [("recovered", S.OPEN, 0, 0)])]
    assert seen[-1] == ("and_then", 5)

    future[0] = ref.ask(Freeze(), block=False)
    assert future[0].get(timeout=10) == "frozen"
    # a goto without events is written too, and its transition runs only afterwards
    assert at_write[-1] == (False, [("recovered", S.OPEN, 0, 0), ("and_then", 5)])
    assert seen[-1] == ("transition", S.OPEN, S.FROZEN)


def test_a_write_in_progress_holds_back_the_reply_and_later_messages() -> None:
    journal = GatedJournal()
    ref = start(pykka.ThreadingActor, "acct-gate", journal)
    first = ref.ask(Deposit(1), block=False)
    second = ref.ask(GetBalance(), block=False)
    assert journal.arrived.wait(10)
    assert not done(first) and not done(second)
    journal.gate.set()
    assert first.get(timeout=10) == ("ok", 1)
    assert second.get(timeout=10) == (S.OPEN, 1)


def test_goto_without_events_survives_a_restart(actor_base: type[pykka.Actor]) -> None:
    journal = InMemoryJournal()
    ref = start(actor_base, "acct-3", journal)
    assert ref.ask(Deposit(4)) == ("ok", 4)
    assert ref.ask(Freeze()) == "frozen"
    ref.stop()
    ref = start(actor_base, "acct-3", journal)
    assert ref.ask(Deposit(1)) == ("refused", S.FROZEN)
    assert ref.ask(Unfreeze()) == "open"
    ref.stop()
    entries = journal.entries("acct-3")
    assert [(e.sequence_nr, e.state, e.manifest) for e in entries] == [
        (1, "S.OPEN", "test.Deposited"),
        (2, "S.FROZEN", ""),
        (3, "S.OPEN", ""),
    ]
    ref = start(actor_base, "acct-3", journal)
    assert ref.ask(GetBalance()) == (S.OPEN, 4)


def test_goto_with_events_stores_the_target_state_on_every_entry() -> None:
    journal = InMemoryJournal()
    ref = start(pykka.ThreadingActor, "acct-4", journal)
    ref.ask(Deposit(9))
    assert ref.ask(Close()) == "closed"
    ref.stop()
    assert [(e.state, e.manifest) for e in journal.entries("acct-4")] == [
        ("S.OPEN", "test.Deposited"),
        ("S.CLOSED", "test.Withdrawn"),
    ]
    assert start(pykka.ThreadingActor, "acct-4", journal).ask(GetBalance()) == (S.CLOSED, 0)


def test_snapshots_every_n_events_and_recovery_starts_from_the_latest(
    actor_base: type[pykka.Actor],
) -> None:
    journal = InMemoryJournal()
    ref = start(actor_base, "acct-5", journal, snapshot_every=3)
    for n in range(1, 8):
        ref.ask(Deposit(n))
    ref.stop()
    snapshot = journal.snapshot("acct-5")
    assert snapshot is not None and snapshot.sequence_nr == 6
    recovery = journal.recover("acct-5")
    assert [e.sequence_nr for e in recovery.entries] == [7]  # replayed after the snapshot
    seen: list[Any] = []
    ref = start(actor_base, "acct-5", journal, snapshot_every=3, seen=seen)
    assert seen == [("recovered", S.OPEN, 28, 7)]
    assert ref.ask(GetBalance()) == (S.OPEN, 28)
    ref.stop()
    # the same state as a recovery from every event
    plain = InMemoryJournal()
    for entry in journal.entries("acct-5"):
        plain.write(AtomicWrite("acct-5", (entry,)))
    seen_plain: list[Any] = []
    start(actor_base, "acct-5", plain, seen=seen_plain).stop()
    assert seen_plain == seen


def test_a_multi_event_write_that_crosses_a_snapshot_boundary_snapshots_after_it() -> None:
    @dataclass(frozen=True)
    class Twice:
        amount: int

    class Doubler(Account):
        def open(self, event: Event) -> State | None:
            if isinstance(event.message, Twice):
                n = event.message.amount
                return self.stay().applying(Deposited(n), Deposited(n)).replying("ok")
            return super().open(event)

    journal = InMemoryJournal()
    ref = on(pykka.ThreadingActor, Doubler).start("acct-6", journal, snapshot_every=3)
    ref.ask(Deposit(1))
    ref.ask(Twice(2))  # entries 2 and 3: crosses 3
    ref.ask(Twice(5))  # entries 4 and 5
    ref.stop()
    snapshot = journal.snapshot("acct-6")
    assert snapshot is not None and snapshot.sequence_nr == 3
    assert journal.highest_sequence_nr("acct-6") == 5
    ref = on(pykka.ThreadingActor, Doubler).start("acct-6", journal, snapshot_every=3)
    assert ref.ask(GetBalance()) == (S.OPEN, 15)


@pytest.mark.parametrize("outcome", ["fail", "reject"])
def test_a_failed_or_rejected_write_stops_the_fsm_and_loses_nothing_acknowledged(
    actor_base: type[pykka.Actor], outcome: str, caplog: pytest.LogCaptureFixture
) -> None:
    journal = FaultyJournal()
    stops: list[StopEvent] = []
    ref = start(actor_base, "acct-7", journal)
    ref.proxy().on_termination(stops.append).get()
    assert ref.ask(Deposit(1)) == ("ok", 1)
    setattr(journal, outcome, 1)
    expected = PersistFailed if outcome == "fail" else PersistRejected
    with caplog.at_level(logging.ERROR), pytest.raises(expected):
        ref.ask(Deposit(2))
    assert ref.actor_stopped.wait(10)
    verb = "failed" if outcome == "fail" else "rejected"
    lines = [r.getMessage() for r in caplog.records if "stops: the journal" in r.getMessage()]
    assert len(lines) == 1
    assert f"Account 'acct-7' stops: the journal {verb} its write of entries 2..2" in lines[0]
    assert "test.Deposited" in lines[0] and "not acknowledged" in lines[0]
    assert len(stops) == 1 and isinstance(stops[0].reason, Failure)
    assert isinstance(stops[0].reason.cause, expected)
    assert stops[0].state_data == Balance(1, (1,))  # the state before the write
    # what was acknowledged is there; a new instance goes on from it
    assert journal.events("acct-7") == [Deposited(1)]
    again = start(actor_base, "acct-7", journal)
    assert again.ask(Deposit(3)) == ("ok", 3)
    assert journal.events("acct-7") == [Deposited(1), Deposited(3)]


def test_a_failed_write_of_a_tell_stops_the_fsm_too(caplog: pytest.LogCaptureFixture) -> None:
    journal = FaultyJournal(fail=1)
    ref = start(pykka.ThreadingActor, "acct-8", journal)
    with caplog.at_level(logging.ERROR):
        ref.tell(Deposit(2))
        assert ref.actor_stopped.wait(10)
    assert any("the journal failed its write" in r.getMessage() for r in caplog.records)
    assert journal.events("acct-8") == []


def test_a_journal_that_raises_something_else_counts_as_a_failed_write() -> None:
    class Broken(InMemoryJournal):
        def write(self, batch: AtomicWrite) -> None:
            raise OSError("disk on fire")

    ref = start(pykka.ThreadingActor, "acct-9", Broken())
    with pytest.raises(PersistFailed, match="disk on fire"):
        ref.ask(Deposit(1))
    assert ref.actor_stopped.wait(10)


def test_apply_event_raising_while_handling_stores_nothing() -> None:
    @dataclass(frozen=True)
    class Poison:
        pass

    class Picky(Account):
        def open(self, event: Event) -> State | None:
            if isinstance(event.message, Poison):
                return self.stay().applying(Withdrawn(10**9))
            return super().open(event)

        def apply_event(self, event: Any, data: Balance) -> Balance:
            if isinstance(event, Withdrawn) and event.amount > data.amount:
                raise ValueError("overdrawn")
            return super().apply_event(event, data)

    journal = InMemoryJournal()
    ref = on(pykka.ThreadingActor, Picky).start("acct-10", journal)
    ref.ask(Deposit(1))
    with pytest.raises(ValueError, match="overdrawn"):
        ref.ask(Poison())
    assert journal.events("acct-10") == [Deposited(1)]


def test_using_in_a_persistent_fsm_is_a_clear_error() -> None:
    @dataclass(frozen=True)
    class Cheat:
        pass

    class Cheater(Account):
        def open(self, event: Event) -> State | None:
            if isinstance(event.message, Cheat):
                return self.stay().using(Balance(10**6))
            return super().open(event)

    journal = InMemoryJournal()
    ref = on(pykka.ThreadingActor, Cheater).start("acct-11", journal)
    with pytest.raises(FSMError, match=r"changes only through its events; return \.applying"):
        ref.ask(Cheat())
    assert journal.events("acct-11") == []


def test_applying_in_a_plain_fsm_is_a_clear_error() -> None:
    class Plain(FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("a", 0)
            self.when("a", lambda event: self.stay().applying(Deposited(1)))
            self.initialize()

    with pytest.raises(FSMError, match=r"\.applying\(\.\.\.\) and \.and_then\(\.\.\.\) need a "):
        Plain.start().ask("x")


def test_stop_applying_persists_then_terminates_with_the_new_data() -> None:
    @dataclass(frozen=True)
    class Drain:
        pass

    stops: list[StopEvent] = []

    class Drainer(Account):
        def open(self, event: Event) -> State | None:
            if isinstance(event.message, Drain):
                amount = event.data.amount
                return self.stop().applying(Withdrawn(amount)).replying(("drained", amount))
            return super().open(event)

    journal = InMemoryJournal()
    ref = on(pykka.ThreadingActor, Drainer).start("acct-12", journal)
    ref.proxy().on_termination(stops.append).get()
    ref.ask(Deposit(6))
    assert ref.ask(Drain()) == ("drained", 6)
    assert ref.actor_stopped.wait(10)
    assert journal.events("acct-12") == [Deposited(6), Withdrawn(6)]
    assert stops[0].state_data == Balance(0, (6, -6))


def test_the_default_journal_is_in_memory_until_set() -> None:
    saved = fsm.default_journal()
    try:
        assert isinstance(saved, InMemoryJournal)
        mine = InMemoryJournal()
        fsm.set_default_journal(mine)
        assert fsm.default_journal() is mine
        ref = start(pykka.ThreadingActor, "acct-default")
        ref.ask(Deposit(2))
        assert ref.proxy().journal.get() is mine
        assert mine.events("acct-default") == [Deposited(2)]
        with pytest.raises(FSMError, match=r"expected a journal such as fsm.SQLiteJournal"):
            fsm.set_default_journal("journal.db")  # type: ignore[arg-type]
    finally:
        fsm.set_default_journal(saved)


def test_a_logging_persistent_fsm_logs_and_persists() -> None:
    class Logged(Account, LoggingFSM):
        log_depth = 5

    journal = InMemoryJournal()
    ref = on(pykka.ThreadingActor, Logged).start("acct-13", journal)
    ref.ask(Deposit(3))
    log = ref.proxy().get_log().get()
    assert [entry.event for entry in log] == [Deposit(3)]
    assert journal.events("acct-13") == [Deposited(3)]


def test_a_state_timeout_after_a_persisted_transition() -> None:
    @dataclass(frozen=True)
    class Tick:
        pass

    class Expiring(PersistentFSM, FSM, pykka.ThreadingActor):
        def __init__(self, journal: fsm.Journal) -> None:
            super().__init__()
            self.persistence_id = "expiring"
            self.journal = journal
            self.start_with("idle", 0)
            self.when("idle", lambda e: self.goto("busy").applying(Deposited(1)))
            self.when("busy", self.busy, state_timeout=0.05)
            self.initialize()

        def busy(self, event: Event) -> State | None:
            if isinstance(event.message, fsm.StateTimeout):
                return self.goto("idle").and_then(lambda data: probe.ref.tell(("idle", data)))
            return None

        def apply_event(self, event: Any, data: int) -> int:
            return data + int(event.amount)

    probe = testkit.TestProbe()
    journal = InMemoryJournal()
    ref = Expiring.start(journal)
    ref.tell(Tick())
    probe.expect_msg(("idle", 1))
    assert [e.state for e in journal.entries("expiring")] == ['"busy"', '"idle"']


def test_settings_are_checked_with_clear_errors() -> None:
    class NoId(PersistentFSM, FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("a", None)
            self.when("a", lambda e: None)
            self.initialize()

    with pytest.raises(FSMError, match=r"has no persistence_id: set self.persistence_id"):
        NoId.start()

    with pytest.raises(FSMError, match=r"snapshot_every must be None or an integer >= 1"):
        start(pykka.ThreadingActor, "acct-14", InMemoryJournal(), snapshot_every=0)

    ref = start(pykka.ThreadingActor, "acct-15", InMemoryJournal())
    with pytest.raises(FSMError, match=r"persistence_id cannot change after initialize"):
        ref.proxy().persistence_id = "other"
        ref.proxy().persistence_id.get()
    with pytest.raises(FSMError, match=r"the journal cannot change after initialize"):
        ref.proxy().journal = InMemoryJournal()


def test_states_that_would_be_stored_alike_are_refused() -> None:
    class Clash(PersistentFSM, FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.persistence_id = "clash"
            self.journal = InMemoryJournal()
            self.start_with("1", None)
            self.when("1", lambda e: None)
            self.when(1.0, lambda e: None)
            self.when(1, lambda e: None)  # 1 == 1.0: one state; "1" differs from 1
            self.initialize()

    Clash.start().stop()  # "1" is stored as '"1"', 1 as '1': distinct

    class Ambiguous(PersistentFSM, FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.persistence_id = "ambiguous"
            self.journal = InMemoryJournal()
            self.start_with(("a", 1), None)
            self.when(("a", 1), lambda e: None)
            self.when(_SameRepr(1), lambda e: None)
            self.when(_SameRepr(2), lambda e: None)
            self.initialize()

    with pytest.raises(FSMError, match=r"would both be stored as 'same'"):
        Ambiguous.start()


class _SameRepr:
    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return "same"


def test_persistent_fsm_runs_under_the_tester() -> None:
    """An InMemoryJournal made in the test outlives the FSMs of one iteration: a second
    instance recovers what the first acknowledged."""

    def test(runtime: testkit.Runtime) -> None:
        journal = InMemoryJournal()
        probe = testkit.TestProbe()
        first = on(pykka.ThreadingActor, Account).start("acct-t", journal)
        probe.send(first, Deposit(2))
        probe.send(first, Deposit(3))
        probe.expect_msg(("ok", 2))
        probe.expect_msg(("ok", 3))
        first.stop()
        second = on(pykka.ThreadingActor, Account).start("acct-t", journal)
        probe.send(second, GetBalance())
        probe.expect_msg((S.OPEN, 5))

    report = testkit.explore(test, iterations=50, max_steps=500, seed=3)
    assert report.bug is None, report.bug and report.summary()


@dataclass(frozen=True)
class _Opaque:  # never registered: it cannot be snapshotted
    total: int


def test_data_that_cannot_be_snapshotted_is_logged_once_and_the_events_still_stored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Opaque(PersistentFSM, FSM, pykka.ThreadingActor):
        snapshot_every = 1

        def __init__(self, journal: fsm.Journal) -> None:
            super().__init__()
            self.persistence_id = "opaque"
            self.journal = journal
            self.start_with("on", _Opaque(0))
            self.when("on", lambda e: self.stay().applying(Deposited(1)).replying("ok"))
            self.initialize()

        def apply_event(self, event: Any, data: _Opaque) -> _Opaque:
            return _Opaque(data.total + 1)

    journal = InMemoryJournal()
    ref = Opaque.start(journal)
    with caplog.at_level(logging.ERROR):
        assert [ref.ask("x") for _ in range(3)] == ["ok"] * 3
    lines = [r.getMessage() for r in caplog.records if "cannot snapshot" in r.getMessage()]
    assert len(lines) == 1 and "register it with fsm.register_event(_Opaque" in lines[0]
    assert journal.snapshot("opaque") is None
    assert journal.events("opaque") == [Deposited(1)] * 3
    ref.stop()
    assert Opaque.start(journal).proxy().state_data.get() == _Opaque(3)
