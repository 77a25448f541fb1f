"""The dispatcher of `FSMTestKit`: one FSM, run by the test itself, with no threads.

The FSM under test gets a mailbox the kit reads; actors it starts become stubs whose
messages land in a `TestProbe`; timers are only recorded (the test fires them); an ask the
FSM makes is answered at once by a reply the test scripted, or fails clearly.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pykka
from pykka import messages as pykka_messages
from pykka._envelope import Envelope

from fsm import _deathwatch, _dispatch
from fsm._dead_letters import DeadLetter
from fsm._dispatch import Dispatcher, NotifyingFuture
from testkit._errors import TestkitError

if TYPE_CHECKING:
    from testkit._probes.probe import TestProbe


class UnansweredAsk(TestkitError):
    """The FSM under `FSMTestKit` waits for the reply to an ask nobody can answer meanwhile."""

    __test__ = False


class SyncFuture(NotifyingFuture):
    """A reply future that knows whom it was sent to, so that waiting on a reply only the
    test could give is a clear error instead of a hang."""

    owner: Any = None  # the mailbox the ask went to (a probe's, a stub's); set by its put
    request: Any = None

    def get(self, timeout: float | None = None) -> Any:
        if not self._is_set and getattr(self.owner, "answered_by_test", False):
            target = getattr(self.owner, "id", repr(self.owner))
            raise UnansweredAsk(
                f"the FSM asked {target} {self.request!r} and waits for the reply, but "
                "FSMTestKit runs it synchronously: nobody can answer meanwhile. Script the "
                f"reply first: kit.on_ask(<that probe or ref>, lambda message: <reply>)"
            )
        return super().get(timeout=timeout)


class KitTimer:
    """A timer the kit records instead of running: the test fires it (`fire_timer`)."""

    __slots__ = ("cancelled", "delay", "interval", "message")

    def __init__(self, delay: float, message: Any, interval: float | None) -> None:
        self.delay = delay
        self.message = message
        self.interval = interval
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def delivered(self, fixed_delay: bool) -> None:
        """A repeating timer stays set after each tick the test fires."""


class KitInbox:
    """The mailbox of the FSM under test (the kit reads it) or of a stub it started (whose
    messages go on to the stub's probe)."""

    answered_by_test = True  # an ask parked here is only answered when the test runs it

    def __init__(self, dispatcher: SyncDispatcher, name: str) -> None:
        self.dispatcher = dispatcher
        self.id = name
        self.items: deque[Envelope[Any]] = deque()
        self.current: Envelope[Any] | None = None
        self.ref: pykka.ActorRef[Any] | None = None
        self.probe: TestProbe | None = None  # a stub's

    def put(self, envelope: Envelope[Any], /) -> None:
        probe = self.probe
        if probe is not None:
            if isinstance(envelope.message, pykka_messages._ActorStop):
                self.dispatcher.stop_stub(self, envelope)
            else:
                probe._inbox.put(envelope)
            return
        reply_to: Any = envelope.reply_to
        if reply_to is not None and hasattr(reply_to, "owner"):
            reply_to.owner = self
            reply_to.request = envelope.message
        self.items.append(envelope)
        if self.ref is not None:
            self.dispatcher.told(self.ref, envelope.message)

    def get(self) -> Envelope[Any]:
        envelope = self.items.popleft()
        self.current = envelope
        return envelope

    def empty(self) -> bool:
        return not self.items


Responder = Callable[[Any], Any]


class SyncDispatcher(Dispatcher):
    """Runs nothing by itself: `FSMTestKit` hands the FSM its messages and reads the effects
    this dispatcher records while `running`."""

    def __init__(self, spawned: Callable[[pykka.Actor], TestProbe]) -> None:
        super().__init__()
        self.monitors = _dispatch.production().monitors
        self.random = random.Random(0)
        self.running = False
        self.thread = threading.get_ident()
        self.actor: pykka.Actor | None = None
        self.told_log: list[tuple[pykka.ActorRef[Any], Any]] = []
        self.dead_letters_log: list[DeadLetter] = []
        self.responders: dict[int, tuple[Any, Responder]] = {}  # by id of a probe's inbox
        self.class_responders: list[tuple[type, Responder]] = []  # for stubs of a class
        self.stub_of_probe_inbox: dict[int, pykka.ActorRef[Any]] = {}
        self._names: dict[str, int] = {}
        self._spawned = spawned

    # ---- the Dispatcher seam ------------------------------------------------------------

    def create_inbox(self, actor_class: type) -> KitInbox:
        number = self._names[actor_class.__name__] = self._names.get(actor_class.__name__, 0) + 1
        return KitInbox(self, f"{actor_class.__name__}#{number}")

    def create_future(self) -> SyncFuture:
        return SyncFuture()

    def start_actor_loop(self, actor: pykka.Actor) -> None:
        """Only actors the FSM starts come here (the kit never starts its own): a stub."""
        pykka.ActorRegistry.unregister(actor.actor_ref)  # nothing runs it; stop_all skips it
        probe = self._spawned(actor)
        inbox: KitInbox = actor.actor_inbox  # type: ignore[assignment]
        inbox.ref = actor.actor_ref
        inbox.probe = probe
        self.stub_of_probe_inbox[id(probe._inbox)] = actor.actor_ref
        while inbox.items:
            inbox.put(inbox.items.popleft())

    def schedule(
        self, target: pykka.ActorRef[Any], delay: float, message: Any, interval: float | None
    ) -> KitTimer:
        return KitTimer(delay, message, interval)

    def random_int(self, n: int) -> int:
        return self.random.randrange(n)

    def random_bool(self) -> bool:
        return self.random.random() < 0.5

    def running_actor(self) -> pykka.ActorRef[Any] | None:
        """The FSM under test while it handles something (the sender of what it tells)."""
        if self.running and self.actor is not None:
            ref: pykka.ActorRef[Any] = self.actor.actor_ref
            return ref
        return None

    def dead_letter(self, letter: DeadLetter) -> None:
        if self.running:
            self.dead_letters_log.append(letter)
        super().dead_letter(letter)

    # ---- what the kit records -----------------------------------------------------------

    def told(self, ref: pykka.ActorRef[Any], message: Any) -> None:
        if self.running:
            self.told_log.append((ref, message))

    def probe_put(self, inbox: Any, envelope: Envelope[Any]) -> None:
        """A probe's inbox got `envelope` (the `ProbeInbox` hook): record it, and answer an
        ask to it with the scripted reply, if any."""
        recipient = self.stub_of_probe_inbox.get(id(inbox)) or getattr(inbox, "owner_ref", None)
        if recipient is not None:
            self.told(recipient, envelope.message)
        reply_to = envelope.reply_to
        if reply_to is None:
            return
        respond = self._responder(inbox)
        if respond is None:
            return
        try:
            reply = respond(envelope.message)
        except Exception as exc:  # the asker's future fails with it, as a failed ask would
            reply_to.set_exception((type(exc), exc, exc.__traceback__))
            return
        reply_to.set(reply)

    def _responder(self, inbox: Any) -> Responder | None:
        entry = self.responders.get(id(inbox))
        if entry is not None:
            return entry[1]
        stub = self.stub_of_probe_inbox.get(id(inbox))
        if stub is not None:
            for cls, respond in reversed(self.class_responders):
                if issubclass(stub.actor_class, cls):
                    return respond
        return None

    def stop_stub(self, inbox: KitInbox, envelope: Envelope[Any]) -> None:
        """`ref.stop()` of a stub: it is stopped (later messages are dead letters)."""
        ref = inbox.ref
        if ref is not None and ref.is_alive():
            ref.actor_stopped.set()
            actor = _deathwatch.actor_of(ref)
            if actor is not None:
                _deathwatch.stopped(actor)
        if envelope.reply_to is not None:
            envelope.reply_to.set(None)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """The FSM under test runs: this dispatcher is current, plain Pykka actors it starts
        become stubs too, and effects are recorded."""
        self.running = True
        try:
            with _dispatch.installed(self), _routed_plain_actors(self):
                yield
        finally:
            self.running = False


_ROUTED = ("_create_actor_inbox", "_create_future", "_start_actor_loop")


@contextlib.contextmanager
def _routed_plain_actors(dispatcher: SyncDispatcher) -> Iterator[None]:
    """A plain `pykka.ThreadingActor` started by the FSM under test becomes a stub too (an
    FSM or pooled actor does through its own seam): for the duration of the block, and on
    the kit's thread only, its inbox, futures and loop come from `dispatcher`."""
    cls: Any = pykka.ThreadingActor
    saved = {name: cls.__dict__[name] for name in _ROUTED}

    def ours() -> bool:
        return _dispatch.current() is dispatcher and threading.get_ident() == dispatcher.thread

    def create_inbox(actor_class: type) -> Any:
        if ours():
            return dispatcher.create_inbox(actor_class)
        return saved["_create_actor_inbox"].__get__(None, actor_class)()

    def create_future(actor_class: type) -> Any:
        if ours():
            return dispatcher.create_future()
        return saved["_create_future"].__get__(None, actor_class)()

    def start_loop(actor: pykka.Actor) -> None:
        if ours() and isinstance(actor.actor_inbox, KitInbox):
            dispatcher.start_actor_loop(actor)
        else:
            saved["_start_actor_loop"].__get__(actor, type(actor))()

    cls._create_actor_inbox = classmethod(create_inbox)
    cls._create_future = classmethod(create_future)
    cls._start_actor_loop = start_loop
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(cls, name, value)
