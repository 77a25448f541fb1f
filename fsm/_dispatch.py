"""The dispatcher seam: who runs actor loops, futures, timers and choices.

Production uses Pykka's threads and one shared timer thread; the deterministic tester
installs its own dispatcher so that the same FSM classes run under its scheduler.
"""

from __future__ import annotations

import contextlib
import queue
import random
import sys
import threading
from collections.abc import Callable, Hashable, Iterator
from itertools import count
from typing import TYPE_CHECKING, Any, Protocol

import pykka
from pykka._envelope import Envelope

from fsm import _journal, _timer_thread
from fsm._dead_letters import DeadLetter, dead_letters
from fsm._monitor import Monitor, check_monitor_class
from fsm._production_monitors import ProductionMonitors

if TYPE_CHECKING:
    from fsm._journal import AtomicWrite, Journal, Recovery


class Cancellable(Protocol):
    """A scheduled timer that can be cancelled."""

    def cancel(self) -> None: ...


class TrackingInbox(Protocol):
    """An actor inbox that remembers the envelope taken last, so replies know their asker."""

    current: Envelope[Any] | None

    def put(self, envelope: Envelope[Any], /) -> None: ...

    def get(self) -> Envelope[Any]: ...

    def empty(self) -> bool: ...


class Dispatcher:
    """Runs FSM actors. The base class is production: Pykka threads and real timers."""

    deterministic = False
    """True when one scheduler runs everything and waiting means running it (the tester)."""

    def run_until(self, done: Callable[[], bool]) -> bool:
        """Run the scheduler until `done()` or until nothing is left to run; only for
        deterministic dispatchers. Returns `done()`."""
        raise NotImplementedError("only a deterministic dispatcher can run until a condition")

    def __init__(self) -> None:
        self.monitors = ProductionMonitors()
        self.persistence_owners: dict[tuple[Hashable, str], Any] = {}
        """(journal identity, persistence id) -> the `PersistentFSM` writing it: one writer
        per persistence id among the actors this dispatcher runs (the tester's runtime has
        its own per iteration)."""

    def create_inbox(self, actor_class: type) -> TrackingInbox:
        return _ThreadInbox()

    def create_future(self) -> pykka.Future[Any]:
        return NotifyingFuture()

    def start_actor_loop(self, actor: pykka.Actor) -> None:
        thread = threading.Thread(
            target=actor._actor_loop,
            name=f"{type(actor).__name__}-{next(_thread_counter)}",
            daemon=getattr(actor, "use_daemon_thread", False),
        )
        thread.start()

    def schedule(
        self, target: pykka.ActorRef[Any], delay: float, message: Any, interval: float | None
    ) -> Cancellable:
        """Tell `message` to `target` after `delay`, then every `interval` if given."""
        return _timer_thread.current.schedule(delay, _Tell(target, message), interval)

    def random_int(self, n: int) -> int:
        return random.randrange(n)

    def random_bool(self) -> bool:
        return random.random() < 0.5

    def monitor(self, monitor_cls: type[Monitor], event: Any) -> None:
        """Report `event` to a monitor: a no-op in production unless it was enabled."""
        self.monitors.dispatch(check_monitor_class(monitor_cls), event)

    def sometimes(self, condition: object, name: str) -> bool:
        """A situation the tester must see in some run (`fsm.sometimes`); production only
        returns `bool(condition)`."""
        return bool(condition)

    def journal_write(self, actor: Any, journal: Journal, batch: AtomicWrite) -> None:
        """Store what the `PersistentFSM` `actor` persists; return once it is durable, or raise
        `PersistRejected` (nothing stored) / `PersistFailed` (unknown). Production writes at
        once on the calling thread (the journal group-commits concurrent writers); the tester
        overrides this to make the write a scheduling point and to inject failures."""
        journal.write(batch)

    def journal_recover(self, actor: Any, journal: Journal, persistence_id: str) -> Recovery:
        """What `actor` recovers from: the latest snapshot and the entries after it."""
        return journal.recover(persistence_id)

    def default_journal(self) -> Journal:
        """The journal of a `PersistentFSM` that names none (`fsm.default_journal()`):
        production's process-wide one; the tester has one per iteration, so that no state
        leaks from one schedule into the next."""
        return _journal.default_journal()

    def set_default_journal(self, journal: Journal) -> None:
        """`fsm.set_default_journal(journal)`: production sets the process-wide default;
        the tester sets the default of the running iteration only."""
        _journal.set_default_journal(journal)

    def dead_letter(self, letter: DeadLetter) -> None:
        """A message reached an actor of this dispatcher after it stopped: production
        publishes it on `fsm.dead_letters` and logs it (rate-limited). The tester can
        override this to record it as well."""
        dead_letters.publish(letter)


_thread_counter = count()


class _Tell:
    """A timer's callback: tell `message` to `target` unless it has stopped meanwhile.

    Each tick puts the same envelope in the mailbox (Pykka's `tell` makes a new one, with a
    dict, every time): a repeating timer has at most one tick undelivered, and the envelope
    is only read. Timer services may read `target` and `message` (testkit.ManualTime waits
    for the target to handle it).
    """

    __slots__ = ("envelope", "message", "target")

    def __init__(self, target: pykka.ActorRef[Any], message: Any) -> None:
        self.target = target
        self.message = message
        self.envelope = Envelope(message)

    def __call__(self) -> None:
        target = self.target
        if not target.actor_stopped.is_set():  # a tick for a stopped actor is no dead letter
            target.actor_inbox.put(self.envelope)

    def __repr__(self) -> str:
        return f"tell({self.message!r} to {self.target})"


class NotifyingFuture(pykka.ThreadingFuture[Any]):
    """A threading future that can also call back when its value is set (TestProbe.send).

    It keeps its own lock and done flag: pykka's ThreadingFuture internals differ between
    4.x releases (4.0-4.2 have no `_condition`, and fill `_result` only in `get()`).
    """

    def __init__(self) -> None:
        super().__init__()
        self._callback_lock = threading.Lock()
        self._callbacks: list[Callable[[pykka.Future[Any]], None]] = []
        self._is_set = False

    def add_done_callback(self, callback: Callable[[pykka.Future[Any]], None]) -> None:
        """Call `callback(self)` once the value or exception is set (now if it is)."""
        with self._callback_lock:
            if not self._is_set:
                self._callbacks.append(callback)
                return
        callback(self)

    def set(self, value: Any | None = None) -> None:
        super().set(value)
        self._run_callbacks()

    def set_exception(self, exc_info: Any = None) -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        super().set_exception(exc_info)
        self._run_callbacks()

    def _run_callbacks(self) -> None:
        with self._callback_lock:
            self._is_set = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


class _ThreadInbox(queue.Queue[Any]):
    """Pykka's queue inbox, remembering the envelope it handed out last."""

    current: Envelope[Any] | None = None

    def _get(self) -> Any:
        # Queue.get calls _get under its lock; overriding it (not get) costs no extra call.
        envelope = self.queue.popleft()
        self.current = envelope
        return envelope


_PRODUCTION = Dispatcher()
_current: Dispatcher = _PRODUCTION


def production() -> Dispatcher:
    """The production dispatcher (Pykka threads), whatever is installed right now."""
    return _PRODUCTION


def current() -> Dispatcher:
    """The dispatcher new actors, futures and choices go through right now."""
    return _current


def current_for(actor_class: type) -> Dispatcher:
    """The dispatcher for a new actor of `actor_class`: the installed one, except that in
    production a class may name its own (`fsm.PooledActor` names the shared pool)."""
    if _current is _PRODUCTION:
        own: Callable[[], Dispatcher] | None = getattr(
            actor_class, "_fsm_production_dispatcher", None
        )
        if own is not None:
            return own()
    return _current


@contextlib.contextmanager
def installed(dispatcher: Dispatcher) -> Iterator[Dispatcher]:
    """Make `dispatcher` the current one for the duration of the block."""
    global _current
    previous, _current = _current, dispatcher
    try:
        yield dispatcher
    finally:
        _current = previous
