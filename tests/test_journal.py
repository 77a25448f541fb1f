"""Journals and their files: the JSON codec, SQLiteJournal's durability, batching, several
processes, and every kind of bad input as a clear error that names the file."""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pykka
import pytest

import fsm
from fsm import (
    Event,
    FSMError,
    InMemoryJournal,
    JournalError,
    PersistRejected,
    RecoveryFailed,
    SQLiteJournal,
    State,
)
from fsm._codec import decode_data, decode_event, encode_data, encode_event
from fsm._journal import AtomicWrite, JournalEntry, SnapshotEntry
from tests.bases import on
from tests.persistent_accounts import (
    Account,
    Balance,
    Deposit,
    Deposited,
    GetBalance,
    S,
    Withdrawn,
)

ROOT = Path(__file__).resolve().parent.parent


class Colour(enum.Enum):
    RED = 1
    BLUE = 2


@dataclass(frozen=True)
class Line:
    sku: str
    qty: int
    price: decimal.Decimal


@dataclass(frozen=True)
class OrderPlaced:
    order_id: uuid.UUID
    lines: tuple[Line, ...]
    tags: frozenset[str]
    colour: Colour
    at: datetime.datetime
    due: datetime.date
    wait: datetime.timedelta
    blob: bytes
    by_qty: dict[int, str]
    notes: dict[str, Any]
    extra: list[Any] = field(default_factory=list)
    maybe: float | None = None


fsm.register_event(Colour, "test.Colour")
fsm.register_event(Line, "test.Line")
fsm.register_event(OrderPlaced, "test.OrderPlaced")


def sample_order() -> OrderPlaced:
    return OrderPlaced(
        order_id=uuid.UUID(int=42),
        lines=(Line("tea", 2, decimal.Decimal("3.10")), Line("cake", 1, decimal.Decimal("4"))),
        tags=frozenset({"gift", "rush"}),
        colour=Colour.BLUE,
        at=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        due=datetime.date(2026, 2, 3),
        wait=datetime.timedelta(days=1, seconds=2, microseconds=3),
        blob=b"\x00\xffbytes",
        by_qty={1: "one", 2: "two"},
        notes={"$odd": "key", "plain": [1, 2.5, None, True, {"nested": (1, 2)}]},
        extra=[{1, 2}, "x"],
        maybe=float("inf"),
    )


# ---- the codec ----------------------------------------------------------------------------


def test_events_round_trip_through_json() -> None:
    order = sample_order()
    manifest, payload = encode_event(order, allow_pickle=False)
    assert manifest == "test.OrderPlaced"
    assert isinstance(payload, str) and "tea" in payload  # readable JSON, not a pickle
    again = decode_event(manifest, payload, False, "here")
    assert again == order
    assert type(again.lines) is tuple and type(again.extra[0]) is set
    assert decode_event(*encode_event(Colour.RED, False), False, "here") is Colour.RED


def test_snapshot_data_round_trips() -> None:
    for data in (None, 3, "s", [1, (2, 3)], {"a": Balance(1, (1,))}, sample_order()):
        manifest, payload = encode_data(data, allow_pickle=False)
        assert decode_data(manifest, payload, False, "here") == data


def test_register_event_rejects_what_it_cannot_store() -> None:
    class NotADataclass:
        pass

    with pytest.raises(FSMError, match=r"events are dataclasses \(or Enum classes\)"):
        fsm.register_event(NotADataclass, "x.NotADataclass")
    with pytest.raises(FSMError, match=r"the name must be a non-empty string"):
        fsm.register_event(Line, "")
    with pytest.raises(FSMError, match=r"'test.Line' is already registered for"):
        fsm.register_event(Balance, "test.Line")
    with pytest.raises(FSMError, match=r"Line is already registered as 'test.Line'"):
        fsm.register_event(Line, "test.Line2")
    assert fsm.register_event(Line, "test.Line") is Line  # the same again: harmless


@dataclass(frozen=True)
class Unknown:
    x: int


@dataclass(frozen=True)
class Holder:
    inner: tuple[Any, ...]


fsm.register_event(Holder, "test.Holder")


def test_an_unregistered_value_inside_an_event_is_named() -> None:
    with pytest.raises(FSMError, match=r"Holder\.inner\[0\] is a dataclass of type .*Unknown"):
        encode_event(Holder((Unknown(1),)), allow_pickle=False)
    manifest, payload = encode_event(Holder((Unknown(1),)), allow_pickle=True)
    assert manifest == "pickle" and isinstance(payload, bytes)


def test_reading_never_builds_an_unregistered_class() -> None:
    with pytest.raises(JournalError, match=r"here: type name 'os.system' is not registered"):
        decode_event("os.system", '{"command": "true"}', False, "here")
    payload = pickle.dumps(Line("a", 1, decimal.Decimal(1)))
    with pytest.raises(JournalError, match=r"reading a pickle runs whatever code it names"):
        decode_event("pickle", payload, False, "here")
    with pytest.raises(JournalError, match=r"here: cannot rebuild Line .* fields changed"):
        decode_event("test.Line", '{"sku": "a", "quantity": 1}', False, "here")
    with pytest.raises(JournalError, match=r"not valid JSON"):
        decode_event("test.Line", "{nope", False, "here")


# ---- SQLiteJournal: opening --------------------------------------------------------------


def test_a_new_journal_file_is_created_in_wal_mode_with_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with SQLiteJournal(path) as journal:
        journal.write(AtomicWrite("p", (JournalEntry(1, "s", "test.Deposited", '{"amount":1}'),)))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x706B6673
    conn.close()
    with SQLiteJournal(path) as again:  # and it opens again
        assert again.events("p") == [Deposited(1)]


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "journal.db"
    with pytest.raises(JournalError, match=rf"cannot open journal {path}: the directory .* does "):
        SQLiteJournal(path)
    assert not (tmp_path / "no").exists()


def test_another_schema_version_is_a_clear_error_and_the_file_is_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    SQLiteJournal(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(JournalError, match=rf"journal {path} has schema version 7, and this "):
        SQLiteJournal(path)
    assert path.read_bytes() == before


def test_a_foreign_sqlite_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match=rf"{path} is an SQLite database of another program"):
        SQLiteJournal(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(JournalError, match=rf"cannot open journal {path}: it is not a readable"):
        SQLiteJournal(path)
    assert path.read_bytes().startswith(b"these are my notes")


def test_a_damaged_journal_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = SQLiteJournal(path)
    for n in range(1, 400):
        payload = json.dumps({"amount": n})
        journal.write(AtomicWrite("p", (JournalEntry(n, "S.OPEN", "test.Deposited", payload),)))
    journal.close()  # the last connection checkpoints the WAL into the file
    size = path.stat().st_size
    assert size > 8 * 4096
    with path.open("r+b") as f:  # scribble over the pages after the schema
        f.seek(2 * 4096)
        f.write(os.urandom(size - 2 * 4096))
    with pytest.raises(JournalError, match=str(path)):
        damaged = SQLiteJournal(path)
        list(damaged.recover("p").entries)
    with pytest.raises(JournalError, match=rf"journal {path} is damaged|cannot read"):
        SQLiteJournal(path).check()


def as_other_user(fn: Callable[[], str]) -> str:
    """Run `fn` in a forked child without root's power to write anywhere (as `nobody`), and
    return what it returns (or the text of what it raised)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest machinery from here on
        try:
            os.close(read)
            if os.getuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            try:
                text = fn()
            except Exception as exc:
                text = f"{type(exc).__name__}: {exc}"
            os.write(write, text.encode())
        finally:
            os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary directory every user may look into (pytest's tmp_path is root's only)."""
    path = Path(tempfile.mkdtemp(prefix="journal-ro-"))
    path.chmod(0o755)
    yield path
    for folder, _, _ in os.walk(path):
        os.chmod(folder, 0o755)
    shutil.rmtree(path)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_read_only_directory_is_a_clear_error(open_tmp: Path) -> None:
    folder = open_tmp / "ro"
    folder.mkdir()
    existing = folder / "old.db"
    with SQLiteJournal(existing) as journal:
        journal.write(AtomicWrite("p", (JournalEntry(1, "S.OPEN", "test.Deposited", "{}"),)))
    existing.chmod(0o444)
    folder.chmod(0o555)  # the child may look in, not write

    def open_new() -> str:
        SQLiteJournal(folder / "new.db")
        return "opened"

    def open_existing() -> str:
        SQLiteJournal(existing)
        return "opened"

    text = as_other_user(open_new)
    assert text.startswith("JournalError: cannot open journal"), text
    assert str(folder / "new.db") in text and "read-only" in text
    text = as_other_user(open_existing)
    assert text.startswith("JournalError: cannot open journal"), text
    assert str(existing) in text and "read-only" in text
    folder.chmod(0o755)
    existing.chmod(0o644)
    with SQLiteJournal(existing) as journal:  # nothing was lost
        assert journal.highest_sequence_nr("p") == 1


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match=r"synchronous='always'\): choose one of"):
        SQLiteJournal(tmp_path / "j.db", synchronous="always")
    with pytest.raises(JournalError, match=r"max_batch must be an integer >= 1"):
        SQLiteJournal(tmp_path / "j.db", max_batch=0)
    with pytest.raises(JournalError, match=r"it is a directory, not a file"):
        SQLiteJournal(tmp_path)


# ---- SQLiteJournal: writing and reading -------------------------------------------------


def entry(n: int, amount: int = 1) -> JournalEntry:
    return JournalEntry(n, "S.OPEN", "test.Deposited", json.dumps({"amount": amount}))


def test_snapshots_and_recovery_read_one_consistent_view(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "j.db") as journal:
        journal.write(AtomicWrite("p", (entry(1), entry(2))))
        data = '{"$t":"test.Balance","f":{"amount":2}}'
        journal.write(AtomicWrite("p", (entry(3),), SnapshotEntry(3, "S.OPEN", "json", data)))
        journal.write(AtomicWrite("p", (entry(4),), SnapshotEntry(4, "S.OPEN", "json", data)))
        journal.write(AtomicWrite("p", (entry(5),)))
        recovery = journal.recover("p")
        assert recovery.snapshot is not None and recovery.snapshot.sequence_nr == 4
        assert [e.sequence_nr for e in recovery.entries] == [5]
        assert journal.highest_sequence_nr("p") == 5
        assert journal.highest_sequence_nr("q") == 0
        assert journal.persistence_ids() == ["p"]


def test_a_taken_sequence_number_is_rejected_and_the_rest_of_the_group_stored(
    tmp_path: Path,
) -> None:
    with SQLiteJournal(tmp_path / "j.db") as journal:
        journal.write(AtomicWrite("p", (entry(1),)))
        with pytest.raises(PersistRejected, match=r"sequence number 1 of 'p' is already taken"):
            journal.write(AtomicWrite("p", (entry(1, 99),)))
        assert journal.events("p") == [Deposited(1)]


class _SlowFirstCommit(SQLiteJournal):
    """Holds the first commit until `waiting` more writes queued behind it."""

    waiting = 0
    groups: list[int]

    def _commit(self, group: list[Any]) -> None:
        if not hasattr(self, "groups"):
            self.groups = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with self._lock:
                    if len(self._queue) >= self.waiting:
                        break
                time.sleep(0.001)
        self.groups.append(len(group))
        super()._commit(group)


def test_concurrent_writers_share_one_commit(tmp_path: Path) -> None:
    journal = _SlowFirstCommit(tmp_path / "j.db")
    journal.waiting = 7
    errors: list[BaseException] = []

    def writer(pid: str) -> None:
        try:
            journal.write(AtomicWrite(pid, (entry(1),)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"p{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert journal.groups == [1, 7]  # the first alone, then the seven that came meanwhile
    assert journal.persistence_ids() == [f"p{i}" for i in range(8)]
    journal.close()


def test_one_rejected_write_in_a_group_does_not_take_the_others_along(tmp_path: Path) -> None:
    journal = _SlowFirstCommit(tmp_path / "j.db")
    journal.write(AtomicWrite("dup", (entry(1),)))  # the slow first commit, alone
    del journal.groups
    journal.waiting = 2
    outcomes: dict[str, Any] = {}

    def writer(name: str, batch: AtomicWrite) -> None:
        try:
            journal.write(batch)
            outcomes[name] = "ok"
        except PersistRejected as exc:
            outcomes[name] = exc

    batches = {
        "first": AtomicWrite("a", (entry(1),)),
        "dup": AtomicWrite("dup", (entry(1, 7),)),
        "fine": AtomicWrite("b", (entry(1), entry(2))),
    }
    threads = [threading.Thread(target=writer, args=item) for item in batches.items()]
    threads[0].start()
    while not hasattr(journal, "groups") or not journal._writing:
        time.sleep(0.001)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert journal.groups == [1, 2]
    assert outcomes["first"] == "ok" and outcomes["fine"] == "ok"
    assert isinstance(outcomes["dup"], PersistRejected)
    assert journal.events("dup") == [Deposited(1)]
    assert journal.events("b") == [Deposited(1), Deposited(1)]
    journal.close()


def test_a_full_disk_fails_the_write_and_stops_the_fsm(tmp_path: Path) -> None:
    journal = SQLiteJournal(tmp_path / "j.db")
    ref = on(pykka.ThreadingActor, Account).start("full", journal)
    assert ref.ask(Deposit(1)) == ("ok", 1)
    pages = journal._conn.execute("PRAGMA page_count").fetchone()[0]
    journal._conn.execute(f"PRAGMA max_page_count = {pages}")  # no room for another page

    @dataclass(frozen=True)
    class Big:
        pass

    class Hoarder(Account):
        def open(self, event: Event) -> State | None:
            if isinstance(event.message, Big):
                return self.stay().applying(*[Deposited(n) for n in range(3000)])
            return super().open(event)

    ref.stop()
    ref = on(pykka.ThreadingActor, Hoarder).start("full", journal)
    with pytest.raises(fsm.PersistFailed, match=r"full"):
        ref.ask(Big())
    assert ref.actor_stopped.wait(10)
    journal._conn.execute("PRAGMA max_page_count = 1073741823")
    assert journal.events("full") == [Deposited(1)]
    journal.close()


def test_a_closed_journal_rejects_writes(tmp_path: Path) -> None:
    journal = SQLiteJournal(tmp_path / "j.db")
    journal.close()
    with pytest.raises(PersistRejected, match=r"is closed; nothing was written"):
        journal.write(AtomicWrite("p", (entry(1),)))
    memory = InMemoryJournal()
    memory.close()
    with pytest.raises(PersistRejected, match=r"is closed"):
        memory.write(AtomicWrite("p", (entry(1),)))


# ---- bad input through a PersistentFSM ---------------------------------------------------


@dataclass(frozen=True)
class Unregistered:
    amount: int


@dataclass(frozen=True)
class Gift:
    amount: int


class Gifted(Account):
    """Applies an event type nobody registered."""

    def open(self, event: Event) -> State | None:
        if isinstance(event.message, Gift):
            return self.stay().applying(Unregistered(event.message.amount)).replying("thanks")
        return super().open(event)

    def apply_event(self, event: Any, data: Balance) -> Balance:
        if isinstance(event, Unregistered):
            return Balance(data.amount + event.amount, (*data.history, event.amount))
        return super().apply_event(event, data)


def test_applying_an_unregistered_event_is_rejected_and_stores_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = SQLiteJournal(tmp_path / "j.db")
    ref = on(pykka.ThreadingActor, Gifted).start("gift", journal)
    ref.ask(Deposit(1))
    with pytest.raises(PersistRejected, match=r"Unregistered, which is not registered: regi"):
        ref.ask(Gift(5))
    assert ref.actor_stopped.wait(10)
    lines = [r.getMessage() for r in caplog.records if "stops: it cannot persist" in r.getMessage()]
    assert len(lines) == 1 and "Gifted 'gift' stops" in lines[0]
    assert "fsm.register_event(Unregistered, '<unique name>')" in lines[0]
    assert journal.events("gift") == [Deposited(1)]
    journal.close()


def test_pickle_only_when_asked_and_read_back_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = SQLiteJournal(path, allow_pickle=True)
    ref = on(pykka.ThreadingActor, Gifted).start("gift", journal)
    assert ref.ask(Gift(5)) == "thanks"
    ref.stop()
    journal.close()
    safe = SQLiteJournal(path)
    with pytest.raises(JournalError, match=rf"SQLiteJournal\('{path}'\): entry 1 of 'gift': .*"):
        on(pykka.ThreadingActor, Gifted).start("gift", safe)
    safe.close()
    trusting = SQLiteJournal(path, allow_pickle=True)
    ref = on(pykka.ThreadingActor, Gifted).start("gift", trusting)
    assert ref.ask(GetBalance()) == (S.OPEN, 5)
    trusting.close()


class Strict(Account):
    """Its apply_event no longer accepts withdrawals (a bug introduced later)."""

    def apply_event(self, event: Any, data: Balance) -> Balance:
        if isinstance(event, Withdrawn):
            raise ValueError("withdrawals are not supported")
        return super().apply_event(event, data)


@pytest.mark.parametrize("journal_kind", ["memory", "sqlite"])
def test_apply_event_raising_during_recovery_is_a_clear_error_and_loses_nothing(
    tmp_path: Path, journal_kind: str
) -> None:
    journal: fsm.Journal = (
        InMemoryJournal() if journal_kind == "memory" else SQLiteJournal(tmp_path / "j.db")
    )
    ref = on(pykka.ThreadingActor, Account).start("strict", journal)
    ref.ask(Deposit(5))
    ref.ask(fsm_withdraw(2))
    ref.stop()
    with pytest.raises(RecoveryFailed) as caught:
        on(pykka.ThreadingActor, Strict).start("strict", journal)
    text = str(caught.value)
    assert "Strict 'strict' cannot recover: apply_event raised ValueError(" in text
    assert "on event 2 Withdrawn(amount=2)" in text and "the journal is unchanged" in text
    assert isinstance(caught.value.__cause__, ValueError)
    # nothing lost, and the persistence id is free again for a fixed class
    assert journal.events("strict") == [Deposited(5), Withdrawn(2)]
    assert on(pykka.ThreadingActor, Account).start("strict", journal).ask(GetBalance()) == (
        S.OPEN,
        3,
    )


def fsm_withdraw(n: int) -> Any:
    from tests.persistent_accounts import Withdraw

    return Withdraw(n)


def test_an_event_type_unknown_to_the_reader_is_a_clear_error(tmp_path: Path) -> None:
    journal = SQLiteJournal(tmp_path / "j.db")
    journal.write(AtomicWrite("p", (JournalEntry(1, "S.OPEN", "elsewhere.Renamed", "{}"),)))
    with pytest.raises(
        JournalError,
        match=r"entry 1 of 'p': type name 'elsewhere.Renamed' is not registered in this proc",
    ):
        on(pykka.ThreadingActor, Account).start("p", journal)
    journal.close()


def test_a_stored_state_the_fsm_does_not_declare_is_a_clear_error() -> None:
    journal = InMemoryJournal()
    journal.write(AtomicWrite("p", (JournalEntry(1, "S.ARCHIVED", "", ""),)))
    with pytest.raises(RecoveryFailed, match=r"was in state S.ARCHIVED, which Account does not"):
        on(pykka.ThreadingActor, Account).start("p", journal)


@pytest.mark.parametrize("same_file_twice", [False, True])
def test_two_actors_with_one_persistence_id_at_once_is_a_clear_error(
    tmp_path: Path, actor_base: type[pykka.Actor], same_file_twice: bool
) -> None:
    path = tmp_path / "j.db"
    first_journal = SQLiteJournal(path)
    second_journal = SQLiteJournal(path) if same_file_twice else first_journal
    first = on(actor_base, Account).start("twin", first_journal)
    first.ask(Deposit(1))
    with pytest.raises(FSMError, match=r"persistence id 'twin' in SQLiteJournal\(.*\) is in use"):
        on(actor_base, Account).start("twin", second_journal)
    assert first.ask(Deposit(2)) == ("ok", 2)  # the first goes on, nothing lost
    other = on(actor_base, Account).start("other", second_journal)  # another id: fine
    other.stop()
    first.stop()
    second = on(actor_base, Account).start("twin", second_journal)
    assert second.ask(GetBalance()) == (S.OPEN, 3)
    second.stop()
    first_journal.close()
    second_journal.close()


def test_a_stopped_by_failure_fsm_frees_its_persistence_id() -> None:
    from tests.persistent_accounts import FaultyJournal

    journal = FaultyJournal(fail=1)
    ref = on(pykka.ThreadingActor, Account).start("freed", journal)
    with pytest.raises(fsm.PersistFailed):
        ref.ask(Deposit(1))
    assert ref.actor_stopped.wait(10)
    on(pykka.ThreadingActor, Account).start("freed", journal).stop()


SECOND_WRITER = """
import sys
import tempfile
import pykka
import fsm
from tests.bases import on
from tests.persistent_accounts import Account, Deposit
journal = fsm.SQLiteJournal(sys.argv[1])
ref = on(pykka.ThreadingActor, Account).start(sys.argv[2], journal)
print(ref.ask(Deposit(int(sys.argv[3]))), flush=True)
ref.stop()
journal.close()
"""


def run_writer(path: Path, pid: str, amount: int) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", SECOND_WRITER, str(path), pid, str(amount)],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_several_processes_share_one_journal_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    journal = SQLiteJournal(path)
    here = on(pykka.ThreadingActor, Account).start("here", journal)
    here.ask(Deposit(1))
    assert run_writer(path, "there", 5) == "('ok', 5)"  # while this process has it open
    assert run_writer(path, "there", 6) == "('ok', 6)"  # recovers what the last one wrote
    here.ask(Deposit(2))
    assert journal.events("there") == [Deposited(5), Deposited(6)]
    assert journal.events("here") == [Deposited(1), Deposited(2)]
    here.stop()
    journal.close()


def test_one_persistence_id_written_from_two_processes_stops_the_stale_writer(
    tmp_path: Path,
) -> None:
    """Across processes nothing stops the second writer from starting (the claim is per
    process); the journal's sequence numbers stop the stale one at its next write, before
    it stores or acknowledges anything."""
    path = tmp_path / "shared.db"
    journal = SQLiteJournal(path)
    here = on(pykka.ThreadingActor, Account).start("twin", journal)
    here.ask(Deposit(1))
    assert run_writer(path, "twin", 5) == "('ok', 5)"  # recovered entry 1, wrote entry 2
    with pytest.raises(PersistRejected, match=r"sequence number 2 of 'twin' is already taken"):
        here.ask(Deposit(2))
    assert here.actor_stopped.wait(10)
    assert journal.events("twin") == [Deposited(1), Deposited(5)]
    assert on(pykka.ThreadingActor, Account).start("twin", journal).ask(GetBalance()) == (
        S.OPEN,
        6,
    )
    journal.close()


def test_a_write_that_conflicts_half_way_stores_none_of_its_entries(tmp_path: Path) -> None:
    with SQLiteJournal(tmp_path / "j.db") as journal:
        journal.write(AtomicWrite("p", (entry(1), entry(2), entry(3))))
        journal.write(AtomicWrite("q", (entry(1),)))
        # entry 3 of "p" is taken: entries 4 and 5 of the same write must not be stored
        with pytest.raises(PersistRejected, match=r"sequence number 3 of 'p'"):
            journal.write(AtomicWrite("p", (entry(3, 9), entry(4), entry(5))))
        with pytest.raises(PersistRejected):
            journal.write(AtomicWrite("q", (entry(2), entry(1, 9))))  # conflicts at its end
        assert journal.highest_sequence_nr("p") == 3
        assert journal.highest_sequence_nr("q") == 1


def test_many_concurrent_writers_all_get_their_outcome(tmp_path: Path) -> None:
    """Leadership passes from writer to writer; nobody is left waiting, nothing is lost."""
    journal = SQLiteJournal(tmp_path / "j.db", synchronous="normal", max_batch=5)
    errors: list[BaseException] = []

    def writer(pid: str) -> None:
        try:
            for n in range(1, 101):
                journal.write(AtomicWrite(pid, (entry(n),)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"p{i}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors
    assert {pid: journal.highest_sequence_nr(pid) for pid in journal.persistence_ids()} == {
        f"p{i}": 100 for i in range(12)
    }
    journal.close()
