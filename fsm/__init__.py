"""Akka's classic FSM as a mixin for Pykka actors.

    class Buncher(FSM, pykka.ThreadingActor): ...

See the README for a tutorial and `SPEC.md` for the contract.
"""

from __future__ import annotations

from fsm._actor import FSM
from fsm._dispatch import current as _current_dispatcher
from fsm._errors import FSMError
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
from fsm._state import State


def random_bool() -> bool:
    """A random boolean: real in production, a recorded choice under the tester."""
    return _current_dispatcher().random_int(2) == 1


def random_int(n: int) -> int:
    """A random integer in [0, n): real in production, a recorded choice under the tester."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise FSMError(f"random_int(n) needs an integer n >= 1, got {n!r}")
    return _current_dispatcher().random_int(n)


__all__ = [
    "FSM",
    "CurrentState",
    "Event",
    "FSMError",
    "Failure",
    "LogEntry",
    "LoggingFSM",
    "Normal",
    "Reason",
    "Shutdown",
    "State",
    "StateTimeout",
    "StopEvent",
    "SubscribeTransitionCallBack",
    "Transition",
    "UnsubscribeTransitionCallBack",
    "random_bool",
    "random_int",
]
