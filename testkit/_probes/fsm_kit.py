"""`FSMTestKit`: one FSM, run synchronously by the test (Akka's `BehaviorTestKit`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pykka
from pykka import messages as pykka_messages
from pykka._envelope import Envelope

from fsm import FSM, FSMError, Reason, StateTimeout
from fsm._dead_letters import DeadLetter
from testkit._errors import TestkitError
from testkit._probes.probe import TestProbe
from testkit._probes.sync_dispatcher import (
    KitInbox,
    KitTimer,
    Responder,
    SyncDispatcher,
    SyncFuture,
)

A = TypeVar("A", bound=FSM)


@dataclass(frozen=True)
class Timer:
    """An active named timer of the FSM: its message, delay (seconds) and kind
    (`"single-shot"`, `"fixed-rate"` or `"fixed-delay"`)."""

    name: str
    message: Any
    delay: float
    mode: str


@dataclass(frozen=True)
class Effects:
    """What handling one message did.

    `transition` is `(from, to)` or None (`stay()`); `reply` what an ask got; `told` every
    `(ref, message)` the FSM told or asked, in order (to probes, stubs it started, itself);
    `timers_set` / `timers_cancelled` the named timers new or replaced / gone (a timer that
    fired is not "cancelled"); `spawned` the refs of actors it started (stubs: see
    `FSMTestKit.child`); `stopped` the stop reason if it stopped; `dead_letters` what it sent
    to stopped actors.
    """

    message: Any
    transition: tuple[Any, Any] | None
    reply: Any
    told: tuple[tuple[pykka.ActorRef[Any], Any], ...]
    timers_set: tuple[Timer, ...]
    timers_cancelled: tuple[str, ...]
    spawned: tuple[pykka.ActorRef[Any], ...]
    stopped: Reason | None
    dead_letters: tuple[DeadLetter, ...]

    def told_to(self, target: TestProbe | pykka.ActorRef[Any]) -> list[Any]:
        """The messages told (or asked) to `target`, a probe or a ref, in order."""
        refs = {id(target.ref)} if isinstance(target, TestProbe) else {id(target)}
        return [message for ref, message in self.told if id(ref) in refs]


class FSMTestKit(Generic[A]):
    """Runs one FSM in the test's own thread, message by message, with no scheduler.

    `run(message)` handles one message and returns its `Effects`; `ask(message)` returns the
    reply. Timers never fire by themselves: `timers` and `state_timeout` show what is set,
    `fire_timer(name)` / `fire_state_timeout()` deliver it. Actors the FSM starts are not run:
    their messages land in a `TestProbe` (`child(ref)`). An ask the FSM makes to a probe or a
    child is answered at once by `on_ask(target, fn)`; with no reply scripted, waiting on it
    raises `UnansweredAsk` (nobody could answer while the handler waits).

        kit = FSMTestKit(Buncher)
        target = TestProbe()
        kit.run(SetTarget(target.ref))
        effects = kit.run(Queue(42))
        assert effects.transition == (S.IDLE, S.ACTIVE)
        kit.fire_state_timeout()
        target.expect_msg(Batch((42,)))
    """

    __test__ = False  # not a pytest test class

    def __init__(self, cls: type[A], *args: Any, **kwargs: Any) -> None:
        if not (isinstance(cls, type) and issubclass(cls, FSM)):
            raise FSMError(
                f"FSMTestKit needs an FSM class (class X(FSM, pykka.ThreadingActor)), got {cls!r}"
            )
        if not issubclass(cls, pykka.Actor):
            raise FSMError(
                f"FSMTestKit({cls.__name__}): the class must also be a Pykka actor, e.g. "
                f"class {cls.__name__}(FSM, pykka.ThreadingActor)"
            )
        self._children: list[tuple[pykka.ActorRef[Any], TestProbe]] = []
        self._dispatcher = SyncDispatcher(self._spawned)
        self.random = self._dispatcher.random
        """Where the FSM's `random_bool()` / `random_int(n)` draw from: `random.Random(0)`;
        `kit.random.seed(n)` for another sequence."""
        self._transitions: list[tuple[Any, Any]] = []
        self._spawned_now: list[pykka.ActorRef[Any]] = []
        self.last_effects: Effects | None = None
        """The effects of the last message, also when its handler raised."""
        before = self._begin()
        with self._dispatcher.active():
            actor = cls(*args, **kwargs)
            self._dispatcher.actor = actor
            self._inbox().ref = actor.actor_ref
            actor.on_transition(lambda old, new: self._transitions.append((old, new)))
            actor.on_start()
        self.actor: A = actor
        """The FSM object itself, for reading (Akka's `underlyingActor`)."""
        self.ref: pykka.ActorRef[A] = actor.actor_ref
        self.initial_effects = self._finish(None, before, None)
        """What `__init__` and `on_start` did (messages told, timers set, actors started)."""

    def __repr__(self) -> str:
        return f"FSMTestKit({type(self.actor).__name__} in state {self.actor.state_name!r})"

    # ---- running ---------------------------------------------------------------------------

    def run(self, message: Any, *, ask: bool = False) -> Effects:
        """Handle `message` now (as if told; as if asked with `ask=True`, the reply in
        `Effects.reply`) and return what that did. An exception escaping the handler is
        raised here, after the FSM stopped with `Failure` (`last_effects` has the effects)."""
        self._check_alive(f"run({message!r})")
        reply_to = SyncFuture() if ask else None
        return self._deliver(Envelope(message, reply_to=reply_to), message)

    def ask(self, message: Any) -> Any:
        """Handle `message` as if asked and return the reply (None if the FSM gave none)."""
        return self.run(message, ask=True).reply

    @property
    def pending(self) -> list[Any]:
        """Messages sent to the FSM itself (by its own handlers, or to `ref`) not yet run."""
        return [envelope.message for envelope in self._inbox().items]

    def run_one(self) -> Effects:
        """Handle the oldest of `pending` and return what that did."""
        self._check_alive("run_one()")
        inbox = self._inbox()
        if not inbox.items:
            raise AssertionError(f"{self!r}: run_one(), but no message is pending")
        envelope = inbox.items.popleft()
        return self._deliver(envelope, envelope.message)

    def stop(self) -> Effects:
        """Stop the FSM as `ref.stop()` would (its termination handler gets `Shutdown`)."""
        self._check_alive("stop()")
        return self._deliver(Envelope(pykka_messages._ActorStop()), pykka_messages._ActorStop())

    # ---- state and timers -------------------------------------------------------------------

    @property
    def state_name(self) -> Any:
        """The FSM's current state."""
        return self.actor.state_name

    @property
    def state_data(self) -> Any:
        """The FSM's current state data."""
        return self.actor.state_data

    @property
    def is_alive(self) -> bool:
        """False once the FSM has stopped (it then handles nothing more)."""
        return not self.actor.actor_stopped.is_set()

    @property
    def timers(self) -> dict[str, Timer]:
        """The active named timers by name (a single-shot timer until it is fired)."""
        found = {}
        for name, timer in self.actor._fsm_timers.items():
            handle: KitTimer = timer.handle  # type: ignore[assignment]
            found[name] = Timer(name, timer.message, handle.delay, timer.mode)
        return found

    @property
    def state_timeout(self) -> float | None:
        """Seconds of the armed state timeout, or None if none is armed."""
        handle: KitTimer | None = self.actor._fsm_timeout  # type: ignore[assignment]
        return None if handle is None else handle.delay

    def fire_timer(self, name: str) -> Effects:
        """Deliver the named timer's message now, as if it had fired (a single-shot timer is
        then gone; a repeating one stays set)."""
        self._check_alive(f"fire_timer({name!r})")
        timer = self.actor._fsm_timers.get(name)
        if timer is None:
            active = ", ".join(repr(n) for n in self.actor._fsm_timers) or "none"
            raise AssertionError(
                f"{self!r}: fire_timer({name!r}), but no timer {name!r} is active "
                f"(active timers: {active}; a single-shot timer is gone once fired)"
            )
        handle: KitTimer = timer.handle  # type: ignore[assignment]
        return self._deliver(Envelope(handle.message), timer.message, fired=name)

    def fire_state_timeout(self) -> Effects:
        """Deliver `StateTimeout()` now, as if the armed state timeout had expired."""
        self._check_alive("fire_state_timeout()")
        handle: KitTimer | None = self.actor._fsm_timeout  # type: ignore[assignment]
        if handle is None:
            raise AssertionError(
                f"{self!r}: fire_state_timeout(), but no state timeout is armed in state "
                f"{self.state_name!r} (give the state a state_timeout, or use for_max)"
            )
        return self._deliver(Envelope(handle.message), StateTimeout())

    # ---- other actors ----------------------------------------------------------------------

    @property
    def children(self) -> list[pykka.ActorRef[Any]]:
        """Refs of the actors the FSM started, in order (stubs: nothing runs them)."""
        return [ref for ref, _ in self._children]

    def child(self, which: pykka.ActorRef[Any] | type | int = -1) -> TestProbe:
        """The probe that receives what is sent to a started actor: by its ref, its class
        (the last one started), or its index in `children` (default: the last one)."""
        probes: list[TestProbe] = [probe for _, probe in self._children]
        if isinstance(which, int) and not isinstance(which, bool):
            if -len(probes) <= which < len(probes):
                return probes[which]
        else:
            for ref, found in self._children[::-1]:
                if which is ref or (isinstance(which, type) and issubclass(ref.actor_class, which)):
                    return found
        started = ", ".join(str(ref) for ref in self.children) or "none"
        raise AssertionError(f"{self!r}: the FSM started no actor {which!r}; started: {started}")

    def on_ask(self, target: TestProbe | pykka.ActorRef[Any] | type, fn: Responder) -> None:
        """Answer every ask the FSM makes to `target` at once with `fn(message)`; if `fn`
        raises, the ask fails with that exception. `target` is a `TestProbe` (or its ref),
        the ref of an actor the FSM started, or an actor class: every actor of that class
        the FSM starts, also one it starts and asks in the same handler. The message still
        reaches the probe.

            kit.on_ask(db, lambda msg: Row(msg.key, "v"))
            kit.on_ask(Worker, lambda msg: "ready")
        """
        if not callable(fn):
            raise TypeError(f"{self!r}: on_ask needs a function, got {fn!r}")
        if isinstance(target, type) and issubclass(target, pykka.Actor):
            self._dispatcher.class_responders.append((target, fn))
            return
        inbox = self._probe_inbox_of(target)
        self._dispatcher.responders[id(inbox)] = (inbox, fn)

    def _probe_inbox_of(self, target: Any) -> Any:
        if isinstance(target, TestProbe):
            return target._inbox
        if isinstance(target, pykka.ActorRef):
            inbox = target.actor_inbox
            if isinstance(inbox, KitInbox) and inbox.probe is not None:
                return inbox.probe._inbox
            if getattr(inbox, "answered_by_test", False) and not isinstance(inbox, KitInbox):
                return inbox
        raise TypeError(
            f"{self!r}: on_ask needs a TestProbe, a probe's ref, the ref of an actor the "
            f"FSM started or an actor class, got {target!r}"
        )

    def _spawned(self, actor: pykka.Actor) -> TestProbe:
        probe = TestProbe(f"child {actor.actor_inbox.id}")  # type: ignore[attr-defined]
        self._children.append((actor.actor_ref, probe))
        self._spawned_now.append(actor.actor_ref)
        return probe

    # ---- the mechanics ---------------------------------------------------------------------

    def _inbox(self) -> KitInbox:
        if self._dispatcher.actor is None:
            raise TestkitError("FSMTestKit: the FSM is not made yet")
        inbox: KitInbox = self._dispatcher.actor.actor_inbox  # type: ignore[assignment]
        return inbox

    def _check_alive(self, what: str) -> None:
        if not self.is_alive:
            current = self.actor._sm_current
            reason = current.stop_reason if current is not None else None
            raise TestkitError(
                f"{self!r}: {what}, but the FSM has stopped ({reason!r}); it handles no more "
                "messages (in production they would be dead letters)"
            )

    def _begin(self) -> dict[str, int]:
        """Start recording; what the named timers were (name: generation)."""
        self._transitions.clear()
        self._spawned_now.clear()
        self._dispatcher.told_log.clear()
        self._dispatcher.dead_letters_log.clear()
        actor: Any = self._dispatcher.actor
        if actor is None:
            return {}
        return {name: timer.generation for name, timer in actor._fsm_timers.items()}

    def _deliver(self, envelope: Envelope[Any], shown: Any, fired: str | None = None) -> Effects:
        """Pykka's loop for one envelope, on the test's thread (`fired`: the timer's name)."""
        actor = self.actor
        before = self._begin()
        inbox = self._inbox()
        inbox.current = envelope
        try:
            with self._dispatcher.active():
                response = actor._handle_receive(envelope.message)
        except Exception:
            if envelope.reply_to is not None:
                envelope.reply_to.set_exception()
            self._after_stop()
            self.last_effects = self._finish(shown, before, None, fired)
            raise
        if envelope.reply_to is not None:
            envelope.reply_to.set(response)
        self._after_stop()
        ask = envelope.reply_to is not None
        effects = self._finish(shown, before, response if ask else None, fired)
        self.last_effects = effects
        return effects

    def _after_stop(self) -> None:
        """If the FSM stopped, what is left in its mailbox is dead letters and watchers
        hear of it (the end of Pykka's loop)."""
        if not self.is_alive:
            with self._dispatcher.active():
                self.actor._actor_loop_teardown()

    def _finish(
        self, message: Any, before: dict[str, int], reply: Any, fired: str | None = None
    ) -> Effects:
        actor: Any = self._dispatcher.actor
        after = {name: timer.generation for name, timer in actor._fsm_timers.items()}
        timers = self.timers
        current = actor._sm_current
        return Effects(
            message=message,
            transition=self._transitions[-1] if self._transitions else None,
            reply=reply,
            told=tuple(self._dispatcher.told_log),
            timers_set=tuple(
                timers[name] for name, gen in after.items() if before.get(name) != gen
            ),
            timers_cancelled=tuple(name for name in before if name not in after and name != fired),
            spawned=tuple(self._spawned_now),
            stopped=current.stop_reason if actor._sm_terminated and current else None,
            dead_letters=tuple(self._dispatcher.dead_letters_log),
        )
