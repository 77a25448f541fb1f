"""Journals: where a `PersistentFSM`'s events and snapshots live, and the in-memory one.

A journal stores, per persistence id, entries with consecutive sequence numbers (1, 2, ...)
and at most one snapshot (the latest). Entries and snapshots arrive already serialized
(`fsm._codec`), so every journal stores exactly the same bytes and an `InMemoryJournal`
fails where a file would: an event type that is not registered is an error in tests too.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from fsm._codec import decode_event
from fsm._errors import FSMError, PersistRejected


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One stored entry: an event (`manifest` names its type) or, with an empty manifest,
    a change of state without an event. `state` is the FSM's state after the write this
    entry belongs to, so the last entry tells the state to recover."""

    sequence_nr: int
    state: str
    manifest: str
    payload: str | bytes


@dataclass(frozen=True, slots=True)
class SnapshotEntry:
    """The FSM's state name and data after the entry with `sequence_nr`."""

    sequence_nr: int
    state: str
    manifest: str
    payload: str | bytes


@dataclass(frozen=True, slots=True)
class AtomicWrite:
    """What one handler persists: its entries (consecutive sequence numbers, all or none
    stored) and, every `snapshot_every` events, a snapshot taken after them."""

    persistence_id: str
    entries: tuple[JournalEntry, ...]
    snapshot: SnapshotEntry | None = None

    @property
    def first(self) -> int:
        return self.entries[0].sequence_nr

    @property
    def last(self) -> int:
        return self.entries[-1].sequence_nr


@dataclass(slots=True)
class Recovery:
    """What a journal hands to recovery: the latest snapshot, then the entries after it in
    order. `entries` is read lazily; it must be consumed (or closed) once."""

    snapshot: SnapshotEntry | None
    entries: Iterator[JournalEntry]


class Journal:
    """The interface every journal implements (`InMemoryJournal`, `SQLiteJournal`).

    `write` returns only once the write is durable, or raises `PersistRejected` (nothing of
    it is stored) or `PersistFailed` (it may or may not be stored). Writes of one
    persistence id come from one FSM at a time, in sequence-number order.
    """

    allow_pickle: bool = False
    """Whether unregistered events and snapshot data are pickled, and pickles read back."""

    @property
    def identity(self) -> Hashable:
        """Equal for two journal objects on the same storage (two writers of one
        persistence id must not share it)."""
        return id(self)

    def write(self, batch: AtomicWrite) -> None:
        raise NotImplementedError

    def recover(self, persistence_id: str) -> Recovery:
        raise NotImplementedError

    def highest_sequence_nr(self, persistence_id: str) -> int:
        """The last stored sequence number of `persistence_id` (0: nothing stored)."""
        raise NotImplementedError

    def persistence_ids(self) -> list[str]:
        """Every persistence id with stored entries, sorted."""
        raise NotImplementedError

    def entries(self, persistence_id: str) -> list[JournalEntry]:
        """Every stored entry of `persistence_id` (snapshots aside), in order."""
        recovery = self._all(persistence_id)
        return list(recovery)

    def events(self, persistence_id: str) -> list[Any]:
        """Every stored event of `persistence_id`, deserialized, in order (for tests and
        tools: a `PersistentFSM` recovers with `recover`).

        Example: `assert journal.events("account-1") == [Deposited(5), Withdrawn(2)]`
        """
        return [
            decode_event(e.manifest, e.payload, self.allow_pickle, self._where(persistence_id, e))
            for e in self._all(persistence_id)
            if e.manifest
        ]

    def close(self) -> None:
        """Release what the journal holds (files, connections); later writes are rejected."""

    def _all(self, persistence_id: str) -> Iterator[JournalEntry]:
        raise NotImplementedError

    def _where(self, persistence_id: str, entry: JournalEntry | SnapshotEntry) -> str:
        kind = "snapshot" if isinstance(entry, SnapshotEntry) else "entry"
        return f"{self}: {kind} {entry.sequence_nr} of {persistence_id!r}"

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InMemoryJournal(Journal):
    """A journal in this process's memory: for tests, the tester, and state that need not
    outlive the process. It serializes like a file journal (same checks, no shared objects
    between the FSM and what recovery returns); it is lost when the process ends.

    Example: `fsm.set_default_journal(fsm.InMemoryJournal())`
    """

    def __init__(self, *, allow_pickle: bool = False) -> None:
        self.allow_pickle = allow_pickle
        self._entries: dict[str, list[JournalEntry]] = {}
        self._snapshots: dict[str, SnapshotEntry] = {}
        self._lock = threading.Lock()  # a guard only: production FSMs write from many threads
        self._closed = False

    def write(self, batch: AtomicWrite) -> None:
        with self._lock:
            if self._closed:
                raise PersistRejected(f"{self} is closed; nothing was written")
            stored = self._entries.setdefault(batch.persistence_id, [])
            expected = (stored[-1].sequence_nr if stored else 0) + 1
            if not batch.entries or batch.first != expected:
                raise PersistRejected(
                    f"{self}: {batch.persistence_id!r} continues at sequence number "
                    f"{expected}, but the write starts at {batch.first if batch.entries else '?'}:"
                    " another writer of the same persistence id wrote meanwhile; nothing of "
                    "this write was stored"
                )
            stored.extend(batch.entries)
            if batch.snapshot is not None:
                self._snapshots[batch.persistence_id] = batch.snapshot

    def recover(self, persistence_id: str) -> Recovery:
        with self._lock:
            snapshot = self._snapshots.get(persistence_id)
            stored = list(self._entries.get(persistence_id, ()))
        after = 0 if snapshot is None else snapshot.sequence_nr
        # sequence numbers are consecutive from 1: entry n is at index n - 1
        return Recovery(snapshot, iter(stored[after:]))

    def highest_sequence_nr(self, persistence_id: str) -> int:
        with self._lock:
            stored = self._entries.get(persistence_id)
            return stored[-1].sequence_nr if stored else 0

    def persistence_ids(self) -> list[str]:
        with self._lock:
            return sorted(pid for pid, stored in self._entries.items() if stored)

    def snapshot(self, persistence_id: str) -> SnapshotEntry | None:
        """The latest snapshot of `persistence_id`, if any."""
        with self._lock:
            return self._snapshots.get(persistence_id)

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def _all(self, persistence_id: str) -> Iterator[JournalEntry]:
        with self._lock:
            return iter(list(self._entries.get(persistence_id, ())))

    def __repr__(self) -> str:
        return f"InMemoryJournal(at {id(self):#x})"


_default: Journal | None = None
_default_lock = threading.Lock()


def default_journal() -> Journal:
    """The journal a `PersistentFSM` uses when it names none: an `InMemoryJournal` until
    `set_default_journal` chooses another.

    Example: `journal = fsm.default_journal()`
    """
    global _default
    journal = _default
    if journal is None:
        with _default_lock:
            if _default is None:
                _default = InMemoryJournal()
            journal = _default
    return journal


def set_default_journal(journal: Journal) -> None:
    """Make `journal` the default of every `PersistentFSM` initialized from now on.

    Example: `fsm.set_default_journal(fsm.SQLiteJournal("state/journal.db"))`
    """
    global _default
    if not isinstance(journal, Journal):
        raise FSMError(
            f"set_default_journal({journal!r}): expected a journal such as "
            "fsm.SQLiteJournal(path) or fsm.InMemoryJournal()"
        )
    with _default_lock:
        _default = journal
