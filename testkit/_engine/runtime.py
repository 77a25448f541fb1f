"""The deterministic runtime: one scheduler runs every FSM actor, timer and random choice.

It is an `fsm` dispatcher. While it is installed, `Cls.start()` gives the actor a mailbox
that the scheduler owns instead of a thread; at each step the strategy picks one enabled
operation (an actor's next start/message, an actor's earliest timer, or the test function
going on) and the step is appended to the trace. Nothing sleeps: firing a timer moves the
virtual clock forward.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import random
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pykka
from greenlet import GreenletExit, getcurrent  # type: ignore[import-untyped]
from pykka import messages as pykka_messages
from pykka._envelope import Envelope

from fsm import _deathwatch
from fsm._actor import _StateTimeoutFired, _TimerFired
from fsm._dead_letters import DeadLetter
from fsm._dispatch import Dispatcher
from fsm._journal import AtomicWrite, InMemoryJournal, Journal
from fsm._monitor import Monitor, check_monitor_class, create_monitor
from fsm._refs import refuse
from testkit._engine import interrupts
from testkit._engine.blocking import Blocked
from testkit._engine.bug import Abort, Bug, exception_text
from testkit._engine.compact import NO_STATE, CompactTrace
from testkit._engine.enabled import EnabledSet
from testkit._engine.entropy import Entropy
from testkit._engine.faults import FaultInjector, Faults, IterationFacts, RestartOp
from testkit._engine.future import DeterministicFuture, blocking_error
from testkit._engine.greenlet_pool import worker
from testkit._engine.interrupts import Hung
from testkit._engine.journal import (
    JournalBook,
    JournalFailures,
    JournalOp,
    JournalPayload,
    PendingWrite,
)
from testkit._engine.observer import current as current_observer
from testkit._engine.observer import delivery_kind, hooks
from testkit._engine.operations import Mailbox, TimerEntry, TimerQueue
from testkit._engine.payloads import CONTINUE, START, Choice, Wait, describe_message
from testkit._engine.registry import unregister_all
from testkit._engine.sometimes import SometimesBook
from testkit._engine.test_body import (
    FINISHED,
    RUNNABLE,
    WAITING,
    BodyWorker,
    Cancelled,
    TestBody,
)
from testkit._engine.waits import Waiter, cycle_bug, find_cycle, stuck_bug
from testkit._errors import TestkitError
from testkit._strategies import Strategy

M = TypeVar("M", bound=Monitor)

MAX_VIRTUAL_SECONDS = 7_900 * 365 * 86_400.0
"""Virtual seconds after 2026-01-01 that the clock can show (datetime ends in the year 9999);
an iteration whose next timer lies beyond ends there, as at max_steps."""

_PYKKA_INTERNAL = frozenset(
    {
        pykka_messages._ActorStop,
        pykka_messages.ProxyCall,
        pykka_messages.ProxyGetAttr,
        pykka_messages.ProxySetAttr,
    }
)

_ONE: Any = object()  # `_burst`: run one step only
_WRAPPED = frozenset({_TimerFired, _StateTimeoutFired})  # delivered as their inner message

_DONE: Any = object()  # a parked handler's greenlet finished its step (and ended)
_SUSPENDED: Any = object()  # a resumed handler's greenlet is parked on a future again


class _Demoted(BaseException):
    """Ends a former scheduler greenlet once the handler that blocked on it has finished."""


_TESTERS = (Abort, GreenletExit, Hung, _Demoted, Cancelled)
"""What may escape user code without being its bug: the tester unwinding it."""


def users_failure(exc: BaseException) -> bool:
    """Whether `exc`, escaping a handler or the test function, is the user's bug: anything
    but the tester's own unwinding and the user's Ctrl-C (a `KeyboardInterrupt` raised by the
    code itself, or `SystemExit`, is a bug)."""
    if isinstance(exc, _TESTERS):
        return False
    return not (isinstance(exc, KeyboardInterrupt) and interrupts.may_be_ctrl_c())


class MonitorSlot:
    """A registered monitor and its liveness bookkeeping."""

    __slots__ = ("hot_since", "monitor", "recent")

    def __init__(self, monitor: Monitor, step: int) -> None:
        self.monitor = monitor
        self.hot_since: int | None = step if monitor.is_hot else None
        self.recent: deque[tuple[int, Any, Any]] = deque(maxlen=8)
        """(step, event, state name) of the last events, written out only for a bug report
        (a repr per event would cost more than handling it)."""

    def recent_text(self) -> list[str]:
        """The last events, as a bug report shows them."""
        return [f"step {step}: {event!r} in state {state!r}" for step, event, state in self.recent]


class Runtime(Dispatcher):
    """One iteration of a systematic test: the dispatcher every FSM actor runs under.

    The test function receives it: `runtime.register_monitor(M)`, `runtime.random_bool()`,
    `runtime.random_int(n)`, `runtime.monitor(M, event)`, `runtime.run()`, `runtime.now`
    (virtual seconds) and `runtime.steps`.
    """

    deterministic = True

    def __init__(
        self,
        strategy: Strategy,
        max_steps: int,
        set_clock: Callable[[float], None] | None = None,
        replaying: bool = False,
        timer_delay: int = 0,
        delay_rng: random.Random | None = None,
        worker: BodyWorker | None = None,
        faults: Faults | None = None,
        sometimes: SometimesBook | None = None,
    ) -> None:
        super().__init__()
        self.timer_delay = timer_delay
        self._delay_rand = (delay_rng or random.Random(0)).random
        self.sleeping: list[tuple[int, int, TimerQueue]] = []
        self.strategy = strategy
        self.on_enable = strategy.enabled_hook()
        """The strategy's callback for each operation that becomes enabled (or None)."""
        self.max_steps = max_steps
        self.steps = 0
        self.now = 0.0
        self.enabled = EnabledSet()
        self.trace = trace = CompactTrace()
        self._trace_ops = trace.ops  # the columns a delivery appends to, at hand
        self._trace_payloads = trace.payloads
        self._trace_befores = trace.befores
        self.mailboxes: list[Mailbox] = []
        self.monitor_slots: dict[type[Monitor], MonitorSlot] = {}
        self.bound_reached = False
        self._replaying = replaying
        self._set_clock = set_clock
        self._current: Any = None
        self.body = TestBody(self, worker)
        self.in_body = False  # the test function's thread runs (the scheduler waits)
        self._names: dict[str, int] = {}
        self._timer_seq = 0
        self.misuse: TestkitError | None = None
        """Set by a thread the tester does not control; ends the run at the next step."""
        self.stopping = interrupts.requested()
        """The run must end at the next step: misuse (above), or a signal (Ctrl-C)."""
        self.notes: set[str] = set()
        """Why this iteration may have tested less than it seems (the report's warnings)."""
        self.dead_letters: list[tuple[int, DeadLetter]] = []
        """(step, letter) of each message that reached a stopped actor, for the trace."""
        self.waiters: list[Waiter] = []
        """Handlers parked on a future (a blocking ask, proxy `.get()`, `ref.stop()`)."""
        self._glet: Any = None
        """The greenlet running the scheduler loop; handlers run on its stack until one
        blocks, which leaves that stack to the handler and moves the loop to a fresh one."""
        self._driver: Any = None  # the greenlet waiting for the loop's result
        self._loop: Callable[[], Any] = _nothing  # the loop the scheduler greenlet runs
        self._parked = 0  # former scheduler greenlets that a blocked handler still holds
        self._test: Callable[[Runtime], Any] = _nothing
        self._firing: Any = None  # the timer whose message is being put in a mailbox
        self.observer = observer = current_observer()
        (
            self._on_sent,
            self._on_delivered,
            self._on_timer_set,
            self._on_timer_fired,
            self.on_timer_cancelled,
            self._on_random,
            self._on_journal,
            self.on_fault,
            self._on_dead_letter,
        ) = hooks(observer)
        self._counts = None if observer is None else observer.delivery_counts
        self.sometimes_book = sometimes if sometimes is not None else SometimesBook()
        self.sometimes_named: set[str] = set()
        self.sometimes_held: set[str] = set()
        self._limit = max_steps
        """Where a burst of steps must stop: `max_steps`, or the next fault point."""
        self.intercept: Callable[[Mailbox, Envelope[Any]], bool] | None = None
        """Sees each message put in a mailbox (declared message faults only); True: held."""
        self.faults: FaultInjector | None = None
        if faults is not None:
            self.faults = injector = FaultInjector(self, faults, strategy)
            if injector.watches_messages:
                self.intercept = injector.sent
            self._limit = injector.limit()
        if observer is not None:
            observer.attached(self)
        self.horizon = math.inf
        """Timers due later than this (virtual seconds) are not fired: `settle` sets it to
        the virtual now."""
        self.surface: Callable[[Abort], BaseException] | None = None
        """Set by `deterministic()`: what its block's code sees instead of an `Abort` (a
        `BugFound`, the misuse error), since the block's code may run outside the `with`
        (in a fixture's test), where nothing would turn the internal exception into one."""
        self.ended: Abort | None = None
        """The `Abort` that ended a `deterministic()` run; later waits raise it again."""
        self._scheduling = False  # the scheduler loop runs (the block's code is suspended)
        self.entropy = Entropy(getattr(delay_rng, "origin", 0))
        """Where the program's own `random`, `uuid4` and `os.urandom` draw from."""
        self._journals: JournalBook | None = None  # made by the first journal use
        self.buried: list[Any] = []
        """Greenlets of handlers whose actor crashed while they waited (a declared crash
        during a journal write): never resumed, unwound with the iteration."""
        self.pykka_failures = False
        """A plain Pykka actor's failure (a told message or `on_start` raising, a
        `BaseException`) is what Pykka makes of it on threads (logged, the actor stops), not a
        bug: the test decides (set for `pytest --testkit-explore`)."""

    # ---- the test's API ------------------------------------------------------------------

    def register_monitor(self, monitor_cls: type[M]) -> M:
        """Check `monitor_cls` during this run; events reach it via `monitor(...)`."""
        try:
            check_monitor_class(monitor_cls)
            if monitor_cls in self.monitor_slots:
                raise TestkitError(f"monitor {monitor_cls.__name__} is already registered")
            monitor = create_monitor(monitor_cls)
        except Exception as exc:  # misuse: stop the exploration, it is not a bug found
            raise self.escalate(Abort(error=exc)) from None
        self.monitor_slots[monitor_cls] = MonitorSlot(monitor, self.steps)
        if self.observer is not None:
            self.observer.monitor_registered(self.steps - 1, monitor)
        return monitor

    def random_bool(self) -> bool:
        """A controlled coin toss (a step in the trace)."""
        return self._choose(2, True) == 1

    def random_int(self, n: int) -> int:
        """A controlled integer in [0, n) (a step in the trace)."""
        return self._choose(n, False)

    def monitor(self, monitor_cls: type[Monitor], event: Any) -> None:
        """Deliver `event` to a registered monitor, synchronously; unregistered: ignored."""
        slot = self.monitor_slots.get(monitor_cls)
        if slot is None:
            check_monitor_class(monitor_cls)
            name = monitor_cls.__name__
            self.notes.add(
                f"events were sent to monitor {name}, which the test never registered, so it "
                f"checked nothing: call runtime.register_monitor({name}) in the test function"
            )
            return
        monitor = slot.monitor
        slot.recent.append((self.steps, event, monitor.state_name))
        before = monitor._sm_current
        try:
            monitor.handle(event)
        except BaseException as exc:
            if not users_failure(exc):
                raise
            kind = "safety" if isinstance(exc, AssertionError) else "exception"
            bug = Bug(kind, exception_text(exc), monitor_cls.__name__, monitor.state_name)
            raise self.escalate(Abort(bug=bug.raised(exc))) from exc
        finally:
            if self.observer is not None:
                after = monitor._sm_current
                self.observer.monitor_event(
                    self.steps - 1, self.sender(), monitor, event, before, after
                )
        if monitor.is_cold:
            slot.hot_since = None
        elif slot.hot_since is None and monitor.is_hot:
            slot.hot_since = self.steps

    def journal(self, failures: JournalFailures | None = None) -> Journal:
        """This iteration's journal: the default journal of every `PersistentFSM` it starts
        (in memory, fresh for each schedule, outliving a crashed and restarted FSM). With
        `failures`, the failure policies of every journal write in this iteration, whichever
        journal it goes to. Journal writes are scheduling points (see `testkit._engine.journal`).

            def test(runtime):
                runtime.journal(failures=testkit.JournalFailures(reject={"account-A": 1}))
                Account.start("A")
                ...
                assert runtime.journal().events("account-A") == [...]
        """
        book = self.journals()
        if failures is not None:
            try:
                book.set_failures(failures)
            except TestkitError as exc:  # misuse: stop the exploration, it is no bug found
                raise self.escalate(Abort(error=exc)) from None
        return book.journal()

    def journals(self) -> JournalBook:
        """The iteration's journal bookkeeping (made on first use)."""
        book = self._journals
        if book is None:
            book = self._journals = JournalBook()
        return book

    def sometimes(self, condition: object, name: str) -> bool:
        """Note whether `condition` holds here; the exploration fails if `name` held in no
        iteration (`Report.sometimes` counts the iterations where it did). Returns
        `bool(condition)`. Handlers and monitors call `fsm.sometimes(condition, name)`.

            runtime.sometimes(machine_state is Brewing, "crashed while brewing")
        """
        if not isinstance(name, str) or not name.strip():
            raise Abort(
                error=TestkitError(f"sometimes(condition, name): name must be a text, got {name!r}")
            )
        self.sometimes_book.check_site(name, sys._getframe(1))
        held = bool(condition)
        self.sometimes_named.add(name)
        if held:
            self.sometimes_held.add(name)
        return held

    def facts(self) -> IterationFacts | None:
        """What this iteration did that a report counts besides steps (None: nothing)."""
        faults = self.faults
        if faults is None and not self.sometimes_named:
            return None
        return IterationFacts(
            faults.facts() if faults is not None else (),
            frozenset(faults.started) if faults is not None else frozenset(),
            frozenset(self.sometimes_named),
            frozenset(self.sometimes_held),
        )

    # ---- the Dispatcher seam ---------------------------------------------------------------

    def default_journal(self) -> Journal:
        return self.journals().journal()

    def set_default_journal(self, journal: Journal) -> None:
        self.journals().set_default(journal)

    def journal_write(self, actor: Any, journal: Journal, batch: AtomicWrite) -> None:
        """A `PersistentFSM`'s write: the handler parks (a `wait` step) until the strategy
        picks the journal's completion (a `journal` step) and then its going on (`resume`);
        returns once stored, or raises the failure the test's `JournalFailures` chose (or
        the journal raised): the FSM then stops, which is expected, not a bug."""
        book = self.journals()
        op = self._current
        if not isinstance(journal, InMemoryJournal) and not book.foreign_warned:
            book.foreign_warned = True
            self.notes.add(
                f"a PersistentFSM wrote to {journal} under the tester: what it stores outlives "
                "the iteration, so iterations are not independent and a bug may not replay; "
                "leave the journal unset under the tester (each iteration has its own), or "
                "make an fsm.InMemoryJournal() in the test function"
            )
        write = book.issue(op, journal, batch)
        if op is None or op.__class__ is not Mailbox:  # not in a handler's step: no parking
            write.perform()
        else:
            completion = write.op = JournalOp(op, write)
            self.enable(completion)
            if self._on_journal is not None:
                self._on_journal(self.steps - 1, op, "write", write)
            self.suspend(write, None)
        error = write.error
        if error is not None:
            book.stops.append(error)
            raise error

    def crash_parked(self, mailbox: Mailbox) -> None:
        """A declared crash strikes `mailbox`'s actor while its handler waits for a journal
        write: the handler never goes on (no reply, no `and_then`; an `ask` of the message it
        was handling fails with `ActorDeadError`, as the queued ones do), and the write is
        lost if the journal had not completed it yet (kept if it had: it is durable)."""
        waiter = mailbox.waiter
        if waiter is None:
            return
        mailbox.waiter = None
        self.waiters.remove(waiter)
        self._parked -= 1  # a former scheduler stack that will never finish its step
        self.buried.append(waiter.glet)
        envelope = mailbox.current  # the message it was handling: its asker learns of the crash
        reply_to = envelope.reply_to if envelope is not None else None
        if reply_to is not None and not getattr(reply_to, "_done", False):
            dead = pykka.ActorDeadError(
                f"{mailbox.id} crashed before it answered (while its journal write was pending)"
            )
            reply_to.set_exception((pykka.ActorDeadError, dead, None))
        write = waiter.future
        op = getattr(write, "op", None)
        if op is not None and op.enabled:
            self.disable(op)
            if self._on_journal is not None:
                self._on_journal(self.steps - 1, mailbox, "lost", write)

    def _complete_write(self, op: JournalOp) -> None:
        """The journal completes a pending write (a `journal` step): stored, or failed; the
        writing handler may go on from the next step on."""
        self.disable(op)
        write = op.write
        self.trace.append((op, JournalPayload(write.wait_text, write.injected), None))
        outcome = write.perform()
        if self._on_journal is not None:
            self._on_journal(self.steps - 1, op.mailbox, outcome, write)

    def create_inbox(self, actor_class: type) -> Mailbox:
        base = actor_class.__name__
        number = self._names.get(base, 0) + 1
        self._names[base] = number
        mailbox = Mailbox(self, f"{base}#{number}")
        self.mailboxes.append(mailbox)
        return mailbox

    def create_future(self) -> pykka.Future[Any]:
        return DeterministicFuture(self)

    def start_actor_loop(self, actor: pykka.Actor) -> None:
        mailbox = actor.actor_inbox
        if not isinstance(mailbox, Mailbox) or mailbox.runtime is not self:
            raise TestkitError(
                f"{type(actor).__name__} was created outside this test run and cannot be "
                "started inside it; create and start actors inside the test function"
            )
        mailbox.actor = actor
        mailbox.plain = not hasattr(actor, "_sm_current")
        if self.faults is not None:
            self.faults.actor_started(mailbox, actor)
        urn = f"urn:testkit:{mailbox.id}"
        actor.actor_urn = urn
        actor.actor_ref.actor_urn = urn
        self.enable(mailbox)
        if self.in_body:
            self.body.pause()

    def schedule(
        self, target: pykka.ActorRef[Any], delay: float, message: Any, interval: float | None
    ) -> TimerEntry:
        mailbox = target.actor_inbox
        if not isinstance(mailbox, Mailbox):
            raise TestkitError(f"cannot set a timer for {target}: it is not under the tester")
        timers = mailbox.timers
        if timers is None:
            timers = mailbox.timers = TimerQueue(mailbox)
        self._timer_seq += 1
        entry = TimerEntry(
            timers, self.now + delay, self._timer_seq, message, interval, self._ready_step()
        )
        timers.add(entry)
        if self._on_timer_set is not None:
            self._on_timer_set(self.steps - 1, mailbox, entry)
        return entry

    def _ready_step(self) -> int:
        delay = self.timer_delay
        return self.steps + (int(self._delay_rand() * delay) if delay else 0)

    def refresh(self, timers: TimerQueue) -> None:
        """Enable `timers` if its earliest timer is ready, else let it sleep until it is."""
        heap = timers.heap
        if heap and timers.mailbox.alive and heap[0].deadline <= self.horizon:
            head = heap[0]
            if head.ready <= self.steps:
                if not timers.enabled:
                    self.enable(timers)
                return
            heapq.heappush(self.sleeping, (head.ready, head.seq, timers))
        if timers.enabled:
            self.disable(timers)

    def _wake(self) -> None:
        """Enable the timers whose delay is over; if nothing at all can run, the next one."""
        sleeping = self.sleeping
        steps = self.steps
        while sleeping and sleeping[0][0] <= steps:
            self.refresh(heapq.heappop(sleeping)[2])
        while not self.enabled and sleeping:
            timers = heapq.heappop(sleeping)[2]
            if timers.heap:
                timers.heap[0].ready = min(timers.heap[0].ready, steps)
            self.refresh(timers)

    def sender(self) -> Any:
        """The operation running now: an actor's mailbox, a firing timer or the test."""
        if self._current is not None:
            return self._current
        return self._firing if self._firing is not None else self.body

    def foreign_thread(self, mailbox: Mailbox, envelope: Any) -> None:
        """A thread the tester does not run sent a message: an error there and for the run."""
        thread = threading.current_thread().name
        what = describe_message(envelope.message)
        error = TestkitError(
            f"thread {thread!r}, which the tester does not control, sent {what[2] or what[1]} "
            f"to {mailbox.id}: under the deterministic tester only actors and the test "
            "function may send, or the schedule could not be replayed. Replace the thread with "
            "an actor, an FSM timer, or a message from the test function"
        )
        self.refuse(error)  # kept for the run; the foreign thread gets the error itself
        raise error

    def refuse(self, error: TestkitError) -> Abort:
        """Misuse of the tester, to raise where it happened: also kept (the first) as the
        run's `misuse`, which ends the run at the next step, so that it is reported even when
        the program catches what was raised (asyncio logs what its callbacks raise, unittest
        records it)."""
        if self.misuse is None:
            self.misuse = error
            self.stopping = True
        return Abort(error=error)

    def run_until(self, done: Callable[[], bool]) -> bool:
        """Run steps until `done()`; False when nothing can run any more (quiescent)."""
        if self._current is not None:
            raise Abort(error=blocking_error(self._current))
        if self.in_body:
            return self.body.wait(done)
        if self.ended is not None:  # the run ended at a bug: it cannot go on
            raise self.escalate(self.ended)
        try:
            result: bool = self._drive(lambda: self._until(done))
        except Abort as abort:
            escalated = self.escalate(abort)
            if escalated is abort:
                raise
            raise escalated from abort.__cause__
        return result

    def escalate(self, abort: Abort) -> BaseException:
        """What to raise for `abort` where it happens: the `Abort` itself inside the
        scheduler or the test function of `explore` (it unwinds the iteration), else, in the
        code of a `deterministic()` block, what the block makes of it (see `surface`)."""
        surface = self.surface
        if surface is None or self._scheduling or self.in_body:
            return abort
        if self.ended is None:
            self.ended = abort
        return surface(abort)

    def settle(self) -> None:
        """Run to quiescence what is due at the virtual now: the messages still queued,
        what they cause, handlers whose reply came, and timers due by now. A timer due later
        (a periodic tick, a state timeout) stays unfired and the clock does not move: the end
        of a `deterministic()` block is a moment in time, so a timer that re-arms forever
        neither runs the block to `max_steps` nor turns a clean test into a failure. Handlers
        still waiting for a reply stay parked."""
        self.horizon = self.now
        for mailbox in self.mailboxes:
            if mailbox.timers is not None:
                self.refresh(mailbox.timers)
        self.run_until(self._settled)

    @contextlib.contextmanager
    def timers_until(self, deadline: float | None) -> Iterator[None]:
        """Meanwhile, timers due after `deadline` (virtual seconds) stay unfired: a timed
        wait of the test function ends before them, as it would in real time."""
        saved = self.horizon
        if deadline is None or deadline >= saved:
            yield
            return
        self.horizon = deadline
        for mailbox in self.mailboxes:  # those due later than the deadline: not now
            timers = mailbox.timers
            if timers is not None and timers.enabled:
                self.refresh(timers)
        try:
            yield
        finally:
            self.horizon = saved
            asleep = {id(entry[2]) for entry in self.sleeping}
            for mailbox in self.mailboxes:  # each held back timer once more (no duplicates)
                timers = mailbox.timers
                if timers is not None and not timers.enabled and id(timers) not in asleep:
                    self.refresh(timers)

    def _settled(self) -> bool:
        return not self.enabled and not self.sleeping

    def _until(self, done: Callable[[], bool]) -> bool:
        step = self.step
        enabled = self.enabled
        sleeping = self.sleeping
        while not done():
            if self.stopping:
                self._halt()
            if not enabled and not sleeping and not self._quiescent():
                return False
            if self.steps >= self._limit:
                if self.steps >= self.max_steps:
                    self.bound_reached = True
                    raise Abort(bound=True)
                self._fault_point()
                continue
            step()
        return True

    def running_actor(self) -> pykka.ActorRef[Any] | None:
        """The actor whose step runs right now (the sender of what it tells), else None."""
        current = self._current
        if current is None or current.actor is None:
            return None
        ref: pykka.ActorRef[Any] = current.actor.actor_ref
        return ref

    def run(self) -> None:
        """Run until no actor can run any more (quiescence); a bug raises at once."""
        self.run_until(lambda: False)

    def run_test(self, test: Callable[[Runtime], Any]) -> BaseException | None:
        """Run `test` as an operation among the actors until the system is quiescent or the
        step bound is reached; returns what the test function raised, if anything."""
        self._test = test
        try:
            outcome: BaseException | None = self._drive(self._test_loop)
            return outcome
        finally:
            self.body.cancel()

    def _test_loop(self) -> BaseException | None:
        """The scheduler loop of `run_test` (re-entered on a fresh greenlet when a handler
        blocks, so it keeps its state in the runtime, not in locals)."""
        body = self.body
        if not body.started:
            body.start(self._test)
        enabled = self.enabled
        sleeping = self.sleeping
        burst = self._burst
        max_steps = self.max_steps
        while True:
            if self.stopping:
                self._halt()
            state = body.state
            if state is FINISHED:
                if body.outcome is not None:
                    return body.outcome
            elif state is WAITING and body.done():
                body.wake_value = True
                body.state = RUNNABLE
                self.enable(body)
            if not enabled and not sleeping:
                if self._quiescent():
                    continue
                if body.state is not WAITING:
                    return None  # quiescent, and the test function is done
                body.wake_value = False  # what it waits for will never happen
                body.resume()
                continue
            if self.steps >= self._limit:
                if self.steps >= max_steps:
                    self.bound_reached = True
                    return None
                self._fault_point()
                continue
            # while the test function waits, its condition is looked at after every step;
            # else nothing needs a look until it runs
            burst(_ONE if state is WAITING else state)

    def _halt(self) -> None:
        """End the run now: misuse is an error; a signal ends it as interrupted (`run_once`
        raises `KeyboardInterrupt` once the runtime is disposed of)."""
        raise Abort(error=self.misuse)

    def _fault_point(self) -> None:
        """A burst stopped at `_limit` before `max_steps`: a fault point or the heal."""
        assert self.faults is not None, "only declared faults set a limit below max_steps"
        self.faults.point()

    # ---- the scheduler's greenlets -------------------------------------------------------

    def _drive(self, loop: Callable[[], Any]) -> Any:
        """Run `loop` on a scheduler greenlet and return its result (or raise its error)."""
        self._loop = loop
        self._driver = getcurrent()
        self._glet = worker(self._scheduler_main, parent=self._driver)
        self._scheduling = True
        try:
            self._glet.switch()
            return self._glet.take()  # the scheduler greenlet of the end: the loop's result
        finally:
            self._scheduling = False

    def _scheduler_main(self) -> Any:
        try:
            return self._loop()
        except _Demoted:  # the blocked handler this stack was left to has finished
            self._parked -= 1
            return _DONE

    def _demote(self) -> None:
        """The handler running on the scheduler's stack blocks: leave the stack to it and go
        on with the loop on a fresh greenlet (until then, handlers cost no switch)."""
        self._parked += 1
        self._glet = worker(self._scheduler_main, parent=self._driver)
        self._glet.switch()

    # ---- waiting handlers -------------------------------------------------------------------

    def suspend(
        self, future: DeterministicFuture | Blocked | PendingWrite, timeout: float | None
    ) -> None:
        """Park the running handler until `future` is set (or its wait times out); the
        strategy decides when it goes on. Its actor handles nothing else meanwhile."""
        op = self._current
        glet = getcurrent()
        waiter = Waiter(op, glet, future, self.steps, timeout, self.now)
        self._note_wait(op, Wait("wait", waiter.target, waiter.what))
        op.waiter = waiter
        self.waiters.append(waiter)
        cycle = find_cycle(op)
        if cycle is not None:
            raise Abort(bug=cycle_bug(cycle))
        future.add_done_callback(lambda _: self._wake_waiter(waiter))
        if op.enabled:
            self.disable(op)
        self._current = None
        if glet is self._glet:
            self._demote()
        else:  # a handler resumed earlier: back to the scheduler that resumed it
            glet.parent.switch(_SUSPENDED)
        if waiter.timed_out and not future._done:
            raise pykka.Timeout(f"{timeout} seconds (no actor could run any more)")

    def _note_wait(self, op: Any, payload: Wait) -> None:
        """A wait is a step of its own in the trace (replay checks it)."""
        if self._replaying:
            check = getattr(self.strategy, "expect_event", None)
            if check is not None:
                check(self.steps, "wait", op.id, payload.target, payload.what)
        self.trace.append((op, payload, None))
        self.steps += 1

    def _wake_waiter(self, waiter: Waiter) -> None:
        if waiter.ready:
            return
        waiter.ready = True
        op = waiter.op
        if op.alive and not op.enabled:
            self.enable(op)

    def _resume(self, op: Mailbox) -> None:
        """Run a parked handler on from where it waited (a `resume` step)."""
        waiter = op.waiter
        assert waiter is not None, "only a parked handler resumes"
        op.waiter = None
        self.waiters.remove(waiter)
        what = waiter.what + (":timeout" if waiter.timed_out else "")
        self.trace.append((op, Wait("resume", waiter.target, what), None))
        self._current = op
        glet = waiter.glet
        glet.parent = getcurrent()
        glet.switch()

    def _quiescent(self) -> bool:
        """Nothing can run: the waits with the earliest timeout end, virtual time moving on to
        it (True if a handler's did; False when the test function's wait ends first), else a
        declared partition heals (True if that gave work: it held back what they wait for),
        or handlers that wait forever are reported as a deadlock."""
        waiting = [w for w in self.waiters if not w.ready]
        if not waiting:
            return self.faults is not None and self.faults.quiescent()
        body = self.body
        deadlines = [w.deadline for w in waiting if w.deadline is not None]
        if deadlines:
            deadline = min(deadlines)
            test_deadline = body.wait_deadline if body.state is WAITING else None
            if test_deadline is not None and test_deadline < deadline:
                return False  # the test function's wait times out first
            self.time_passes(deadline)
            for waiter in waiting:
                if waiter.deadline == deadline:
                    waiter.timed_out = True
                    self._wake_waiter(waiter)
            return True
        if self.faults is not None and self.faults.quiescent():
            return True  # a partition held back what they wait for: it heals now
        if body.state is WAITING and (body.waiting_for is None or body.wait_deadline is not None):
            return False  # the test function waits on a probe, or may time out: it goes on
        raise Abort(bug=stuck_bug(waiting, body))

    def time_passes(self, deadline: float) -> None:
        """Move virtual time on to `deadline` (a wait that timed out), never back."""
        deadline = min(deadline, MAX_VIRTUAL_SECONDS)  # past it, datetime cannot follow
        if deadline > self.now:
            self.now = deadline
            if self._set_clock is not None:
                self._set_clock(deadline)

    # ---- operations ------------------------------------------------------------------------

    def enable(self, op: Any) -> None:
        op.enabled = True
        enabled = self.enabled
        enabled._where[op] = len(enabled)  # EnabledSet.append, inlined: once a step
        list.append(enabled, op)
        if self.on_enable is not None:
            self.on_enable(op)

    def disable(self, op: Any) -> None:
        op.enabled = False
        self.enabled.remove(op)

    def step(self) -> None:
        """Let the strategy pick one enabled operation and run it."""
        self._burst(_ONE)

    def _burst(self, state: Any) -> None:
        """Run one step, and more while the test function's state stays `state` (`_ONE`:
        just one), something is enabled, `max_steps` is not reached and nothing misused the
        tester. A delivery, the common step, is inlined: it is what every step of a busy
        system costs."""
        enabled = self.enabled
        sleeping = self.sleeping
        body = self.body
        strategy = self.strategy
        pick = strategy.pick
        # the uniform choice (`Strategy.pick`), inlined: no call per step
        rand = strategy._rand if strategy.__class__.pick is _UNIFORM_PICK else None
        single = not self._replaying  # one enabled operation needs no strategy
        record_op = self._trace_ops.append
        record_payload = self._trace_payloads.append
        record_before = self._trace_befores.append
        counts = self._counts
        on_delivered = self._on_delivered
        where = enabled._where
        limit = self._limit
        while True:
            if sleeping and (not enabled or sleeping[0][0] <= self.steps):
                self._wake()
                if not enabled:
                    return
            if single and len(enabled) == 1:
                op = enabled[0]
            elif rand is not None:
                op = enabled[int(rand() * len(enabled))]
            else:
                op = pick(enabled, self.steps)
            self.steps += 1
            if op.__class__ is not Mailbox or op.waiter is not None or not op.started:
                self._other_step(op)
            else:
                actor = op.actor
                envelope = op.items.popleft()
                op.current = envelope
                message = envelope.message
                record_op(op)
                record_payload(message)
                before = None if op.plain else actor._sm_current
                record_before(NO_STATE if before is None else before.state_name)
                self._current = op
                try:
                    if message.__class__ in _PYKKA_INTERNAL:
                        response = actor._handle_receive(message)
                    else:
                        response = actor.on_receive(message)
                except Exception as exc:
                    response = self._handler_failed(op, envelope, exc)
                except BaseException as exc:  # SystemExit, GeneratorExit, ...: a bug too
                    if not users_failure(exc):
                        raise
                    response = self._handler_exited(op, exc)
                finally:
                    self._current = None
                    after = None if op.plain else actor._sm_current
                    if (
                        counts is not None
                        and after is not before
                        and before is not None
                        and after is not None
                    ):
                        source = before.state_name
                        target = after.state_name
                        kind = message.__class__
                        if kind in _WRAPPED:
                            kind = delivery_kind(message)
                        moved = after.notifies and after.stop_reason is None
                        last = op.counted  # this actor's last count: often the same again
                        if (
                            last is not None
                            and last[0] is source
                            and last[1] is target
                            and last[2] is kind
                            and last[3] is moved
                        ):
                            last[4][0] += 1
                        else:  # one count into the observer's `delivery_counts`
                            key = (actor.__class__, id(source), id(target), kind, moved)
                            entry = counts.get(key)
                            if entry is None:
                                entry = counts[key] = [1, source, target]
                            else:
                                entry[0] += 1
                            op.counted = (source, target, kind, moved, entry)  # the same again
                    if on_delivered is not None:
                        on_delivered(self.steps - 1, op, envelope, before, after)
                if envelope.reply_to is not None and response is not _NO_REPLY:
                    envelope.reply_to.set(response)
                if actor.actor_stopped._flag:  # is_set(), without its call
                    self._teardown(op)
                elif not op.items:  # EnabledSet.remove, inlined
                    op.enabled = False
                    place = where.pop(op)
                    last = list.pop(enabled)
                    if place < len(enabled):
                        enabled[place] = last
                        where[last] = place
                if self._parked and getcurrent() is not self._glet:
                    raise _Demoted  # this stack was a blocked handler's: its step is over
            if (
                state is _ONE
                or not enabled
                or self.steps >= limit
                or body.state is not state
                or self.stopping
            ):
                return

    def _other_step(self, op: Any) -> None:
        """A step other than a delivery: the test function goes on, a timer fires, a parked
        handler resumes, or an actor starts."""
        if op.__class__ is TestBody:
            self._trace_ops.append(op)  # CompactTrace.append, inlined (as for a timer)
            self._trace_payloads.append(CONTINUE)
            self._trace_befores.append(NO_STATE)
            self.disable(op)
            op.resume()
        elif op.__class__ is TimerQueue:
            self._fire_timer(op)
        elif op.__class__ is JournalOp:
            self._complete_write(op)
        elif op.__class__ is RestartOp:
            assert self.faults is not None
            self.faults.restart(op)
        elif op.waiter is not None:
            self._resume(op)
        else:
            self._start(op)
            if self._parked and getcurrent() is not self._glet:
                raise _Demoted

    def _handler_failed(self, op: Mailbox, envelope: Envelope[Any], exc: Exception) -> Any:
        """A handler raised: the asker gets the error; for an FSM, or a plain actor's
        `tell`, it is a bug (a plain actor's `on_failure` runs first, as in Pykka), unless
        `pykka_failures` makes a plain actor's failure what Pykka makes of it."""
        book = self._journals
        if book is not None and book.stops and book.expected_stop(exc):
            if envelope.reply_to is not None:  # the asker learns why (as from any failure)
                envelope.reply_to.set_exception(sys.exc_info())
            return _NO_REPLY  # the FSM stopped itself, as a PersistentFSM must: no bug
        if envelope.reply_to is not None:
            if op.plain:  # Pykka hands the error to the asker; the actor goes on
                _PYKKA_LOG.info(f"Exception returned from {op.actor} to caller:", exc_info=exc)
                envelope.reply_to.set_exception(sys.exc_info())
                return _NO_REPLY
            envelope.reply_to.set_exception(sys.exc_info())
            self._failed(op, exc)
        if op.plain:  # as Pykka's loop: logged, on_failure, and the actor stops
            self._guarded(op, self._plain_failure, op.actor, sys.exc_info())
            if self.pykka_failures:
                return _NO_REPLY
        self._failed(op, exc)

    def _handler_exited(self, op: Mailbox, exc: BaseException) -> Any:
        """A handler raised a `BaseException` (`SystemExit`, ...): a bug, or, for a plain
        actor under `pykka_failures`, what Pykka's loop does: the actor stops, then every
        actor (the asker, if any, gets no reply, as in Pykka)."""
        if not (op.plain and self.pykka_failures):
            self._failed(op, exc)
        self._guarded(op, self._plain_exit, op.actor, exc)
        return _NO_REPLY

    @staticmethod
    def _plain_failure(actor: Any, exc_info: Any) -> None:
        """Pykka's loop after a told message failed: log, stop, `on_failure` (whose own
        failure is logged too)."""
        actor._handle_failure(*exc_info)
        try:
            actor.on_failure(*exc_info)
        except Exception:
            actor._handle_failure(*sys.exc_info())

    @staticmethod
    def _plain_exit(actor: Any, exc: BaseException) -> None:
        """Pykka's loop after a `BaseException`: this actor stops, then all actors."""
        _PYKKA_LOG.debug(f"{exc!r} in {actor}. Stopping all actors.")
        actor._stop()
        pykka.ActorRegistry.stop_all()

    def _guarded(self, op: Mailbox, call: Callable[..., None], *args: Any) -> None:
        """Run user code the runtime calls on `op`'s behalf outside a handler (Pykka's
        failure hooks): whatever it raises is a bug of `op`, never an error of the runtime."""
        try:
            call(*args)
        except BaseException as exc:
            if not users_failure(exc):
                raise
            self._failed(op, exc)

    def _start(self, mailbox: Mailbox) -> None:
        """The actor's first step: its `on_start`."""
        actor = mailbox.actor
        mailbox.started = True
        index = len(self.trace)
        self.trace.append((mailbox, START, None))
        self._current = mailbox
        try:
            actor.on_start()
        except Exception as exc:
            if not (mailbox.plain and self.pykka_failures):
                self._failed(mailbox, exc)
            self._guarded(mailbox, actor._handle_failure, *sys.exc_info())  # as Pykka does
        except BaseException as exc:
            if not users_failure(exc):
                raise
            self._failed(mailbox, exc)
        finally:
            self._current = None
            if self.observer is not None:
                self.observer.started(index, mailbox)
        if actor.actor_stopped.is_set():
            self._teardown(mailbox)
        elif not mailbox.items:
            self.disable(mailbox)

    def _fire_timer(self, timers: TimerQueue) -> None:
        heap = timers.heap
        entry = heap[0]
        if entry.deadline > MAX_VIRTUAL_SECONDS:  # past what datetime (the clock) can hold
            self.bound_reached = True
            self.notes.add(
                f"a timer of {timers.mailbox.id} was due past the year 9999, where virtual time "
                "ends, so the iteration ended there as at max_steps: timers that re-arm far "
                "into the future keep a system busy forever; stop them when the work is done"
            )
            raise Abort(bound=True)
        self._trace_ops.append(timers)  # CompactTrace.append, inlined: no Choice here
        self._trace_payloads.append(entry.message)
        self._trace_befores.append(NO_STATE)
        if entry.deadline > self.now:
            self.now = entry.deadline
            if self._set_clock is not None:
                self._set_clock(self.now)
        heapq.heappop(heap)  # a repeating timer comes back once its tick is handled
        self.refresh(timers)
        mailbox = timers.mailbox
        if self._on_timer_fired is not None:
            self._on_timer_fired(self.steps - 1, mailbox, entry)
        if mailbox.alive:
            self._firing = timers
            try:
                mailbox.put(Envelope(entry.message))
            finally:
                self._firing = None

    def _failed(self, mailbox: Mailbox, exc: BaseException) -> None:
        kind = "safety" if isinstance(exc, AssertionError) else "exception"
        current = getattr(mailbox.actor, "_sm_current", None)
        state = current.state_name if current is not None else None
        bug = Bug(kind, exception_text(exc), mailbox.id, state)
        raise Abort(bug=bug.raised(exc)) from exc

    def _teardown(self, mailbox: Mailbox, crashed: bool = False) -> None:
        """The actor stopped (or `crashed`: a declared fault): fail what is still queued, as
        Pykka does, and drop its timers."""
        mailbox.alive = False
        if self.observer is not None and not crashed:
            self.observer.stopped(self.steps - 1, mailbox)
        if mailbox.enabled:
            self.disable(mailbox)
        timers = mailbox.timers
        if timers is not None:
            timers.heap.clear()
            if timers.enabled:
                self.disable(timers)
        ref = mailbox.actor.actor_ref
        while mailbox.items:  # dead letters (an FSM's), asks failed as Pykka fails them
            refuse(mailbox.items.popleft(), ref)
        _deathwatch.stopped(mailbox.actor)  # watchers hear of it however it stopped

    def dead_letter(self, letter: DeadLetter) -> None:
        """Published as in production, and kept with the step it happened in: the trace
        and the sequence diagram show it."""
        step = max(self.steps - 1, 0)
        self.dead_letters.append((step, letter))
        if self._on_dead_letter is not None:
            self._on_dead_letter(step, letter)
        super().dead_letter(letter)

    def _choose(self, n: int, as_bool: bool) -> int:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            error = TestkitError(f"random_int(n) needs an integer n >= 1, got {n!r}")
            raise self.escalate(Abort(error=error))
        value = self.strategy.pick_int(n, self.steps) if n > 1 or self._replaying else 0
        owner = self._current if self._current is not None else self.body
        choice = Choice(n, value, as_bool)
        self.trace.append((owner, choice, None))
        self.steps += 1
        if self._on_random is not None:
            self._on_random(self.steps - 1, owner, choice)
        return value

    def dispose(self) -> None:
        for waiter in self.waiters:  # unwind parked handlers (their finally blocks run)
            if not waiter.glet.dead:
                waiter.glet.parent = getcurrent()
                with contextlib.suppress(BaseException):  # the iteration is over anyway
                    waiter.glet.throw()
        self.waiters.clear()
        for glet in self.buried:  # crashed mid-write: unwound now, when nothing can follow
            if not glet.dead:
                glet.parent = getcurrent()
                with contextlib.suppress(BaseException):
                    glet.throw()
        self.buried.clear()
        self._parked = 0
        self._dispose()

    def _dispose(self) -> None:
        """End of the iteration: forget every actor still running (no handlers run)."""
        running = []
        for mailbox in self.mailboxes:
            actor = mailbox.actor
            mailbox.alive = False
            mailbox.items.clear()
            if actor is not None and not actor.actor_stopped.is_set():
                actor.actor_stopped.set()
                running.append(actor.actor_ref)
        unregister_all(running)
        self.enabled.clear()


_UNIFORM_PICK = Strategy.pick
_NO_REPLY: Any = object()  # the asker already got the handler's exception
_PYKKA_LOG = logging.getLogger("pykka")  # what Pykka's own loop logs to


def _nothing(*_: Any) -> None:
    """The loop of a runtime that runs none yet."""
