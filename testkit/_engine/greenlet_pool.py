"""Greenlets used again: the scheduler loop's and the test function's stacks.

Starting a new greenlet costs about 10 µs on CPython 3.11 (a frame data stack is mapped for
it, and unmapped when it ends), switching to a parked one under 1 µs; an iteration starts at
least two (the scheduler loop and the test function), and one more for each handler that
blocks. A `Worker` runs one job and, when the job returns, parks itself in its thread's pool
for the next; a job that raises ends its worker as an ordinary greenlet ends (the error goes
to the parent), so errors and `throw()` behave as before. A parked worker holds nothing of
its last job: its result is taken by whoever started it (`Worker.take`), and its parent is
the thread's main greenlet.

A greenlet counts its recursion depth on from that of the code that first switched to it. So
that user code has the room it would have on a new greenlet, a worker is used again only by
a starter on the same call path (the code objects of its frames, and the path of the greenlet
they run on): the scheduler loop of every iteration of one `explore`, its test function.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent, greenlet  # type: ignore[import-untyped]

_KEPT = 8
"""Parked workers a thread keeps at most: the oldest goes when another would be one more."""


_PATHS_KEPT = 10_000
"""Call paths numbered at most; a starter on another one gets a worker that is never parked."""


class _Pool(threading.local):
    """A thread's parked workers by call path, its call paths, and its main greenlet."""

    def __init__(self) -> None:
        self.idle: dict[int, list[Worker]] = {}
        self.parked = 0
        self.paths: dict[tuple[int, tuple[int, ...]], int] = {}
        main = getcurrent()
        while main.parent is not None:
            main = main.parent
        self.main = main


_pool = _Pool()


class Worker(greenlet):  # type: ignore[misc]
    """A greenlet that runs `job(*args)`, then waits in the pool for another job started
    on the call path `path` (None: never parked)."""

    def __init__(self, path: int | None) -> None:
        super().__init__()
        self.path = path
        self.job: Callable[..., Any] | None = None
        self.args: tuple[Any, ...] = ()
        self.result: Any = None

    def run(self) -> None:
        pool = _pool
        while True:
            job, args = self.job, self.args
            self.job, self.args = None, ()
            assert job is not None, "a worker is switched to only with a job"
            self.result = job(*args)
            del job, args  # nothing of the finished job stays alive on this stack
            if self.path is None:
                return  # ends: the parent gets control back as from any greenlet
            parent = getcurrent().parent  # this worker's
            self.parent = pool.main  # no link to a greenlet of the finished iteration
            if pool.parked >= _KEPT:
                _evict(pool)
            pool.idle.setdefault(self.path, []).append(self)
            pool.parked += 1
            parent.switch()

    def take(self) -> Any:
        """The finished job's result (forgotten here)."""
        result, self.result = self.result, None
        return result


def worker(job: Callable[..., Any], *args: Any, parent: Any = None) -> Worker:
    """A worker (parked or new) to run `job(*args)` when switched to, its parent `parent`
    (the current greenlet if None)."""
    pool = _pool
    path = _path(pool)
    idle = pool.idle.get(path) if path is not None else None
    if idle and path is not None:
        glet = idle.pop()
        if not idle:
            del pool.idle[path]  # `_evict` finds the oldest as the first key
        pool.parked -= 1
    else:
        glet = Worker(path)
    glet.parent = getcurrent() if parent is None else parent
    glet.job, glet.args = job, args
    return glet


def _path(pool: _Pool) -> int | None:
    """The number of the call path that calls `worker`, or None if it runs on a greenlet
    other than the main one or a worker (its depth is not known)."""
    current = getcurrent()
    base: Any = -1
    if current.parent is not None:
        base = getattr(current, "path", None)
        if base is None:
            return None
    codes = []
    frame: Any = sys._getframe(2)
    while frame is not None:
        codes.append(id(frame.f_code))
        frame = frame.f_back
    key = (base, tuple(codes))
    number = pool.paths.get(key)
    if number is None:
        if len(pool.paths) >= _PATHS_KEPT:
            return None
        number = pool.paths[key] = len(pool.paths)
    return number


def _evict(pool: _Pool) -> None:
    """End the parked worker parked first (it unwinds and hands control back here)."""
    path = next(iter(pool.idle))
    idle = pool.idle[path]
    oldest = idle.pop(0)
    if not idle:
        del pool.idle[path]
    pool.parked -= 1
    oldest.parent = getcurrent()
    oldest.throw()
