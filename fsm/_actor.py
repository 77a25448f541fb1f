"""`FSM`: the state machine core as a mixin for Pykka actors, with timers and subscribers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, cast

import pykka

from fsm import _deathwatch, _dispatch, _refs, _senders
from fsm._dead_letters import suppress as _suppress_dead_letters
from fsm._dispatch import Cancellable, Dispatcher, TrackingInbox
from fsm._durations import Duration, to_seconds
from fsm._errors import FSMError
from fsm._machine import _UNCHANGED, StateMachine, _new_event, _set_data, _set_message
from fsm._messages import (
    CurrentState,
    Event,
    Failure,
    Normal,
    Reason,
    Shutdown,
    StateTimeout,
    SubscribeTransitionCallBack,
    Transition,
    UnsubscribeTransitionCallBack,
)
from fsm._monitor import Monitor
from fsm._state import DEFAULT_TIMEOUT, State


@dataclass(frozen=True, slots=True)
class _TimerFired:
    """A named timer's message on its way; dropped unless `generation` is still current."""

    name: str
    generation: int
    message: Any


@dataclass(frozen=True, slots=True)
class _StateTimeoutFired:
    """A state timeout on its way; dropped if any other message came in meanwhile."""

    generation: int


class _TimerHandle(Protocol):
    """What the dispatcher's `schedule` returns; repeating handles also re-arm."""

    def cancel(self) -> None: ...

    def delivered(self, fixed_delay: bool) -> None:
        """The tick was handled: arm the next one, `interval` after the last deadline
        (fixed rate) or after now (fixed delay). Until then no tick is pending."""


_SINGLE, _FIXED_RATE, _FIXED_DELAY = "single-shot", "fixed-rate", "fixed-delay"


@dataclass(slots=True)
class _NamedTimer:
    generation: int
    handle: _TimerHandle
    message: Any
    mode: str


_new_timeout_fired = _StateTimeoutFired.__new__
_set_generation = _StateTimeoutFired.__dict__["generation"].__set__  # the slot descriptor

_CONTROL = frozenset(
    {_StateTimeoutFired, _TimerFired, SubscribeTransitionCallBack, UnsubscribeTransitionCallBack}
)
_suppress_dead_letters(_StateTimeoutFired, _TimerFired)  # a tick after the stop is no news


if TYPE_CHECKING:  # type checkers see the pykka.Actor this mixin is always combined with
    _ActorBase = pykka.Actor
else:
    _ActorBase = object


class FSM(StateMachine, _ActorBase):
    """Akka's classic FSM for Pykka: use as `class X(FSM, pykka.ThreadingActor)`.

    Declare states in `__init__` with `start_with`, `when`, ... and end with `initialize()`.
    The mixin owns `on_receive`, `on_stop` and `on_failure`.
    """

    actor_ref: pykka.ActorRef[Any]
    actor_inbox: Any  # a TrackingInbox; Any keeps it compatible with pykka.Actor's own type
    actor_stopped: Any
    _deathwatch_reports = True  # its stop paths report to fsm._deathwatch themselves

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Reject `class X(pykka.ThreadingActor, FSM)` where it is written: the mixin must
        come before the actor class in the MRO to take over its inbox, futures and loop."""
        super().__init_subclass__(**kwargs)
        _check_mixin_order(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._fsm_dispatcher: Dispatcher = _dispatch.current_for(type(self))
        self._sm_setup()
        self._fsm_timers: dict[str, _NamedTimer] = {}
        self._fsm_generations = itertools.count(1)
        self._fsm_timeout: Cancellable | None = None
        self._fsm_timeout_generation = 0
        self._fsm_listeners: list[pykka.ActorRef[Any]] = []
        self._fsm_halted = False
        super().__init__(*args, **kwargs)
        _refs.adopt(self, self._fsm_dispatcher)

    # ---- the Pykka seam: inbox, futures and the loop come from the dispatcher -------------

    @classmethod
    def _create_actor_inbox(cls) -> TrackingInbox:
        return _dispatch.current_for(cls).create_inbox(cls)

    @classmethod
    def _create_future(cls) -> pykka.Future[Any]:
        return _dispatch.current().create_future()

    def _start_actor_loop(self) -> None:
        self._fsm_dispatcher.start_actor_loop(self)

    def _actor_loop(self) -> None:
        """Pykka's loop on a thread of the actor's own: what it tells has a known sender."""
        if isinstance(self, pykka.ThreadingActor):
            _senders.bind_thread(self.actor_ref)
        super()._actor_loop()

    def _actor_loop_teardown(self) -> None:
        """The thread's end (also after a failing `on_start`): what is left in the mailbox
        is dead letters; report to death watchers."""
        _refs.drain(self)
        super()._actor_loop_teardown()
        _deathwatch.stopped(self)

    def stop(self, reason: Reason = Normal, data: Any = _UNCHANGED) -> State:  # type: ignore[override]
        """Stop the machine with `reason`, optionally with new data for the termination.

        This replaces `pykka.Actor.stop()`: an FSM stops itself by returning `self.stop()`.
        """
        return super().stop(reason, data)

    # ---- receiving ---------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        """Route one message: timers, subscriptions, or an event for the state handlers.

        The common case is `_fsm_handle` with `_sm_process` inlined and `stay()` applied in
        place: this is the path every message takes, and bench/fsm_message_cost.py measures it.
        """
        if not self._sm_live or type(message) in _CONTROL:
            return self._fsm_control(message)
        self._fsm_timeout_generation += 1  # any message cancels the state timeout
        if self._fsm_timeout is not None:
            self._fsm_timeout.cancel()
            self._fsm_timeout = None
        current: State = self._sm_current  # type: ignore[assignment]  # live: both are set
        slot = self._sm_slot
        try:
            if self._sm_tracing:
                self._sm_on_event(message)
            event = _new_event(Event)  # Event(message, data) without the frozen __init__
            _set_message(event, message)
            _set_data(event, current.state_data)
            for handler in slot.handlers:  # type: ignore[union-attr]
                nxt = handler(event)
                if nxt is not None:
                    if nxt.__class__ is not State:
                        nxt = self._sm_checked(nxt, handler, current)
                    break
            else:
                nxt = self._sm_no_handler(event, current)
            if nxt.notifies or nxt.stop_reason is not None or nxt.state_name != current.state_name:
                self._sm_apply(nxt)
            else:  # stay(): no transition to run, only the state timeout to re-arm
                self._sm_current = nxt
                timeout = nxt.timeout
                if timeout is DEFAULT_TIMEOUT:
                    timeout = slot.timeout  # type: ignore[union-attr]
                if timeout is not None:
                    self._sm_arm_timeout(timeout)  # type: ignore[arg-type]
                return self._fsm_reply(nxt) if nxt.replies else None
        except Exception as exc:
            self._fsm_fail(exc)
            raise
        if nxt.stop_reason is not None:
            self._fsm_halt()
        return self._fsm_reply(nxt) if nxt.replies else None

    def _fsm_control(self, message: Any) -> Any:
        """Everything but a plain event: timer deliveries, subscriptions, misuse."""
        if not self._sm_initialized:
            self._fsm_halt()
            raise FSMError(
                f"{type(self).__name__} got {message!r} but initialize() was never called; "
                "call self.initialize() at the end of __init__ (or in on_start)"
            )
        if self._sm_terminated:
            return None
        kind = type(message)
        if kind is _StateTimeoutFired:
            if message.generation != self._fsm_timeout_generation:
                return None
            self._fsm_timeout = None
            return self._fsm_handle(StateTimeout())
        if kind is _TimerFired:
            timer = self._fsm_timers.get(message.name)
            if timer is None or timer.generation != message.generation:
                return None
            if timer.mode is _SINGLE:
                del self._fsm_timers[message.name]
            self._fsm_cancel_state_timeout()
            result = self._fsm_handle(message.message)
            if timer.mode is not _SINGLE and self._fsm_timers.get(message.name) is timer:
                # The next tick exists only once this one is handled: never a backlog.
                timer.handle.delivered(timer.mode is _FIXED_DELAY)
            return result
        if kind is SubscribeTransitionCallBack:
            self._fsm_subscribe(message.ref)
        elif message.ref in self._fsm_listeners:
            self._fsm_listeners.remove(message.ref)
        return None

    def _fsm_handle(self, message: Any) -> Any:
        try:
            nxt = self._sm_process(message)
            self._sm_apply(nxt)
        except Exception as exc:
            self._fsm_fail(exc)
            raise
        if nxt.stop_reason is not None:
            self._fsm_halt()
        return self._fsm_reply(nxt) if nxt.replies else None

    def _fsm_reply(self, nxt: State) -> Any:
        envelope = self.actor_inbox.current
        if envelope is None or envelope.reply_to is None:
            self._sm_log.warning(
                "replying(%r) in state %r: the message being handled came with tell(), "
                "not ask(), so there is nobody to reply to; the reply is dropped",
                nxt.replies[-1],
                nxt.state_name,
            )
            return None
        return nxt.replies[-1]

    # ---- stopping ----------------------------------------------------------------------

    def _fsm_fail(self, exc: Exception) -> None:
        current = self._sm_current
        if current is not None and not self._sm_terminated:
            try:
                self._sm_terminate(
                    State(current.state_name, current.state_data, stop_reason=Failure(exc))
                )
            except Exception:
                self._sm_log.exception("the termination handler failed")
        self._fsm_halt()

    def _fsm_halt(self) -> None:
        """Stop taking messages; what is still queued gets ActorDeadError, as in Pykka."""
        if self._fsm_halted:
            return
        self._fsm_halted = True
        self._sm_cancel_timers()
        pykka.ActorRegistry.unregister(self.actor_ref)
        self.actor_stopped.set()
        _deathwatch.stopped(self)

    def on_stop(self) -> None:
        """External stop (`ref.stop()`): terminate with `Shutdown`."""
        current = self._sm_current
        self._fsm_halted = True
        if current is not None and self._sm_initialized and not self._sm_terminated:
            self._sm_terminate(State(current.state_name, current.state_data, stop_reason=Shutdown))
        self._sm_cancel_timers()
        _deathwatch.stopped(self)

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """The termination handler already ran with `Failure(exc)` when the handler failed."""

    # ---- timers ------------------------------------------------------------------------

    def set_timer(self, name: str, msg: Any, interval: Duration, repeat: bool = False) -> None:
        """Send `msg` to self after `interval` (every `interval` at a fixed rate if `repeat`);
        same name replaces the old timer."""
        mode = _FIXED_RATE if repeat else _SINGLE
        self._fsm_start_timer(f"set_timer({name!r}, repeat={repeat})", name, msg, interval, mode)

    def start_single_timer(self, name: str, msg: Any, delay: Duration) -> None:
        """Send `msg` to self once, after `delay`; same name replaces the old timer.

        Example: `self.start_single_timer("retry", Retry(), timedelta(seconds=2))`
        """
        self._fsm_start_timer(f"start_single_timer({name!r})", name, msg, delay, _SINGLE)

    def start_timer_with_fixed_delay(self, name: str, msg: Any, delay: Duration) -> None:
        """Send `msg` to self repeatedly, each tick `delay` after the previous one was handled:
        an overloaded system gets slower ticks, never a backlog of them.

        Example: `self.start_timer_with_fixed_delay("poll", Poll(), 0.5)`
        """
        method = f"start_timer_with_fixed_delay({name!r})"
        self._fsm_start_timer(method, name, msg, delay, _FIXED_DELAY)

    def start_timer_at_fixed_rate(self, name: str, msg: Any, interval: Duration) -> None:
        """Send `msg` to self every `interval`, on a fixed schedule (late ticks catch up one at
        a time); at most one tick is undelivered. Same as `set_timer(..., repeat=True)`.

        Example: `self.start_timer_at_fixed_rate("heartbeat", Beat(), 1.0)`
        """
        method = f"start_timer_at_fixed_rate({name!r})"
        self._fsm_start_timer(method, name, msg, interval, _FIXED_RATE)

    def _fsm_start_timer(
        self, method: str, name: str, msg: Any, delay: Duration, mode: str
    ) -> None:
        seconds = to_seconds(delay, f"{method} interval")
        if seconds is None:
            raise FSMError(f"{method}: the interval must be finite, got {delay!r}")
        if mode is not _SINGLE and seconds == 0:
            raise FSMError(f"{method}: a repeating interval must be > 0, got {delay!r}")
        self._fsm_cancel_named(name)
        generation = next(self._fsm_generations)
        handle = self._fsm_dispatcher.schedule(
            self.actor_ref,
            seconds,
            _TimerFired(name, generation, msg),
            None if mode is _SINGLE else seconds,
        )
        self._fsm_timers[name] = _NamedTimer(generation, cast(_TimerHandle, handle), msg, mode)
        self._fsm_trace_timer("set", name, msg, seconds, mode is not _SINGLE)

    def cancel_timer(self, name: str) -> None:
        """Cancel the named timer; its message is never processed, even if already queued."""
        if self._fsm_cancel_named(name):
            self._fsm_trace_timer("cancel", name, None, None, False)

    def is_timer_active(self, name: str) -> bool:
        """Whether the named timer is set and has not fired (single-shot) or been cancelled."""
        return name in self._fsm_timers

    def _fsm_cancel_named(self, name: str) -> bool:
        timer = self._fsm_timers.pop(name, None)
        if timer is None:
            return False
        timer.handle.cancel()
        return True

    def _fsm_cancel_state_timeout(self) -> None:
        self._fsm_timeout_generation += 1
        if self._fsm_timeout is not None:
            self._fsm_timeout.cancel()
            self._fsm_timeout = None

    def _sm_arm_timeout(self, seconds: float) -> None:
        if self._fsm_timeout is not None:
            self._fsm_timeout.cancel()
        fired = _new_timeout_fired(_StateTimeoutFired)  # without the frozen __init__'s cost
        _set_generation(fired, self._fsm_timeout_generation)
        self._fsm_timeout = self._fsm_dispatcher.schedule(self.actor_ref, seconds, fired, None)

    def _sm_cancel_timers(self) -> None:
        for timer in self._fsm_timers.values():
            timer.handle.cancel()
        self._fsm_timers.clear()
        self._fsm_cancel_state_timeout()

    def _fsm_trace_timer(
        self, action: str, name: str, msg: Any, seconds: float | None, repeat: bool
    ) -> None:
        """Called on every timer set and cancel (LoggingFSM logs them)."""

    # ---- transition subscribers ----------------------------------------------------------

    def _fsm_subscribe(self, ref: Any) -> None:
        if not isinstance(ref, pykka.ActorRef):
            self._sm_log.warning(
                "SubscribeTransitionCallBack(%r) ignored: expected a pykka.ActorRef", ref
            )
            return
        if not ref.is_alive():
            self._sm_log.warning("SubscribeTransitionCallBack: %s is not running; ignored", ref)
            return
        if ref not in self._fsm_listeners:
            self._fsm_listeners.append(ref)
        ref.tell(CurrentState(self.actor_ref, self.state_name))

    def _sm_after_transition(self, from_state: Any, to_state: Any) -> None:
        if not self._fsm_listeners:
            return
        notice = Transition(self.actor_ref, from_state, to_state)
        for ref in list(self._fsm_listeners):
            try:
                ref.tell(notice)
            except pykka.ActorDeadError:
                self._fsm_listeners.remove(ref)
                self._sm_log.debug("dropped stopped transition subscriber %s", ref)

    # ---- specifications --------------------------------------------------------------------

    def monitor(self, monitor_cls: type[Monitor], event: Any) -> None:
        """Report `event` to the monitor `monitor_cls` (checked by the tester)."""
        self._fsm_dispatcher.monitor(monitor_cls, event)

    # ---- declared nondeterminism -----------------------------------------------------------

    def random_bool(self) -> bool:
        """A random boolean: real in production, a recorded choice under the tester."""
        return self._fsm_dispatcher.random_bool()

    def random_int(self, n: int) -> int:
        """A random integer in [0, n): real in production, a recorded choice under the tester."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise FSMError(f"random_int(n) needs an integer n >= 1, got {n!r}")
        return self._fsm_dispatcher.random_int(n)

    # ---- TestFSMRef support (called inside the actor through pykka's ProxyCall) ------------

    def _testkit_snapshot(self) -> tuple[Any, Any]:
        return self.state_name, self.state_data

    def _testkit_set_state(self, state: Any, data: Any, timeout: Any) -> None:
        self._fsm_cancel_state_timeout()
        current = self._sm_current_state()
        nxt = State(state, current.state_data if data is _KEEP else data)
        if timeout is not _KEEP:
            nxt = nxt.for_max(timeout)
        self._sm_apply(nxt)
        if nxt.stop_reason is not None:
            self._fsm_halt()

    def _testkit_state_timer_active(self) -> bool:
        return self._fsm_timeout is not None


def _check_mixin_order(cls: type) -> None:
    mro = cls.__mro__
    if pykka.Actor not in mro or mro.index(FSM) < mro.index(pykka.Actor):
        return
    mixin = next(base for base in cls.__bases__ if issubclass(base, FSM)).__name__
    actor = next(
        base for base in mro if issubclass(base, pykka.Actor) and not issubclass(base, FSM)
    ).__name__
    raise FSMError(
        f"class {cls.__name__}: {mixin} must come before {actor} in the base classes, "
        f"e.g. class {cls.__name__}({mixin}, pykka.ThreadingActor); the FSM mixin takes over "
        "the actor's inbox, futures and loop, which works only when it comes first"
    )


_KEEP: Any = object()
