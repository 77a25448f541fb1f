"""Messages and records of the FSM protocol: events, stop reasons, transition notices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class Event:
    """What a state handler receives: the incoming message and the current state data."""

    message: Any
    data: Any


class StateTimeout:
    """The message a state handler gets when its state timeout expires; all instances are equal."""

    __slots__ = ()
    __match_args__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StateTimeout)

    def __hash__(self) -> int:
        return hash(StateTimeout)

    def __repr__(self) -> str:
        return "StateTimeout()"


class Reason:
    """Base of the reasons an FSM stops: `Normal`, `Shutdown` or `Failure(cause)`."""

    __slots__ = ()


class _Normal(Reason):
    __slots__ = ()

    def __repr__(self) -> str:
        return "Normal"


class _Shutdown(Reason):
    __slots__ = ()

    def __repr__(self) -> str:
        return "Shutdown"


Normal: Final[Reason] = _Normal()
"""The FSM stopped itself with `stop()`."""

Shutdown: Final[Reason] = _Shutdown()
"""The FSM was stopped from outside, e.g. with `ref.stop()`."""


@dataclass(frozen=True, slots=True)
class Failure(Reason):
    """The FSM stopped because of an error; `cause` is the exception or a description."""

    cause: Any


@dataclass(frozen=True, slots=True)
class StopEvent:
    """What the termination handler receives: why, in which state and with which data."""

    reason: Reason
    state_name: Any
    state_data: Any


@dataclass(frozen=True, slots=True)
class SubscribeTransitionCallBack:
    """Ask an FSM to tell `ref` its current state now and every transition from then on."""

    ref: Any


@dataclass(frozen=True, slots=True)
class UnsubscribeTransitionCallBack:
    """Stop telling `ref` about transitions."""

    ref: Any


@dataclass(frozen=True, slots=True)
class CurrentState:
    """Sent to a new subscriber: the state the FSM is in when it subscribed."""

    fsm_ref: Any
    state_name: Any


@dataclass(frozen=True, slots=True)
class Transition:
    """Sent to subscribers on each transition of the FSM."""

    fsm_ref: Any
    from_state: Any
    to_state: Any


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One entry of a `LoggingFSM`'s rolling event log."""

    state_name: Any
    state_data: Any
    event: Any
