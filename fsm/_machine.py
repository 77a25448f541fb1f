"""The thread-free state machine core: the DSL, event handling and transitions.

`FSM` (an actor) and `Monitor` (a synchronous specification) both build on it; anything
about threads, mailboxes or real timers lives in their own modules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from fsm._durations import Duration, to_seconds
from fsm._errors import FSMError
from fsm._messages import Event, Failure, Normal, Reason, StopEvent
from fsm._state import DEFAULT_TIMEOUT, PersistentState, State, _new_state

StateHandler = Callable[[Event], "State | None"]
TransitionHandler = Callable[[Any, Any], None]
TerminationHandler = Callable[[StopEvent], None]


_new_event = Event.__new__
_set_message = Event.__dict__["message"].__set__  # the slot descriptors
_set_data = Event.__dict__["data"].__set__


class _Unchanged:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<unchanged>"


_UNCHANGED: Final = _Unchanged()
_new_slot: Final = object.__new__


class _Slot:
    """One declared state as the message path needs it: its handlers, in `when` order, and
    its default timeout."""

    __slots__ = ("handlers", "name", "timeout")

    name: Any
    handlers: list[StateHandler]
    timeout: float | None


def _check_hashable(state: Any, where: str) -> None:
    try:
        hash(state)
    except TypeError:
        raise FSMError(
            f"{where}: state {state!r} is not hashable; state names are dictionary keys, "
            "use an enum member, a string or another immutable value"
        ) from None


def _name_of(handler: object) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)


class StateMachine:
    """Akka's FSM DSL over plain method calls; subclasses add delivery and timers."""

    def _sm_setup(self) -> None:
        """Create the bookkeeping; called by the concrete class's `__init__`."""
        self._sm_current: State | None = None
        self._sm_next: State | None = None
        self._sm_timeouts: dict[Any, float | None] = {}
        self._sm_slots: dict[Any, _Slot] = {}
        self._sm_handlers = self._sm_slots  # its keys are the declared states (the tester's)
        # The same slots by id() of their declared name: a state name that is the declared
        # object itself (an enum member, an interned string) is found without hashing it
        # (an enum's __hash__ runs in Python). A slot keeps its name alive, so ids stay unique.
        self._sm_slot_ids: dict[int, _Slot] = {}
        self._sm_slot: _Slot | None = None  # the current state's, once initialized
        self._sm_unhandled: StateHandler | None = None
        self._sm_on_transition: list[TransitionHandler] = []
        self._sm_on_termination: TerminationHandler | None = None
        self._sm_initialized = False
        self._sm_terminated = False
        self._sm_live = False  # initialized and not terminated: events go to the handlers
        self._sm_tracing = False

    @property
    def _sm_log(self) -> logging.Logger:
        """The logger named after this machine's class, looked up once per class (it is
        the same object for every instance, and most never log)."""
        cls = type(self)
        log: logging.Logger | None = cls.__dict__.get("_sm_class_log")  # not a base's
        if log is None:
            log = logging.getLogger(f"{cls.__module__}.{cls.__qualname__}")
            cls._sm_class_log = log  # type: ignore[attr-defined]
        return log

    # ---- the DSL -----------------------------------------------------------------------

    def start_with(self, state: Any, data: Any, timeout: Duration = None) -> None:
        """Declare the initial state and data; `timeout` overrides the state's default."""
        _check_hashable(state, "start_with")
        if self._sm_initialized:
            raise FSMError("start_with() was called after initialize(); call it before")
        chosen = DEFAULT_TIMEOUT if timeout is None else to_seconds(timeout, "start_with timeout")
        self._sm_current = State(state, data, chosen)

    def when(self, state: Any, handler: StateHandler, state_timeout: Duration = None) -> None:
        """Handle events in `state` with `handler`; a second call chains after the first."""
        if not callable(handler):
            _check_hashable(state, "when")  # the first problem is reported first
            raise FSMError(f"when({state!r}, ...): the handler must be callable, got {handler!r}")
        slot = self._sm_slot_ids.get(id(state))
        if slot is None or slot.name is not state:
            # FSMs are made anew for every iteration under the tester: hash the state once
            timeouts = self._sm_timeouts
            new = _new_slot(_Slot)  # built without __init__, as State is
            new.name = state
            new.handlers = []
            try:
                new.timeout = timeouts.get(state) if timeouts else None
                slot = self._sm_slots.setdefault(state, new)
            except TypeError:
                _check_hashable(state, "when")
                raise
            if slot is new:
                self._sm_slot_ids[id(state)] = new
        slot.handlers.append(handler)
        if state_timeout is not None:
            seconds = to_seconds(state_timeout, f"state_timeout of {state!r}")
            self._sm_timeouts[state] = seconds
            slot.timeout = seconds

    def when_unhandled(self, handler: StateHandler) -> None:
        """Handle events no state handler took; replaces any earlier unhandled handler."""
        if not callable(handler):
            raise FSMError(f"when_unhandled: the handler must be callable, got {handler!r}")
        self._sm_unhandled = handler

    def on_transition(self, handler: TransitionHandler) -> None:
        """Call `handler(from_state, to_state)` on every transition; handlers stack in order."""
        if not callable(handler):
            raise FSMError(f"on_transition: the handler must be callable, got {handler!r}")
        self._sm_on_transition.append(handler)

    def on_termination(self, handler: TerminationHandler) -> None:
        """Call `handler(StopEvent)` when the machine stops; replaces any earlier one."""
        if not callable(handler):
            raise FSMError(f"on_termination: the handler must be callable, got {handler!r}")
        self._sm_on_termination = handler

    def set_state_timeout(self, state: Any, timeout: Duration) -> None:
        """Change the default timeout of `state` (None or inf: no timeout)."""
        _check_hashable(state, "set_state_timeout")
        seconds = to_seconds(timeout, f"state timeout of {state!r}")
        self._sm_timeouts[state] = seconds
        slot = self._sm_slots.get(state)
        if slot is not None:
            slot.timeout = seconds

    def initialize(self) -> None:
        """Enter the initial state and arm its timeout; call it last in `__init__`."""
        first = self._sm_current
        if first is None:
            raise FSMError(
                f"{type(self).__name__}.initialize() was called without start_with(state, data); "
                "declare the initial state first"
            )
        slot = self._sm_slot_of(first.state_name)
        if slot is None:
            raise FSMError(
                f"{type(self).__name__}: the initial state {first.state_name!r} has no "
                f"when({first.state_name!r}, handler); declared states: {self._sm_known()}"
            )
        self._sm_initialized = True
        self._sm_live = True
        self._sm_enter(first, slot)

    def goto(self, state: Any) -> State:
        """The next state is `state` (a transition, even if it is the current state)."""
        slot = self._sm_slot_ids.get(id(state))
        if slot is None or slot.name is not state:
            _check_hashable(state, "goto")
            if self._sm_initialized and state not in self._sm_slots:
                raise FSMError(self._sm_missing(state))
        current = self._sm_current
        if current is None:
            current = self._sm_current_state()
        new = _new_state(State)  # State(state, data) without __init__'s cost
        new.state_name = state
        new.state_data = current.state_data
        new.timeout = DEFAULT_TIMEOUT
        new.stop_reason = None
        new.replies = ()
        new.notifies = True
        return new

    def stay(self) -> State:
        """Remain in the current state (no transition; the state timeout is re-armed)."""
        current = self._sm_current
        if current is None:
            current = self._sm_current_state()
        new = _new_state(State)  # State(..., notifies=False) without __init__'s cost
        new.state_name = current.state_name
        new.state_data = current.state_data
        new.timeout = DEFAULT_TIMEOUT
        new.stop_reason = None
        new.replies = ()
        new.notifies = False
        return new

    def stop(self, reason: Reason = Normal, data: Any = _UNCHANGED) -> State:
        """Stop the machine with `reason`, optionally with new data for the termination."""
        if not isinstance(reason, Reason):
            raise FSMError(
                f"stop(reason): reason must be Normal, Shutdown or Failure(cause), got {reason!r}"
            )
        current = self._sm_current_state()
        final = current.state_data if data is _UNCHANGED else data
        return State(current.state_name, final, stop_reason=reason, notifies=False)

    @property
    def state_name(self) -> Any:
        """The current state."""
        return self._sm_current_state().state_name

    @property
    def state_data(self) -> Any:
        """The current state data (during a transition: the old data)."""
        return self._sm_current_state().state_data

    @property
    def next_state_data(self) -> Any:
        """The data of the state being entered; only available inside `on_transition`."""
        if self._sm_next is None:
            raise FSMError("next_state_data is only available inside an on_transition handler")
        return self._sm_next.state_data

    @property
    def log(self) -> logging.Logger:
        """The logger named after this machine's class."""
        return self._sm_log

    # ---- processing --------------------------------------------------------------------

    def _sm_current_state(self) -> State:
        current = self._sm_current
        if current is None:
            raise FSMError(
                f"{type(self).__name__} has no state yet: call start_with(state, data) first"
            )
        return current

    def _sm_slot_of(self, state: Any) -> _Slot | None:
        """The slot of `state`, or None if it has no `when`."""
        slot = self._sm_slot_ids.get(id(state))
        if slot is not None and slot.name is state:
            return slot
        return self._sm_slots.get(state)

    def _sm_known(self) -> str:
        return ", ".join(repr(s) for s in self._sm_handlers) or "none"

    def _sm_missing(self, state: Any) -> str:
        return (
            f"{type(self).__name__}: goto({state!r}), but {state!r} has no "
            f"when({state!r}, handler);"
            f" declared states: {self._sm_known()}"
        )

    def _sm_process(self, message: Any) -> State:
        """Run the handlers for `message` in the current state and return the next state."""
        current = self._sm_current
        slot = self._sm_slot
        if current is None or slot is None:  # not initialized: only reachable by misuse
            current = self._sm_current_state()
            slot = self._sm_slot_of(current.state_name)
            if slot is None:
                raise FSMError(
                    f"{type(self).__name__}: state {current.state_name!r} has no "
                    f"when({current.state_name!r}, handler); declared states: {self._sm_known()}"
                )
        if self._sm_tracing:
            self._sm_on_event(message)
        event = _new_event(Event)  # Event(message, data) without the frozen __init__'s cost
        _set_message(event, message)
        _set_data(event, current.state_data)
        for handler in slot.handlers:
            result = handler(event)
            if result is not None:
                if result.__class__ is State:
                    return result
                return self._sm_checked(result, handler, current)
        return self._sm_no_handler(event, current)

    def _sm_no_handler(self, event: Event, current: State) -> State:
        """No state handler took `event`: the unhandled handler, else a warning and stay."""
        message = event.message
        if self._sm_unhandled is not None:
            result = self._sm_unhandled(event)
            if result is not None:
                return self._sm_checked(result, self._sm_unhandled, current)
        self._sm_log.warning(
            "unhandled event %r in state %r (data %r)",
            message,
            current.state_name,
            current.state_data,
        )
        return self.stay()

    _sm_persistent = False
    """True in a `PersistentFSM`: handlers may return `.applying(...)` / `.and_then(...)`."""

    def _sm_checked(self, result: object, handler: object, current: State) -> State:
        if isinstance(result, State):
            if isinstance(result, PersistentState) and not self._sm_persistent:
                raise FSMError(
                    f"handler {_name_of(handler)} in state {current.state_name!r} returned "
                    f"{result!r}: .applying(...) and .and_then(...) need a PersistentFSM, "
                    f"e.g. class {type(self).__name__}(PersistentFSM, FSM, pykka.ThreadingActor)"
                    " with a persistence_id and apply_event; in a plain FSM use .using(data)"
                )
            return result
        raise FSMError(
            f"handler {_name_of(handler)} in state {current.state_name!r} returned {result!r}; "
            "a handler must return goto(...), stay() or stop(...) (optionally with .using, "
            ".for_max, .replying), or None when it does not handle the event"
        )

    def _sm_apply(self, nxt: State) -> None:
        """Make `nxt` the current state: transition, or termination if it carries a reason."""
        if nxt.stop_reason is not None:
            self._sm_terminate(nxt)
            return
        name = nxt.state_name
        slot = self._sm_slot_ids.get(id(name))  # _sm_slot_of inlined: once per transition
        if slot is None or slot.name is not name:
            slot = self._sm_slots.get(name)
            if slot is None:
                raise FSMError(self._sm_missing(name))
        current = self._sm_current
        if current is None:
            current = self._sm_current_state()
        if nxt.notifies or name != current.state_name:
            self._sm_next = nxt
            try:
                for handler in self._sm_on_transition:
                    handler(current.state_name, name)
                self._sm_after_transition(current.state_name, name)
            finally:
                self._sm_next = None
        self._sm_current = nxt
        self._sm_slot = slot
        timeout = nxt.timeout
        if timeout is DEFAULT_TIMEOUT:
            timeout = slot.timeout
        if timeout is not None:
            self._sm_arm_timeout(timeout)  # type: ignore[arg-type]

    def _sm_enter(self, nxt: State, slot: _Slot) -> None:
        """Make `nxt` current without a transition and arm its timeout (the initial state)."""
        self._sm_current = nxt
        self._sm_slot = slot
        timeout = nxt.timeout
        if timeout is DEFAULT_TIMEOUT:
            timeout = slot.timeout
        if timeout is not None:
            self._sm_arm_timeout(timeout)  # type: ignore[arg-type]

    def _sm_terminate(self, final: State) -> None:
        """Run the termination handler once, with the final state and reason."""
        if self._sm_terminated:
            return
        self._sm_terminated = True
        self._sm_live = False
        self._sm_cancel_timers()
        self._sm_current = final
        reason = final.stop_reason
        assert reason is not None
        if isinstance(reason, Failure):
            self._sm_log.error("terminating in state %r due to %r", final.state_name, reason.cause)
        if self._sm_on_termination is not None:
            self._sm_on_termination(StopEvent(reason, final.state_name, final.state_data))

    # ---- hooks for subclasses ----------------------------------------------------------

    def _sm_on_event(self, message: Any) -> None:
        """Called before each event is handled when `_sm_tracing` is set (LoggingFSM)."""

    def _sm_after_transition(self, from_state: Any, to_state: Any) -> None:
        """Called after the on_transition handlers (FSM tells its subscribers)."""

    def _sm_arm_timeout(self, seconds: float) -> None:
        """Start the state timeout for the state just entered."""

    def _sm_cancel_timers(self) -> None:
        """Cancel every timer on termination."""
