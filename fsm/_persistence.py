"""`PersistentFSM`: an FSM whose state is rebuilt from the events it persisted.

A handler returns `goto(S).applying(e1, e2)` (or `stay().applying(...)`). The FSM computes
the next data with `apply_event` (before writing: an event `apply_event` rejects is never
stored), writes the events, and only when the journal confirms the write does it make the
transition, run the `and_then` callbacks and send the reply. On start (`initialize()`) it
recovers: the latest snapshot, then every event after it, then `on_recovery_completed`.

What is stored for the state name: every entry carries the state the FSM is in after the
write it belongs to (a `goto` to another state without events stores an entry with no
event), so recovery takes the state from the last entry, never from guessing. A state is
stored by a stable key: `ClassName.MEMBER` for an enum member, the JSON of a string or
number, else its `repr`.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from fsm._actor import _CONTROL, FSM
from fsm._codec import (
    NotEncodable,
    Unreadable,
    decode_data,
    encode_data,
    encode_event,
    event_decoder,
    unreadable,
)
from fsm._errors import FSMError, JournalError, PersistFailed, PersistRejected
from fsm._journal import AtomicWrite, Journal, JournalEntry, SnapshotEntry
from fsm._state import DEFAULT_TIMEOUT, PersistentState, State


class RecoveryFailed(FSMError):
    """Recovery could not rebuild the FSM from its journal (an `apply_event` that raises, a
    stored state the FSM does not declare). The journal is left as it was."""


_owners_lock = threading.Lock()
_NO_CALLBACKS: tuple[Callable[[Any], object], ...] = ()


def state_key(state: Any) -> str:
    """The stable text a state name is stored as."""
    if isinstance(state, enum.Enum):
        return f"{type(state).__qualname__}.{state.name}"
    if state is None or type(state) in (str, int, float, bool):
        return json.dumps(state)
    return repr(state)


class PersistentFSM(FSM):
    """An event-sourced FSM: `class Account(PersistentFSM, FSM, pykka.ThreadingActor)`.

    Set `persistence_id` (unique per FSM instance) before `initialize()`; optionally
    `journal` (default: `fsm.default_journal()`) and `snapshot_every` (a snapshot of the
    state every N events, so recovery replays at most N events). Override `apply_event`.

    Example:

        class Account(PersistentFSM, FSM, pykka.ThreadingActor):
            def __init__(self, account_id: str) -> None:
                super().__init__()
                self.persistence_id = f"account-{account_id}"
                self.start_with(S.OPEN, Balance(0))
                self.when(S.OPEN, self.open)
                self.initialize()  # recovers here

            def open(self, event: Event) -> State | None:
                match event:
                    case Event(Deposit(n), _):
                        return self.stay().applying(Deposited(n)).replying("ok")
                return None

            def apply_event(self, event: Any, data: Balance) -> Balance:
                match event:
                    case Deposited(n):
                        return Balance(data.amount + n)
                return data
    """

    snapshot_every: int | None = None
    """Store a snapshot every this many events (None: never); instances may override it."""

    _sm_persistent = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pfsm_sequence_nr = 0
        self._pfsm_snapshot_nr = 0
        self._pfsm_owner_key: tuple[Any, str] | None = None
        self._pfsm_key_of: dict[Any, str] = {}
        self._pfsm_warned_snapshot = False
        self._pfsm_recovered: tuple[Any, Any, int, int] | None = None
        """(state name, data, last sequence number, snapshot's sequence number) as
        recovery left them: what `testkit.TestFSMRef.recovered` shows."""
        super().__init__(*args, **kwargs)

    # ---- configuration -------------------------------------------------------------------

    @property
    def persistence_id(self) -> str:
        """The identity of this FSM's events in the journal; set it before `initialize()`."""
        pid = self.__dict__.get("_pfsm_persistence_id")
        if pid is None:
            raise FSMError(
                f"{type(self).__name__} has no persistence_id: set self.persistence_id = "
                "'<unique id>' in __init__ before initialize() (or as a class attribute)"
            )
        return str(pid)

    @persistence_id.setter
    def persistence_id(self, value: str) -> None:
        if self._sm_initialized:
            raise FSMError(
                f"{type(self).__name__}: persistence_id cannot change after initialize()"
            )
        self.__dict__["_pfsm_persistence_id"] = value

    @property
    def journal(self) -> Journal:
        """Where the events go; `fsm.default_journal()` unless set before `initialize()`."""
        journal: Journal | None = self.__dict__.get("_pfsm_journal")
        if journal is None:
            journal = self._fsm_dispatcher.default_journal()
            if self._sm_initialized:
                self.__dict__["_pfsm_journal"] = journal
        return journal

    @journal.setter
    def journal(self, value: Journal) -> None:
        if self._sm_initialized:
            raise FSMError(f"{type(self).__name__}: the journal cannot change after initialize()")
        self.__dict__["_pfsm_journal"] = value

    @property
    def last_sequence_nr(self) -> int:
        """The sequence number of the last entry written or recovered (0: none)."""
        return self._pfsm_sequence_nr

    def apply_event(self, event: Any, data: Any) -> Any:
        """Return the state data after `event`; used when persisting and when recovering,
        so it must be a pure function of its arguments. Override it."""
        raise FSMError(
            f"{type(self).__name__} persists {event!r} but does not override "
            "apply_event(event, data) -> data"
        )

    def on_recovery_completed(self, state: Any, data: Any) -> None:
        """Called once recovery is done, with the recovered state name and data, before the
        first message is handled. Override it to resume work (timers, messages)."""

    # ---- recovery --------------------------------------------------------------------------

    def initialize(self) -> None:
        """Recover from the journal, enter the recovered state, run `on_recovery_completed`."""
        if self._sm_initialized:
            raise FSMError(f"{type(self).__name__}.initialize() was called twice")
        first = self._sm_current_state()
        pid = self.persistence_id
        if not isinstance(pid, str) or not pid:
            raise FSMError(
                f"{type(self).__name__}: persistence_id must be a non-empty string, got {pid!r}"
            )
        self._pfsm_check_settings()
        journal = self.journal
        self.__dict__["_pfsm_journal"] = journal
        self._pfsm_key_of = self._pfsm_state_keys()
        self._pfsm_claim(journal, pid)
        try:
            state, data = self._pfsm_recover(journal, pid, first)
            if state != first.state_name or data is not first.state_data:
                timeout = first.timeout if state == first.state_name else DEFAULT_TIMEOUT
                self._sm_current = State(state, data, timeout)
            self._pfsm_recovered = (state, data, self._pfsm_sequence_nr, self._pfsm_snapshot_nr)
            super().initialize()
            self.on_recovery_completed(self.state_name, self.state_data)
        except BaseException:
            self._pfsm_release()
            raise

    def _pfsm_check_settings(self) -> None:
        every = self.snapshot_every
        if every is not None and (type(every) is not int or every < 1):
            raise FSMError(
                f"{type(self).__name__}.snapshot_every must be None or an integer >= 1, "
                f"got {every!r}"
            )
        if not isinstance(self.journal, Journal):
            raise FSMError(
                f"{type(self).__name__}.journal is {self.journal!r}; expected a journal such "
                "as fsm.SQLiteJournal(path) or fsm.InMemoryJournal()"
            )

    def _pfsm_state_keys(self) -> dict[Any, str]:
        keys: dict[Any, str] = {}
        seen: dict[str, Any] = {}
        for state in self._sm_slots:
            key = state_key(state)
            if key in seen:
                raise FSMError(
                    f"{type(self).__name__}: states {seen[key]!r} and {state!r} would both be "
                    f"stored as {key!r}; give states distinct names (an enum is simplest)"
                )
            seen[key] = state
            keys[state] = key
        return keys

    def _pfsm_recover(self, journal: Journal, pid: str, first: State) -> tuple[Any, Any]:
        recovery = self._fsm_dispatcher.journal_recover(self, journal, pid)
        data = first.state_data
        key: str | None = None
        sequence_nr = 0
        snapshot = recovery.snapshot
        if snapshot is not None:
            where = journal._where(pid, snapshot)
            data = decode_data(snapshot.manifest, snapshot.payload, journal.allow_pickle, where)
            key = snapshot.state
            sequence_nr = snapshot.sequence_nr
        apply_event = self.apply_event
        allow_pickle = journal.allow_pickle
        decoders: dict[str, Callable[[str | bytes], Any]] = {}
        entry: JournalEntry | None = None
        try:
            for entry in recovery.entries:
                sequence_nr += 1
                if entry.sequence_nr != sequence_nr:
                    raise JournalError(
                        f"{journal}: {pid!r} has entry {entry.sequence_nr} where {sequence_nr} "
                        "should be; entries are missing: restore the journal from a backup"
                    )
                manifest = entry.manifest
                if not manifest:
                    continue  # a change of state without an event
                decode = decoders.get(manifest)
                if decode is None:
                    decode = decoders[manifest] = event_decoder(manifest, allow_pickle)
                event = decode(entry.payload)
                try:
                    data = apply_event(event, data)
                except Exception as exc:
                    raise RecoveryFailed(
                        f"{type(self).__name__} {pid!r} cannot recover: apply_event raised "
                        f"{exc!r} on event {sequence_nr} {event!r} (from {journal}); the "
                        "journal is unchanged: make apply_event accept every event it ever "
                        "accepted, then start the FSM again"
                    ) from exc
        except (Unreadable, ValueError, TypeError) as exc:  # from decode: apply_event's are wrapped
            assert entry is not None
            raise unreadable(partial(journal._where, pid, entry), exc) from None
        if entry is not None:
            key = entry.state
        self._pfsm_sequence_nr = sequence_nr
        self._pfsm_snapshot_nr = 0 if snapshot is None else snapshot.sequence_nr
        if key is None:
            return first.state_name, data
        state = self._pfsm_state_of(key, journal, pid)
        self._sm_log.debug(
            "%r recovered at entry %d (snapshot at %d) in state %r",
            pid,
            sequence_nr,
            self._pfsm_snapshot_nr,
            state,
        )
        return state, data

    def _pfsm_state_of(self, key: str, journal: Journal, pid: str) -> Any:
        for state, known in self._pfsm_key_of.items():
            if known == key:
                return state
        raise RecoveryFailed(
            f"{type(self).__name__} {pid!r} cannot recover: {journal} says it was in state "
            f"{key}, which {type(self).__name__} does not declare (declared: "
            f"{', '.join(self._pfsm_key_of.values()) or 'none'}); a renamed state needs its "
            "old name declared too"
        )

    # ---- what testkit.TestFSMRef asks (inside the actor, in order with its messages) -------

    def _testkit_events(self) -> list[Any]:
        """Every event stored under this FSM's persistence id, in order."""
        return self.journal.events(self.persistence_id)

    def _testkit_recovered(self) -> tuple[Any, Any, int, int] | None:
        return self._pfsm_recovered

    # ---- one writer per persistence id -----------------------------------------------------

    def _pfsm_claim(self, journal: Journal, pid: str) -> None:
        key = (journal.identity, pid)
        owners = self._fsm_dispatcher.persistence_owners
        with _owners_lock:
            holder = owners.get(key)
            if holder is not None and holder is not self and not holder._pfsm_gone():
                raise FSMError(
                    f"{type(self).__name__}: persistence id {pid!r} in {journal} is in use by "
                    f"{holder.actor_ref}, which is still running; two writers of one "
                    "persistence id would interleave their events: stop the other one first "
                    "(ref.stop() returns once it has stopped), or give this one another id"
                )
            owners[key] = self
        self._pfsm_owner_key = key

    def _pfsm_gone(self) -> bool:
        return bool(self._fsm_halted or self._sm_terminated or self.actor_stopped.is_set())

    def _pfsm_release(self) -> None:
        key = self._pfsm_owner_key
        if key is None:
            return
        self._pfsm_owner_key = None
        owners = self._fsm_dispatcher.persistence_owners
        with _owners_lock:
            if owners.get(key) is self:
                del owners[key]

    def _fsm_halt(self) -> None:
        super()._fsm_halt()
        self._pfsm_release()

    def on_stop(self) -> None:
        super().on_stop()
        self._pfsm_release()

    def _actor_loop_teardown(self) -> None:
        self._pfsm_release()
        super()._actor_loop_teardown()

    # ---- handling --------------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        """As `FSM.on_receive`, with the write between the handler and the transition."""
        if not self._sm_live or type(message) in _CONTROL:
            return self._fsm_control(message)
        self._fsm_cancel_state_timeout()  # any message cancels the state timeout
        return self._fsm_handle(message)

    def _fsm_handle(self, message: Any) -> Any:
        try:
            nxt = self._sm_process(message)
            callbacks = _NO_CALLBACKS
            if nxt.__class__ is PersistentState:
                callbacks = nxt.callbacks
            nxt = self._pfsm_persist(nxt)
            self._sm_apply(nxt)
            for callback in callbacks:
                callback(nxt.state_data)
        except Exception as exc:
            self._fsm_fail(exc)
            raise
        if nxt.stop_reason is not None:
            self._fsm_halt()
        return self._fsm_reply(nxt) if nxt.replies else None

    def _pfsm_persist(self, nxt: State) -> State:
        """Write what `nxt` applies (and a state change); return `nxt` with the new data."""
        current = self._sm_current_state()
        events: tuple[Any, ...] = nxt.events if isinstance(nxt, PersistentState) else ()
        stopping = nxt.stop_reason is not None
        moves = not stopping and nxt.state_name != current.state_name
        data = current.state_data
        if nxt.state_data is not data and (events or not stopping):
            raise FSMError(
                f"{type(self).__name__}: a handler in state {current.state_name!r} returned "
                f"{nxt!r} with .using(...): the data of a PersistentFSM changes only through "
                "its events; return .applying(event) and compute the data in apply_event"
            )
        if not events and not moves:
            return nxt
        for event in events:
            data = self.apply_event(event, data)
        target = current.state_name if stopping else nxt.state_name
        try:
            batch = self._pfsm_batch(events, target, data)
        except PersistRejected as exc:
            self._sm_log.error(
                "%s %r stops: it cannot persist its events, so nothing was written and the "
                "message being handled is not acknowledged. Cause: %s",
                type(self).__name__,
                self.persistence_id,
                exc,
            )
            raise
        journal = self.journal
        try:
            self._fsm_dispatcher.journal_write(self, journal, batch)
        except PersistRejected as exc:
            self._pfsm_log_write("rejected", exc, batch, "nothing of it was stored")
            raise
        except PersistFailed as exc:
            self._pfsm_log_write("failed", exc, batch, "it may or may not be stored")
            raise
        except Exception as exc:
            failure = PersistFailed(f"{journal}: the write raised {exc!r}")
            self._pfsm_log_write("failed", failure, batch, "it may or may not be stored")
            raise failure from exc
        self._pfsm_sequence_nr = batch.last
        if batch.snapshot is not None:
            self._pfsm_snapshot_nr = batch.snapshot.sequence_nr
        return nxt.using(data) if data is not nxt.state_data else nxt

    def _pfsm_batch(self, events: tuple[Any, ...], target: Any, data: Any) -> AtomicWrite:
        pid = self.persistence_id
        key = self._pfsm_key_of.get(target)
        if key is None:  # goto() checked it is declared; only a late `when` gets here
            key = self._pfsm_key_of[target] = state_key(target)
        allow_pickle = self.journal.allow_pickle
        sequence_nr = self._pfsm_sequence_nr
        entries = []
        try:
            for event in events:
                sequence_nr += 1
                manifest, payload = encode_event(event, allow_pickle)
                entries.append(JournalEntry(sequence_nr, key, manifest, payload))
        except NotEncodable as exc:
            raise PersistRejected(
                f"{type(self).__name__} {pid!r} cannot persist {event!r}: {exc}"
            ) from None
        if not events:  # a change of state without an event: stored so that it survives
            sequence_nr += 1
            entries.append(JournalEntry(sequence_nr, key, "", ""))
        snapshot = None
        every = self.snapshot_every
        if every is not None and sequence_nr // every > self._pfsm_snapshot_nr // every:
            try:
                manifest, payload = encode_data(data, allow_pickle)
                snapshot = SnapshotEntry(sequence_nr, key, manifest, payload)
            except NotEncodable as exc:
                if not self._pfsm_warned_snapshot:
                    self._pfsm_warned_snapshot = True
                    self._sm_log.error(
                        "%s %r cannot snapshot its state data, so recovery will replay every "
                        "event: %s",
                        type(self).__name__,
                        pid,
                        exc,
                    )
        return AtomicWrite(pid, tuple(entries), snapshot)

    def _pfsm_log_write(self, outcome: str, exc: Exception, batch: AtomicWrite, what: str) -> None:
        log = self._sm_log
        if log.isEnabledFor(logging.ERROR):
            log.error(
                "%s %r stops: the journal %s its write of entries %d..%d (%s), %s; the "
                "message being handled is not acknowledged. Cause: %s",
                type(self).__name__,
                batch.persistence_id,
                outcome,
                batch.first,
                batch.last,
                _describe(batch),
                what,
                exc,
            )


def _describe(batch: AtomicWrite) -> str:
    names = [e.manifest or "state change" for e in batch.entries]
    if len(names) > 4:
        names = [*names[:3], f"... {len(names) - 3} more"]
    return ", ".join(names)
