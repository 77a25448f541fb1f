"""`State`: what a handler returns, the next state with its data, timeout, replies and stop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fsm._durations import Duration, to_seconds
from fsm._messages import Reason


class _DefaultTimeout:
    """Marker: the state's own default timeout applies."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "default"


DEFAULT_TIMEOUT: Final = _DefaultTimeout()


class State:
    """The outcome of handling an event; build it with `goto`, `stay` or `stop` and chain
    `using`, `for_max` and `replying`, each of which returns a new `State`."""

    __slots__ = ("notifies", "replies", "state_data", "state_name", "stop_reason", "timeout")

    def __init__(
        self,
        state_name: Any,
        state_data: Any,
        timeout: float | _DefaultTimeout | None = DEFAULT_TIMEOUT,
        stop_reason: Reason | None = None,
        replies: tuple[Any, ...] = (),
        notifies: bool = True,
    ) -> None:
        self.state_name = state_name
        self.state_data = state_data
        self.timeout = timeout
        self.stop_reason = stop_reason
        self.replies = replies
        self.notifies = notifies

    def using(self, data: Any) -> State:
        """The same outcome with `data` as the next state data."""
        new = _new_state(State)  # built without __init__: this runs for nearly every message
        new.state_name = self.state_name
        new.state_data = data
        new.timeout = self.timeout
        new.stop_reason = self.stop_reason
        new.replies = self.replies
        new.notifies = self.notifies
        return new

    def for_max(self, timeout: Duration) -> State:
        """The same outcome with a state timeout of `timeout` seconds (None or inf: none)."""
        seconds = to_seconds(timeout, "for_max(timeout)")
        return State(
            self.state_name, self.state_data, seconds, self.stop_reason, self.replies, self.notifies
        )

    def replying(self, message: Any) -> State:
        """The same outcome, answering the message being handled with `message`."""
        replies = (*self.replies, message)
        return State(
            self.state_name, self.state_data, self.timeout, self.stop_reason, replies, self.notifies
        )

    def applying(self, *events: Any) -> State:
        """The same outcome, persisting `events` first (a `PersistentFSM` only): the next
        data is `apply_event` folded over them, and the transition, replies and `and_then`
        callbacks happen only once the journal has confirmed the write.

        Example: `return self.goto(S.PAID).applying(Paid(amount)).replying(Ack(n))`
        """
        return PersistentState._of(self, events, ())

    def and_then(self, callback: Callable[[Any], object]) -> State:
        """The same outcome, calling `callback(new_data)` after the transition (a
        `PersistentFSM` only: after the journal confirmed the events, before the reply).

        Example: `return self.stay().applying(Deposited(5)).and_then(self.notify)`
        """
        return PersistentState._of(self, (), (callback,))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in State.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [repr(self.state_name), repr(self.state_data)]
        if self.timeout is not DEFAULT_TIMEOUT:
            parts.append(f"timeout={self.timeout!r}")
        if self.stop_reason is not None:
            parts.append(f"stop_reason={self.stop_reason!r}")
        if self.replies:
            parts.append(f"replies={self.replies!r}")
        return f"State({', '.join(parts)})"


class PersistentState(State):
    """A `State` that also carries events to persist and callbacks to run after the write;
    `applying` and `and_then` return one, and its `using`, `for_max` and `replying` keep them.
    Only a `PersistentFSM` accepts it."""

    __slots__ = ("callbacks", "events")

    events: tuple[Any, ...]
    callbacks: tuple[Callable[[Any], object], ...]

    @staticmethod
    def _of(
        state: State, events: tuple[Any, ...], callbacks: tuple[Callable[[Any], object], ...]
    ) -> PersistentState:
        new = PersistentState(
            state.state_name,
            state.state_data,
            state.timeout,
            state.stop_reason,
            state.replies,
            state.notifies,
        )
        if isinstance(state, PersistentState):
            events = state.events + events
            callbacks = state.callbacks + callbacks
        new.events = events
        new.callbacks = callbacks
        return new

    def _keep(self, new: State) -> PersistentState:
        return PersistentState._of(new, self.events, self.callbacks)

    def using(self, data: Any) -> State:
        return self._keep(super().using(data))

    def for_max(self, timeout: Duration) -> State:
        return self._keep(super().for_max(timeout))

    def replying(self, message: Any) -> State:
        return self._keep(super().replying(message))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State):
            return NotImplemented
        mine = (self.events, self.callbacks)
        theirs = (other.events, other.callbacks) if isinstance(other, PersistentState) else ((), ())
        return State.__eq__(self, other) and mine == theirs

    __hash__ = None

    def __repr__(self) -> str:
        base = State.__repr__(self)[:-1]
        if self.events:
            base += f", events={self.events!r}"
        if self.callbacks:
            base += f", and_then={len(self.callbacks)}"
        return base + ")"


_new_state: Final = object.__new__
