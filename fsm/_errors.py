"""The one exception type for mistakes in how an FSM is defined or driven."""

from __future__ import annotations


class FSMError(Exception):
    """A state machine was defined or used wrongly; the message says what and how to fix it."""


class JournalError(FSMError):
    """A journal could not be opened, read or written; the message names the journal (its
    file) and says what to do."""


class PersistRejected(JournalError):
    """The journal refused a write before storing any of it (an event it cannot serialize,
    a sequence number another writer took): nothing of that write is stored."""


class PersistFailed(JournalError):
    """A write failed in the storage itself (I/O error, disk full): its events may or may
    not be stored, so the FSM no longer knows its own state and stops."""
