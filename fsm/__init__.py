"""Akka's classic FSM as a mixin for Pykka actors.

    class Buncher(FSM, pykka.ThreadingActor): ...
    class Device(FSM, fsm.PooledActor): ...   # many actors on a shared pool of threads
    class Account(PersistentFSM, FSM, pykka.ThreadingActor): ...   # event-sourced

See the README: its tutorials, and under "API" what every public name does.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fsm import _dispatch
from fsm._actor import FSM
from fsm._codec import register_event
from fsm._dead_letters import DeadLetter, DeadLetterStream, dead_letters
from fsm._dispatch import current as _current_dispatcher
from fsm._errors import FSMError, JournalError, PersistFailed, PersistRejected
from fsm._journal import InMemoryJournal, Journal, default_journal, set_default_journal
from fsm._journal_sqlite import SQLiteJournal
from fsm._logging_fsm import LoggingFSM
from fsm._messages import (
    CurrentState,
    Event,
    Failure,
    LogEntry,
    Normal,
    Reason,
    Shutdown,
    StateTimeout,
    StopEvent,
    SubscribeTransitionCallBack,
    Transition,
    UnsubscribeTransitionCallBack,
)
from fsm._monitor import Monitor
from fsm._persistence import PersistentFSM, RecoveryFailed
from fsm._pool import PooledActor, configure_pool
from fsm._state import State


def random_bool() -> bool:
    """A random boolean: real in production, a recorded choice under the tester."""
    return _current_dispatcher().random_bool()


def random_int(n: int) -> int:
    """A random integer in [0, n): real in production, a recorded choice under the tester."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise FSMError(f"random_int(n) needs an integer n >= 1, got {n!r}")
    return _current_dispatcher().random_int(n)


M = TypeVar("M", bound=Monitor)


def monitor(monitor_cls: type[Monitor], event: Any) -> None:
    """Report `event` to the monitor `monitor_cls` from anywhere (an FSM, a test, a mock)."""
    _current_dispatcher().monitor(monitor_cls, event)


def enable_monitor(monitor_cls: type[M]) -> M:
    """Check `monitor_cls` in production too: failures are logged. Returns the instance."""
    return _dispatch.production().monitors.enable(monitor_cls)


def disable_monitor(monitor_cls: type[Monitor]) -> None:
    """Stop checking `monitor_cls` in production."""
    _dispatch.production().monitors.disable(monitor_cls)


__all__ = [
    "FSM",
    "CurrentState",
    "DeadLetter",
    "DeadLetterStream",
    "Event",
    "FSMError",
    "Failure",
    "InMemoryJournal",
    "Journal",
    "JournalError",
    "LogEntry",
    "LoggingFSM",
    "Monitor",
    "Normal",
    "PersistFailed",
    "PersistRejected",
    "PersistentFSM",
    "PooledActor",
    "Reason",
    "RecoveryFailed",
    "SQLiteJournal",
    "Shutdown",
    "State",
    "StateTimeout",
    "StopEvent",
    "SubscribeTransitionCallBack",
    "Transition",
    "UnsubscribeTransitionCallBack",
    "configure_pool",
    "dead_letters",
    "default_journal",
    "disable_monitor",
    "enable_monitor",
    "monitor",
    "random_bool",
    "random_int",
    "register_event",
    "set_default_journal",
]
