"""One scheduler thread per process that fires every production timer of every FSM."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

_log = logging.getLogger("fsm.timers")

IDLE_EXIT = 1.0
"""Seconds without any pending timer after which the thread ends (it restarts on demand)."""


class TimerHandle:
    """A scheduled callback; `cancel()` makes sure it never runs (again)."""

    __slots__ = ("callback", "cancelled", "interval")

    def __init__(self, callback: Callable[[], None], interval: float | None) -> None:
        self.callback = callback
        self.interval = interval
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class TimerThread:
    """A heap of deadlines served by a single daemon thread, started when needed."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(
        self, delay: float, callback: Callable[[], None], interval: float | None = None
    ) -> TimerHandle:
        """Run `callback` after `delay` seconds, then every `interval` seconds if given."""
        handle = TimerHandle(callback, interval)
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), handle))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fsm-timers", daemon=True)
                self._thread.start()
            self._cond.notify()
        return handle

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][2].cancelled:
                    if self._heap:
                        heapq.heappop(self._heap)
                    elif not self._cond.wait(IDLE_EXIT) and not self._heap:
                        self._thread = None  # idle: leave no thread behind
                        return
                deadline, _, handle = self._heap[0]
                now = time.monotonic()
                if deadline > now:
                    self._cond.wait(deadline - now)
                    continue
                heapq.heappop(self._heap)
                if handle.interval is not None:
                    # Fixed rate: the next deadline follows the last one, not the firing time.
                    heapq.heappush(
                        self._heap, (deadline + handle.interval, next(self._seq), handle)
                    )
            try:
                handle.callback()
            except Exception:
                _log.exception("timer callback %r failed", handle.callback)

    def thread_count(self) -> int:
        """How many threads this service runs right now (0 or 1)."""
        return int(self._thread is not None and self._thread.is_alive())


SHARED = TimerThread()
