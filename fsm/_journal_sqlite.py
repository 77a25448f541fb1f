"""`SQLiteJournal`: the embedded production journal, one SQLite file in WAL mode.

Durability: a write returns only after its transaction committed with `synchronous=FULL`
(the default), i.e. the WAL was fsynced: an acknowledged event survives a killed process and
a power cut. `synchronous="normal"` skips that fsync in WAL mode: it still survives a killed
process (the data is in the OS's page cache before `write` returns), not a power cut or an
OS crash; it is several times faster where fsync is slow.

Batching (group commit): writes that arrive while a commit is under way wait and go
together in the next transaction, one fsync for all of them, each in a savepoint of its own so
that one rejected write does not take the others with it. A lone writer never waits.

Several processes may open the same file: SQLite's locks order their writes (a writer waits
up to `busy_timeout` seconds for another), WAL lets readers recover while others write.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any, Final

from fsm._errors import JournalError, PersistFailed, PersistRejected
from fsm._journal import AtomicWrite, Journal, JournalEntry, Recovery, SnapshotEntry

SCHEMA_VERSION: Final = 1
"""The layout this module writes and reads (`PRAGMA user_version` of the file)."""

APPLICATION_ID: Final = 0x706B6673
"""`PRAGMA application_id` of a journal file ("pkfs"): tells ours from other SQLite files."""

_SYNCHRONOUS: Final = {"full": "FULL", "normal": "NORMAL", "off": "OFF"}

_SCHEMA: Final = (
    """CREATE TABLE events (
        persistence_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        state TEXT NOT NULL,
        manifest TEXT NOT NULL,
        payload,
        PRIMARY KEY (persistence_id, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE snapshots (
        persistence_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        state TEXT NOT NULL,
        manifest TEXT NOT NULL,
        payload,
        PRIMARY KEY (persistence_id, seq)
    ) WITHOUT ROWID""",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT INTO meta VALUES ('format', 'pykka-fsm journal')",
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)

_OK: Final[Any] = object()


class _Pending:
    """One write waiting for a group commit, and then its outcome. `wake` is held until the
    leader releases it: with the outcome set, or with none to hand over the leadership."""

    __slots__ = ("batch", "outcome", "wake")

    def __init__(self, batch: AtomicWrite) -> None:
        self.batch = batch
        self.outcome: Any = None  # _OK or the exception to raise
        self.wake = threading.Lock()
        self.wake.acquire()


class SQLiteJournal(Journal):
    """A journal in one SQLite file (created if missing; its directory must exist).

    `synchronous`: "full" (default; fsync before a write is confirmed), "normal" (survives a
    killed process, not a power cut) or "off" (bulk loading and throwaway tests only).
    `allow_pickle`: pickle events that are not registered, and read pickles back; unsafe for
    a file you do not trust (unpickling runs code the file names). `busy_timeout`: seconds
    to wait for another process's write. `max_batch`: most writes per group commit.

    Example: `fsm.set_default_journal(fsm.SQLiteJournal("/var/lib/orders/journal.db"))`
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "full",
        allow_pickle: bool = False,
        busy_timeout: float = 30.0,
        max_batch: int = 512,
    ) -> None:
        self.path = Path(os.path.abspath(os.fspath(path)))
        if synchronous not in _SYNCHRONOUS:
            raise JournalError(
                f"SQLiteJournal({str(self.path)!r}, synchronous={synchronous!r}): choose one "
                f"of {sorted(_SYNCHRONOUS)}"
            )
        if type(max_batch) is not int or max_batch < 1:
            raise JournalError(
                f"SQLiteJournal: max_batch must be an integer >= 1, got {max_batch!r}"
            )
        self.synchronous = synchronous
        self.allow_pickle = allow_pickle
        self.busy_timeout = busy_timeout
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when no leader writes
        self._queue: list[_Pending] = []
        self._writing = False  # a leader is committing (or about to)
        self._closed = False
        self._conn = self._open()

    # ---- opening ---------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        folder = self.path.parent
        try:
            if not folder.is_dir():
                raise JournalError(
                    f"cannot open journal {self.path}: the directory {folder} does not exist; "
                    "create it first (the journal creates only its own file)"
                )
            if self.path.is_dir():
                raise JournalError(
                    f"cannot open journal {self.path}: it is a directory, not a file"
                )
        except OSError as exc:
            raise JournalError(
                f"cannot open journal {self.path}: this process may not reach its directory "
                f"{folder} ({exc.strerror}); check the permissions of the directories above it"
            ) from None
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,  # transactions are explicit
                check_same_thread=False,  # the group commit's leader may be any writer
            )
        except sqlite3.Error as exc:
            raise self._open_error(exc) from None
        try:
            self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        try:
            app_id, version, tables = self._header(conn)
            if app_id == 0 and not tables:
                self._create(conn)
            else:
                self._check(app_id, version, tables)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[self.synchronous]}")
        except sqlite3.Error as exc:
            raise self._open_error(exc) from None
        if str(mode).lower() != "wal":
            raise JournalError(
                f"cannot open journal {self.path}: SQLite refused WAL mode (got {mode!r}); "
                "the file system may not support it (a network share?): use a local disk"
            )

    def _header(self, conn: sqlite3.Connection) -> tuple[int, int, set[str]]:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return app_id, version, {row[0] for row in rows}

    def _create(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # another process may be creating it right now
        try:
            app_id, version, tables = self._header(conn)
            if app_id == 0 and not tables:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute("COMMIT")
                return
            conn.execute("ROLLBACK")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._check(app_id, version, tables)

    def _check(self, app_id: int, version: int, tables: set[str]) -> None:
        if app_id != APPLICATION_ID:
            names = ", ".join(sorted(tables)) or "none"
            raise JournalError(
                f"{self.path} is an SQLite database of another program (application_id "
                f"{app_id:#x}, tables: {names}), not a pykka-fsm journal; give SQLiteJournal "
                "a file of its own"
            )
        if version != SCHEMA_VERSION:
            raise JournalError(
                f"journal {self.path} has schema version {version}, and this pykka-fsm reads "
                f"version {SCHEMA_VERSION} only: open it with the pykka-fsm release that "
                "wrote it (or migrate it); nothing was changed in the file"
            )
        missing = {"events", "snapshots", "meta"} - tables
        if missing:
            raise JournalError(
                f"journal {self.path} is damaged: its tables {sorted(missing)} are missing; "
                "restore it from a backup"
            )

    def _open_error(self, exc: sqlite3.Error) -> JournalError:
        text = str(exc)
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return JournalError(
                f"cannot open journal {self.path}: it is not a readable SQLite database "
                f"({text}): a corrupt file or one of another kind; restore it from a backup "
                "or choose another path"
            )
        folder = self.path.parent
        if not os.access(folder, os.W_OK) or "readonly" in text or "read-only" in text:
            return JournalError(
                f"cannot open journal {self.path} for writing ({text}): the file or its "
                f"directory {folder} is read-only; a journal needs to write its file and its "
                "-wal and -shm files beside it"
            )
        return JournalError(f"cannot open journal {self.path}: {text}")

    # ---- writing ---------------------------------------------------------------------------

    def write(self, batch: AtomicWrite) -> None:
        """Store `batch` durably (group-committed with concurrent writers), or raise.

        The first writer to find no commit under way leads: it commits what is queued, wakes
        each writer of that group, and hands the leadership to the first writer still queued
        (who then commits what queued meanwhile, itself included)."""
        pending = _Pending(batch)
        with self._lock:
            if self._closed:
                raise PersistRejected(f"{self} is closed; nothing was written")
            self._queue.append(pending)
            lead = not self._writing
            self._writing = True
        if not lead:
            pending.wake.acquire()  # an outcome, or the leadership
        if pending.outcome is None:
            self._lead(pending)
        if pending.outcome is not _OK:
            raise pending.outcome

    def _lead(self, mine: _Pending) -> None:
        """Commit groups until `mine` has its outcome, then pass the leadership on."""
        try:
            while mine.outcome is None:
                with self._lock:
                    group = self._queue[: self.max_batch]
                    del self._queue[: len(group)]
                try:
                    self._commit(group)
                finally:
                    for pending in group:
                        if pending.outcome is None:  # _commit was interrupted
                            pending.outcome = PersistFailed(f"{self}: the write was interrupted")
                        if pending is not mine:
                            pending.wake.release()
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].wake.release()  # it leads next; _writing stays True
                else:
                    self._writing = False
                    self._idle.notify_all()

    def _commit(self, group: list[_Pending]) -> None:
        """One transaction for `group`; each write in a savepoint of its own (unless it is
        alone), so that a rejected write leaves the others in."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            for pending in group:
                pending.outcome = PersistRejected(
                    f"{self}: could not start a write ({exc}); nothing of it was stored"
                )
            return
        try:
            alone = len(group) == 1  # then the transaction is the write's own: no savepoint
            stored = [pending for pending in group if self._insert(conn, pending, alone)]
            if conn.in_transaction:  # not if the write alone was rejected and rolled back
                conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            for pending in group:
                if pending.outcome is None:
                    pending.outcome = PersistFailed(
                        f"{self}: writing events {pending.batch.first}..{pending.batch.last} of "
                        f"{pending.batch.persistence_id!r} failed ({exc}); they may or may not "
                        "be stored"
                    )
            return
        for pending in stored:
            pending.outcome = _OK

    def _insert(self, conn: sqlite3.Connection, pending: _Pending, alone: bool) -> bool:
        batch = pending.batch
        pid = batch.persistence_id
        if not alone:
            conn.execute("SAVEPOINT w")
        try:
            conn.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                [(pid, e.sequence_nr, e.state, e.manifest, e.payload) for e in batch.entries],
            )
            if batch.snapshot is not None:
                s = batch.snapshot
                conn.execute(
                    "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?)",
                    (pid, s.sequence_nr, s.state, s.manifest, s.payload),
                )
                conn.execute(
                    "DELETE FROM snapshots WHERE persistence_id = ? AND seq < ?",
                    (pid, s.sequence_nr),
                )
        except sqlite3.IntegrityError:
            if alone:
                conn.execute("ROLLBACK")  # rows the executemany inserted before the conflict
            else:
                conn.execute("ROLLBACK TO w")
                conn.execute("RELEASE w")
            taken = self._highest(conn, pid)
            pending.outcome = PersistRejected(
                f"{self}: sequence number {batch.first} of {pid!r} is already taken (the "
                f"journal has up to {taken}): another writer of the same persistence id, "
                "probably in another process, wrote meanwhile; nothing of this write was stored"
            )
            return False
        if not alone:
            conn.execute("RELEASE w")
        return True

    # ---- reading ---------------------------------------------------------------------------

    def recover(self, persistence_id: str) -> Recovery:
        conn = self._reader()
        try:
            conn.execute("BEGIN")  # snapshot and events from one consistent view
            row = conn.execute(
                "SELECT seq, state, manifest, payload FROM snapshots WHERE persistence_id = ? "
                "ORDER BY seq DESC LIMIT 1",
                (persistence_id,),
            ).fetchone()
        except sqlite3.Error as exc:
            conn.close()
            raise self._read_error(exc, persistence_id) from None
        snapshot = None if row is None else SnapshotEntry(*row)
        after = 0 if snapshot is None else snapshot.sequence_nr
        return Recovery(snapshot, self._stream(conn, persistence_id, after))

    def _stream(
        self, conn: sqlite3.Connection, persistence_id: str, after: int
    ) -> Iterator[JournalEntry]:
        try:
            cursor = conn.execute(
                "SELECT seq, state, manifest, payload FROM events "
                "WHERE persistence_id = ? AND seq > ? ORDER BY seq",
                (persistence_id, after),
            )
            cursor.arraysize = 1024
            while True:
                rows = cursor.fetchmany()
                if not rows:
                    return
                for row in rows:
                    yield JournalEntry(*row)
        except sqlite3.Error as exc:
            raise self._read_error(exc, persistence_id) from None
        finally:
            conn.close()

    def highest_sequence_nr(self, persistence_id: str) -> int:
        conn = self._reader()
        try:
            return self._highest(conn, persistence_id)
        except sqlite3.Error as exc:
            raise self._read_error(exc, persistence_id) from None
        finally:
            conn.close()

    def persistence_ids(self) -> list[str]:
        conn = self._reader()
        try:
            rows = conn.execute(
                "SELECT DISTINCT persistence_id FROM events ORDER BY persistence_id"
            ).fetchall()
        except sqlite3.Error as exc:
            raise self._read_error(exc, None) from None
        finally:
            conn.close()
        return [row[0] for row in rows]

    def snapshot(self, persistence_id: str) -> SnapshotEntry | None:
        """The latest snapshot of `persistence_id`, if any."""
        conn = self._reader()
        try:
            row = conn.execute(
                "SELECT seq, state, manifest, payload FROM snapshots WHERE persistence_id = ? "
                "ORDER BY seq DESC LIMIT 1",
                (persistence_id,),
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._read_error(exc, persistence_id) from None
        finally:
            conn.close()
        return None if row is None else SnapshotEntry(*row)

    def check(self) -> None:
        """Run SQLite's integrity check over the whole file; raise `JournalError` naming the
        file if it finds damage (it reads every page: slow on a large journal)."""
        conn = self._reader()
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.Error as exc:
            raise self._read_error(exc, None) from None
        finally:
            conn.close()
        if [tuple(r) for r in rows] != [("ok",)]:
            problems = "; ".join(str(r[0]) for r in rows[:5])
            raise JournalError(
                f"journal {self.path} is damaged ({problems}); restore it from a backup"
            )

    def _all(self, persistence_id: str) -> Iterator[JournalEntry]:
        return self._stream(self._reader(), persistence_id, 0)

    @staticmethod
    def _highest(conn: sqlite3.Connection, persistence_id: str) -> int:
        row = conn.execute(
            "SELECT max(seq) FROM events WHERE persistence_id = ?", (persistence_id,)
        ).fetchone()
        return int(row[0] or 0)

    def _reader(self) -> sqlite3.Connection:
        if self._closed:
            raise JournalError(f"{self} is closed")
        try:
            return sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._open_error(exc) from None

    def _read_error(self, exc: sqlite3.Error, persistence_id: str | None) -> JournalError:
        what = "" if persistence_id is None else f" the entries of {persistence_id!r}"
        return JournalError(
            f"cannot read{what} from journal {self.path} ({exc}): the file is damaged or "
            "not a pykka-fsm journal; restore it from a backup"
        )

    # ---- the rest --------------------------------------------------------------------------

    @property
    def identity(self) -> Hashable:
        return ("sqlite", os.path.realpath(self.path))

    def close(self) -> None:
        """Wait for the write under way, close the file; later writes are rejected."""
        with self._lock:
            self._closed = True
            while self._writing:
                self._idle.wait()
            self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteJournal({str(self.path)!r})"
