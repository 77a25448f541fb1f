"""`PooledActor`: Pykka actors whose messages run on a shared pool of worker threads.

An actor with messages waiting is queued once on the pool's ready queue; a worker takes it,
runs up to `throughput` of its messages (Pykka's own loop, so replies and failures behave as
with `ThreadingActor`) and queues it again at the back if more are waiting. An actor is never
queued twice, so its handlers never run concurrently and its messages keep their order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
import time
from collections import deque
from itertools import count
from typing import TYPE_CHECKING, Any, ClassVar

import pykka
from pykka import messages as pykka_messages

from fsm import _dispatch, _refs, _senders
from fsm._dispatch import Dispatcher
from fsm._errors import FSMError

if TYPE_CHECKING:
    from pykka._envelope import Envelope

_log = logging.getLogger("fsm.pool")

DEFAULT_THROUGHPUT = 5
"""Messages one actor handles per turn before its worker moves on (Akka's default)."""

BLOCKED_AFTER = 0.25
"""Seconds one turn may hold a worker while other actors wait before the pool adds a worker."""

WATCH_PERIOD = 0.05
"""How often the pool's watcher looks for blocked workers."""


class _EndOfTurn(BaseException):
    """Raised by the inbox to end Pykka's actor loop when the turn is over (never escapes).

    A fresh instance every time: raising one shared instance again grows its `__traceback__`
    by the turn's frames on every raise, which keeps every handled message alive for good.
    """


class PoolInbox:
    """An actor's mailbox on the pool: a deque, and whether the actor is on the ready queue.

    `get()` ends the turn (raising `_EndOfTurn`) when the inbox is empty or the turn's budget
    is spent, which returns control from Pykka's `_actor_loop_running` to the worker.
    """

    __slots__ = (
        "actor",
        "budget",
        "current",
        "dead",
        "items",
        "lock",
        "pool",
        "scheduled",
        "started",
    )

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.items: deque[Envelope[Any]] = deque()
        self.lock = threading.Lock()
        self.current: Envelope[Any] | None = None
        self.actor: pykka.Actor | None = None
        self.scheduled = True  # until the actor is started, nothing may queue it
        self.dead = False
        self.started = False
        self.budget = 0

    def put(self, envelope: Envelope[Any], /) -> None:
        with self.lock:
            if not self.dead:
                self.items.append(envelope)
                if not self.scheduled:
                    self.scheduled = True
                    self.pool.ready.put(self)
                return
        _refuse(envelope, self.actor)

    def get(self) -> Envelope[Any]:
        if self.budget <= 0 or not self.items:
            raise _EndOfTurn
        envelope = self.items.popleft()
        self.budget -= 1
        self.current = envelope
        return envelope

    def empty(self) -> bool:
        return not self.items

    def run_turn(self, throughput: int) -> bool:
        """Handle up to `throughput` messages (the first turn runs `on_start` first).

        Returns True when messages are still waiting: the actor needs another turn.
        """
        actor: Any = self.actor
        stopped = actor.actor_stopped
        if not self.started:
            self.started = True
            actor._actor_loop_setup()
        if not stopped.is_set():
            self.budget = throughput
            _senders.bind_thread(actor.actor_ref)  # what it tells has a known sender
            try:
                with contextlib.suppress(_EndOfTurn):
                    actor._actor_loop_running()
            finally:
                _senders.bind_thread(None)
        if stopped.is_set():
            self._finish(actor)
            return False
        with self.lock:
            if not self.items:
                self.scheduled = False
                return False
        return True

    def _finish(self, actor: Any) -> None:
        """The actor stopped: refuse later messages; fail what is queued, as Pykka does."""
        with self.lock:
            self.dead = True
        self.budget = sys.maxsize  # teardown reads while not empty(): never the end of a turn
        actor._actor_loop_teardown()


def _refuse(envelope: Envelope[Any], actor: pykka.Actor | None) -> None:
    """A message reached an actor that already stopped: a dead letter; its ask fails."""
    if actor is not None:
        _refs.refuse(envelope, actor.actor_ref)
    elif envelope.reply_to is not None and not isinstance(
        envelope.message, pykka_messages._ActorStop
    ):
        dead = pykka.ActorDeadError("the actor stopped before handling the message")
        envelope.reply_to.set_exception((pykka.ActorDeadError, dead, None))


class _Worker:
    __slots__ = ("inbox", "replaced", "seen_since", "seen_turns", "turns")

    def __init__(self) -> None:
        self.inbox: PoolInbox | None = None
        self.turns = 0
        self.replaced = False
        self.seen_turns = -1
        self.seen_since = 0.0


class Pool:
    """The worker threads, the ready queue and the watcher that replaces blocked workers."""

    def __init__(self, workers: int, throughput: int) -> None:
        self.target = workers
        self.throughput = throughput
        self.ready: queue.SimpleQueue[PoolInbox] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.workers: list[_Worker] = []
        self.replacements = 0
        self._names = count(1)
        self._started = False

    def start(self, actor: pykka.Actor) -> None:
        """Queue a new actor for its first turn (on_start and what was sent meanwhile)."""
        inbox = actor.actor_inbox
        if not isinstance(inbox, PoolInbox):
            raise FSMError(
                f"{type(actor).__name__} was created under another dispatcher (the "
                "deterministic tester?) and cannot be started on the pool; create and start "
                "actors in the same place"
            )
        inbox.actor = actor
        if not self._started:
            with self.lock:
                if not self._started:
                    for _ in range(self.target):
                        self._spawn()
                    threading.Thread(target=self._watch, name="fsm-pool-watch", daemon=True).start()
                    self._started = True
        self.ready.put(inbox)

    def _spawn(self) -> _Worker:
        """Start one worker thread (the lock is held)."""
        worker = _Worker()
        thread = threading.Thread(
            target=self._work, args=(worker,), name=f"fsm-pool-{next(self._names)}", daemon=True
        )
        self.workers.append(worker)
        thread.start()
        return worker

    def _work(self, worker: _Worker) -> None:
        ready = self.ready
        throughput = self.throughput
        while True:
            inbox = ready.get()
            worker.inbox = inbox
            more = True
            while more:
                worker.turns += 1
                try:
                    more = inbox.run_turn(throughput)
                except BaseException:  # a bug here must not cost the pool a thread silently
                    _log.exception("pool worker failed running %s", inbox.actor)
                    more = False
                if more and not ready.empty():
                    ready.put(inbox)  # others wait: to the back of the queue
                    more = False
                # else nobody waits: the next turn on this worker, without a hand-over
            worker.inbox = None
            if worker.replaced and self._retire(worker):
                return

    def _retire(self, worker: _Worker) -> bool:
        """A blocked worker came back: leave if the pool has enough runnable workers."""
        with self.lock:
            worker.replaced = False
            runnable = sum(1 for other in self.workers if not other.replaced)
            if runnable > self.target:
                self.workers.remove(worker)
                return True
            return False

    def _watch(self) -> None:
        """Give each worker stuck in one turn for BLOCKED_AFTER seconds, while actors wait
        for a thread, a replacement, and say so."""
        pause = threading.Event()  # not time.sleep: the tester forbids it while it runs
        while True:
            pause.wait(WATCH_PERIOD)
            now = time.monotonic()
            with self.lock:
                for worker in list(self.workers):
                    inbox, turns = worker.inbox, worker.turns
                    if inbox is None or turns != worker.seen_turns:
                        worker.seen_turns, worker.seen_since = turns, now
                        continue
                    blocked_for = now - worker.seen_since
                    if worker.replaced or blocked_for < BLOCKED_AFTER or self.ready.empty():
                        continue
                    worker.replaced = True
                    self.replacements += 1
                    self._warn(inbox, blocked_for)  # first: it is logged before any effect
                    self._spawn()

    def _warn(self, inbox: PoolInbox, blocked_for: float) -> None:
        envelope = inbox.current
        what = "on_start" if envelope is None else f"handling {type(envelope.message).__name__}"
        _log.warning(
            "pooled actor %s has held a pool worker for %.2f s (%s) while other actors wait: "
            "started a replacement worker (%d threads, %d configured), which retires once the "
            "handler returns. Do not block in a pooled handler: ask with block=False and handle "
            "the reply as a message, wait with a timer instead of time.sleep, or make this "
            "actor a pykka.ThreadingActor",
            inbox.actor,
            blocked_for,
            what,
            len(self.workers) + 1,
            self.target,
        )

    def thread_count(self) -> int:
        """How many worker threads the pool has right now."""
        with self.lock:
            return len(self.workers)


class PoolDispatcher(Dispatcher):
    """Production for `PooledActor`s: the shared pool instead of a thread per actor."""

    def __init__(self) -> None:
        super().__init__()
        self.monitors = _dispatch.production().monitors
        self.persistence_owners = _dispatch.production().persistence_owners
        self._pool: Pool | None = None
        self._lock = threading.Lock()
        self.workers: int | None = None
        self.throughput = DEFAULT_THROUGHPUT

    @property
    def pool(self) -> Pool:
        """The pool, created (and its settings fixed) by the first PooledActor."""
        pool = self._pool
        if pool is None:
            with self._lock:
                pool = self._pool
                if pool is None:
                    workers = self.workers or os.cpu_count() or 1
                    pool = self._pool = Pool(workers, self.throughput)
        return pool

    def configure(self, workers: int | None, throughput: int) -> None:
        with self._lock:
            if self._pool is not None:
                raise FSMError(
                    "configure_pool() must be called before the first PooledActor starts; the "
                    f"pool already runs with {self._pool.target} worker(s) and throughput "
                    f"{self._pool.throughput}. Call it once at program start-up"
                )
            self.workers = workers
            self.throughput = throughput

    def create_inbox(self, actor_class: type) -> PoolInbox:
        return PoolInbox(self.pool)

    def start_actor_loop(self, actor: pykka.Actor) -> None:
        self.pool.start(actor)


POOL = PoolDispatcher()


def configure_pool(workers: int | None = None, throughput: int = DEFAULT_THROUGHPUT) -> None:
    """Size the shared pool of `PooledActor`s: `workers` threads (default: the number of
    cores) and `throughput` messages per actor per turn. Call before the first one starts.

    Example: `fsm.configure_pool(workers=8, throughput=20)`
    """
    if workers is not None and (type(workers) is not int or workers < 1):
        raise FSMError(
            f"configure_pool(workers=...) needs None (one per core) or an integer >= 1, "
            f"got {workers!r}"
        )
    if type(throughput) is not int or throughput < 1:
        raise FSMError(
            f"configure_pool(throughput=...) needs an integer >= 1 (messages per actor per "
            f"turn), got {throughput!r}"
        )
    POOL.configure(workers, throughput)


class PooledActor(pykka.Actor):
    """A Pykka actor run on the shared pool instead of a thread of its own.

    Use as `class Device(FSM, fsm.PooledActor)`, or on its own with `on_receive`; under the
    deterministic tester it runs like any other actor. A subclass with `pooled = False` gets
    a thread of its own instead, as a `ThreadingActor` would (for an actor that must block,
    or to choose at start-up, before any actor of the class starts).

    Example: `class Session(FSM, fsm.PooledActor): ...; ref = Session.start()`
    """

    pooled: ClassVar[bool] = True
    """False: production runs this class on a thread per actor instead of the pool."""

    _sm_current: Any = None  # plain actors have no state; the tester's trace reads it

    @classmethod
    def _fsm_production_dispatcher(cls) -> Dispatcher:
        return POOL if cls.pooled else _dispatch.production()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pool_dispatcher = _dispatch.current_for(type(self))
        super().__init__(*args, **kwargs)
        _refs.adopt(self, self._pool_dispatcher)

    @classmethod
    def _create_actor_inbox(cls) -> Any:
        return _dispatch.current_for(cls).create_inbox(cls)

    @classmethod
    def _create_future(cls) -> pykka.Future[Any]:
        return _dispatch.current().create_future()

    def _start_actor_loop(self) -> None:
        self._pool_dispatcher.start_actor_loop(self)

    def _actor_loop_teardown(self) -> None:
        """The actor stopped: what is left in the mailbox is dead letters."""
        _refs.drain(self)
        super()._actor_loop_teardown()
