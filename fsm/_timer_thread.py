"""One scheduler thread per process that fires every production timer of every FSM.

Under load the thread competes for the GIL with every actor thread, and each time it gives the
GIL up (waiting for the next deadline, or for its lock) it may wait long to get it back. So it
takes every timer that is due in one go and fires them back to back, and it wakes at most once
per `RESOLUTION` for timers due close together: the ticks of thousands of timers cost it a few
GIL hand-overs a second, not one each.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import math
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Final, Protocol

_log = logging.getLogger("fsm.timers")

IDLE_EXIT = 1.0
"""Seconds without any pending timer after which the thread ends (it restarts on demand)."""

LATE_WARNING = 1.0
"""Seconds behind schedule after which the thread logs (once per episode) that it is late."""

CAUGHT_UP = 0.1
"""A timer fired at most this late ends an episode of lateness (the next one warns again)."""

COMPACT_FLOOR = 1024
"""Heap entries below which cancelled timers are never swept out before their deadline."""

RESOLUTION = 0.001
"""Seconds the thread waits at least between two wake-ups when timers are due close together
(it fires all that are due then): timers may fire up to this much late, never early."""

BATCH = 10_000
"""Most due timers taken from the heap under one hold of the lock."""


class TimerHandle:
    """A scheduled callback; `cancel()` makes sure it never runs (again).

    A repeating handle fires once and then waits for `delivered()` before it is armed again,
    so a slow receiver never has more than one of its ticks queued.
    """

    __slots__ = ("callback", "cancelled", "deadline", "interval", "owner")

    def __init__(
        self,
        owner: TimerThread,
        callback: Callable[[], None],
        deadline: float,
        interval: float | None,
    ) -> None:
        self.owner = owner
        self.callback = callback
        self.deadline = deadline
        self.interval = interval
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def delivered(self, fixed_delay: bool) -> None:
        """The last tick was handled: arm the next one `interval` after the last deadline
        (fixed rate: late ticks catch up one at a time) or after now (fixed delay)."""
        self.owner.rearm(self, fixed_delay)


class TimerThread:
    """A heap of deadlines served by a single daemon thread, started when needed.

    Arming a timer never waits for the thread's lock: it appends the handle to `_incoming`
    (atomic) and wakes the thread only when the timer is due before the thread would wake
    anyway. The thread (or an arming thread, once `_incoming` is long) moves the handles to the
    heap, skipping those cancelled meanwhile.
    """

    def __init__(self) -> None:
        # (deadline, sequence number) pairs, the handles by number: tuples of a float and an
        # int are untracked by the garbage collector, so a timer pending for a second is not
        # promoted to its oldest generation each time it is armed (which makes full
        # collections, long pauses with many actors, come more often).
        self._heap: list[tuple[float, int]] = []
        self._handles: dict[int, TimerHandle] = {}
        self._incoming: deque[TimerHandle] = deque()
        self._seq = itertools.count()
        self._lock = threading.Lock()  # `with self._lock` costs no Python call, unlike _cond
        self._cond = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        # When the thread looks at its timers next: -inf while it is awake (it drains
        # `_incoming` before it sleeps again), inf while no thread runs or it idles.
        self._wake_at = math.inf
        self._behind = False  # warned about lateness, and no timer has fired on time since
        # A cancelled timer stays in the heap until it is due; with a long state timeout
        # re-armed on every message that would be millions of entries. The heap is swept
        # once it reaches this size, which is then set to twice what survived: O(1) a push.
        self._compact_at = COMPACT_FLOOR
        if hasattr(os, "register_at_fork"):  # POSIX only; Windows cannot fork
            forget = weakref.WeakMethod(self._forget_thread)
            os.register_at_fork(after_in_child=lambda: _call(forget))

    def schedule(
        self, delay: float, callback: Callable[[], None], interval: float | None = None
    ) -> TimerHandle:
        """Run `callback` after `delay` seconds; if `interval` is given, again `interval`
        after each `delivered()` call on the returned handle."""
        handle = _new_handle(TimerHandle)  # every state timeout comes here: no __init__
        handle.owner = self
        handle.callback = callback
        handle.deadline = deadline = _monotonic() + delay
        handle.interval = interval
        handle.cancelled = False
        incoming = self._incoming
        incoming.append(handle)
        if deadline < self._wake_at or len(incoming) >= COMPACT_FLOOR:
            self._poke(deadline)
        return handle

    def rearm(self, handle: TimerHandle, fixed_delay: bool) -> None:
        """Arm a repeating `handle` again (see `TimerHandle.delivered`)."""
        interval = handle.interval
        if interval is None:
            raise ValueError("only a repeating timer can be re-armed")
        if handle.cancelled:
            return
        handle.deadline = deadline = (_monotonic() if fixed_delay else handle.deadline) + interval
        incoming = self._incoming
        incoming.append(handle)
        if deadline < self._wake_at or len(incoming) >= COMPACT_FLOOR:
            self._poke(deadline)

    def _poke(self, deadline: float) -> None:
        """A new timer is due before the thread wakes, or `_incoming` is long."""
        with self._lock:
            if len(self._incoming) >= COMPACT_FLOOR:
                self._take_incoming()
            if self._thread is None:
                self._start_thread()
            elif deadline < self._wake_at:
                self._cond.notify()

    def _take_incoming(self) -> None:
        """Move the armed handles to the heap, except those cancelled since (the lock is held)."""
        incoming = self._incoming
        heap = self._heap
        handles = self._handles
        seq = self._seq
        while incoming:
            handle = incoming.popleft()
            if handle.cancelled:
                continue
            if len(heap) >= self._compact_at:
                self._compact()
                heap = self._heap
                handles = self._handles
            number = next(seq)
            handles[number] = handle
            _heappush(heap, (handle.deadline, number))

    def _start_thread(self) -> None:
        """None runs yet, or it ended (it says so under the lock, which is held)."""
        self._wake_at = -math.inf
        self._thread = threading.Thread(target=self._run, name="fsm-timers", daemon=True)
        self._thread.start()

    def _compact(self) -> None:
        """Drop the cancelled entries (the lock is held)."""
        handles = self._handles
        live = [entry for entry in self._heap if not handles[entry[1]].cancelled]
        heapq.heapify(live)
        self._heap = live
        self._handles = {number: handles[number] for _, number in live}
        self._compact_at = max(COMPACT_FLOOR, 2 * len(live))

    def _forget_thread(self) -> None:
        """In a forked child: the parent's timer thread does not exist here."""
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._thread = None
        self._wake_at = math.inf

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            with self._lock:  # however it ended, timers left over get a new thread
                if self._thread is threading.current_thread():
                    self._thread = None
                    self._wake_at = math.inf
                    if self._incoming or self._heap:
                        with contextlib.suppress(RuntimeError):  # interpreter shutdown
                            self._start_thread()

    def _serve(self) -> None:
        heappop = heapq.heappop
        monotonic = time.monotonic
        incoming = self._incoming
        woke = -math.inf
        due: list[TimerHandle] = []
        while True:
            with self._lock:
                while True:
                    self._wake_at = -math.inf  # awake: arming needs no wake-up call
                    self._take_incoming()
                    heap = self._heap
                    handles = self._handles
                    if heap and handles[heap[0][1]].cancelled:
                        del handles[heappop(heap)[1]]
                        continue
                    now = monotonic()
                    wake_at = max(heap[0][0], woke + RESOLUTION) if heap else math.inf
                    if wake_at <= now:
                        break
                    self._wake_at = wake_at
                    if incoming:  # armed after the take, before _wake_at said when
                        continue
                    if heap:
                        self._cond.wait(wake_at - now)
                    elif not self._cond.wait(IDLE_EXIT) and not incoming and not self._heap:
                        self._thread = None  # idle: leave no thread behind
                        return
                woke = now
                while heap and heap[0][0] <= now and len(due) < BATCH:
                    deadline, number = heappop(heap)
                    handle = handles.pop(number)
                    if handle.cancelled:
                        continue
                    due.append(handle)
                    late = now - deadline
                    if late > LATE_WARNING:
                        if not self._behind:
                            self._behind = True
                            self._warn_late(late, len(due) - 1)
                    elif late < CAUGHT_UP:
                        self._behind = False
            for index, handle in enumerate(due):
                if handle.cancelled:
                    continue
                try:
                    handle.callback()
                except Exception:
                    _log.exception("timer callback %r failed", handle.callback)
                except BaseException:  # ends the thread: the rest of the batch fires later
                    self._incoming.extend(due[index + 1 :])
                    raise
            due.clear()

    def _warn_late(self, late: float, taken: int) -> None:
        """Say the thread is `late` behind; `taken` due timers were already popped."""
        pending = sum(1 for other in self._handles.values() if not other.cancelled) + taken + 1
        _log.warning(
            "FSM timers are firing %.1f s late, %d timer(s) pending: the timer thread or the "
            "actors handling the ticks cannot keep up; use fewer or longer timers, or "
            "start_timer_with_fixed_delay so that ticks slow down under load instead of "
            "falling behind (this warning repeats only after the timers have caught up)",
            late,
            pending,
        )

    def thread_count(self) -> int:
        """How many threads this service runs right now (0 or 1)."""
        return int(self._thread is not None and self._thread.is_alive())


_new_handle: Final = object.__new__
_monotonic: Final = time.monotonic
_heappush: Final = heapq.heappush


def _call(method: weakref.WeakMethod[Callable[[], None]]) -> None:
    bound = method()
    if bound is not None:
        bound()


class ScheduledTimer(Protocol):
    """What a timer service returns: cancel it, or (repeating) arm its next tick."""

    def cancel(self) -> None: ...

    def delivered(self, fixed_delay: bool) -> None: ...


class TimerService(Protocol):
    """Who fires FSM timers in production: the shared thread, or a test's manual clock."""

    def schedule(
        self, delay: float, callback: Callable[[], None], interval: float | None = None
    ) -> ScheduledTimer: ...


SHARED = TimerThread()

current: TimerService = SHARED
"""The service new FSM timers go to (the dispatcher reads it on every timer it arms)."""


def install(service: TimerService) -> TimerService:
    """Send FSM timers armed from now on to `service`; returns the one it replaces.

    The seam of `testkit.ManualTime`: timers already armed stay with their service.
    """
    global current
    previous, current = current, service
    return previous
