"""Blocking calls under the tester: `threading.Condition.wait` (so `threading.Event.wait`,
`queue.Queue.get`, `pykka.ThreadingFuture.get`, ...) and `time.sleep` in virtual time.

One thread runs every actor and the test function, so a real wait there would stop them all.
While the sandbox is active, a wait on the tester's thread is one more thing the schedule
decides instead:

- in the test function (or a `deterministic()` block), the scheduler runs until the wait is
  satisfied or nothing can run any more; then a timed wait lets its timeout pass in virtual
  time (timers due later stay unfired until it has), and an untimed one is a deadlock bug
  naming what it waited for;
- in a handler, the handler is parked (as on an `ask`) until a `notify` from another actor or
  the test function wakes it, or, when nothing else can run, its timeout passes.

`time.sleep(s)` is a wait nothing satisfies: `s` virtual seconds pass once nothing else can
run. Threads the tester does not control wait and sleep for real.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, SupportsIndex

import pykka

from fsm import _dispatch
from testkit._engine.bug import Abort, Bug
from testkit._engine.future import run_while_test_waits
from testkit._engine.test_body import CONTROLLED_THREADS

if TYPE_CHECKING:
    from testkit._engine.runtime import Runtime

_saved_wait = threading.Condition.wait
_saved_notify = threading.Condition.notify
_saved_sleep = time.sleep
_CLOCKS = ((threading, "_time"), (queue, "time"))  # `from time import monotonic as ...`
_saved_clocks = [getattr(module, name) for module, name in _CLOCKS]
_real_monotonic = time.monotonic
_allocate_lock = threading.Lock
_THREAD_START = threading.Thread.start.__code__


class Blocked:
    """What a parked handler or the test function waits on: `done()` says whether the wait
    is over; `waits_on` and `waits_for` name it in the trace (`wait A#1 threading
    Event.wait`) and in a deadlock report."""

    __slots__ = ("_wakes", "done", "waits_for", "waits_on")

    owner = None  # no actor's mailbox will answer it (see `waits.owner_id`)
    request = None

    def __init__(self, done: Callable[[], bool], waits_on: str, waits_for: str) -> None:
        self.done = done
        self.waits_on = waits_on
        self.waits_for = waits_for
        self._wakes: list[tuple[Any, Callable[[Any], None]]] | None = None

    @property
    def _done(self) -> bool:
        return self.done()

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        """`callback(self)` once done (a `notify` of the condition it waits on calls it)."""
        if self.done():
            callback(self)
        elif self._wakes is not None:
            self._wakes.append((self, callback))


def _controlled() -> Runtime | None:
    """The runtime, when the caller runs on the tester's thread under it; else None."""
    if threading.get_ident() not in CONTROLLED_THREADS:
        return None
    runtime: Any = _dispatch.current()
    return runtime if runtime.deterministic else None


def wait_virtually(
    runtime: Runtime, blocked: Blocked, timeout: float | None, deadlock: str | None = None
) -> bool:
    """Wait under `runtime` until `blocked.done()` (True) or `timeout` virtual seconds
    passed with nothing left to run (False). In a handler the handler is parked; in the test
    function the scheduler runs meanwhile. An untimed wait of the test function that nothing
    can end is a deadlock bug (`deadlock` says what it waited for)."""
    if blocked.done():
        return True
    if runtime._current is not None:  # a handler: parked until woken or timed out
        try:
            runtime.suspend(blocked, timeout)
        except pykka.Timeout:
            return blocked.done()
        return True
    done, deadline = run_while_test_waits(runtime, blocked, blocked.done, timeout)
    if done:
        return True
    if deadline is None:
        what = deadlock or f"{blocked.waits_on} ({blocked.waits_for})"
        raise runtime.escalate(
            Abort(
                bug=Bug(
                    "deadlock",
                    f"the test waits on {what}, which nothing can end: no actor has anything "
                    "left to run, and no other thread runs under the tester",
                    "test",
                )
            )
        )
    runtime.time_passes(deadline)
    return blocked.done()


def _condition_wait(cond: Any, timeout: float | None = None) -> bool:
    """`threading.Condition.wait`, on the tester's thread a wait of the schedule (CPython's
    own steps, the blocking acquire replaced by `wait_virtually`)."""
    runtime = _controlled()
    caller = sys._getframe(1)
    if runtime is None or (caller.f_back is not None and caller.f_back.f_code is _THREAD_START):
        return _saved_wait(cond, timeout)  # Thread.start waits for the new thread: real
    if not cond._is_owned():
        raise RuntimeError("cannot wait on un-acquired lock")
    waiter = _allocate_lock()
    waiter.acquire()
    cond._waiters.append(waiter)
    saved = cond._release_save()
    blocked = Blocked(lambda: not waiter.locked(), "threading", _blocking_call(caller))
    wakes = cond.__dict__.setdefault("_testkit_wakes", [])
    blocked._wakes = wakes
    gotit = False
    try:
        gotit = wait_virtually(runtime, blocked, timeout)
        return gotit
    finally:
        wakes[:] = [entry for entry in wakes if entry[0] is not blocked]
        cond._acquire_restore(saved)
        if not gotit:
            with contextlib.suppress(ValueError):
                cond._waiters.remove(waiter)


def _condition_notify(cond: Any, n: int = 1) -> None:
    """`threading.Condition.notify`, waking the handlers it released (see `Blocked`)."""
    _saved_notify(cond, n)
    wakes = cond.__dict__.get("_testkit_wakes")
    if wakes:
        woken = [entry for entry in wakes if entry[0].done()]
        if woken:
            wakes[:] = [entry for entry in wakes if not entry[0].done()]
            for blocked, callback in woken:
                callback(blocked)


def _blocking_call(frame: Any) -> str:
    """The blocking call the user made, as `Event.wait`, `Queue.get`, `ThreadingFuture.get`:
    the outermost of the calls into `threading`, `queue` or `pykka` that led to the wait."""
    name = "Condition.wait"
    while frame is not None:
        module = str(frame.f_globals.get("__name__") or "")
        if module.partition(".")[0] not in ("threading", "queue", "pykka"):
            break
        code = frame.f_code
        name = str(getattr(code, "co_qualname", code.co_name))
        frame = frame.f_back
    return name


def virtual_sleep(seconds: float | SupportsIndex = 0.0) -> None:
    """`time.sleep`: on the tester's thread, `seconds` of virtual time, once nothing else
    can run (a handler is parked meanwhile; the test function lets the actors run)."""
    runtime = _controlled()
    if runtime is None:
        _saved_sleep(seconds)
        return
    duration = float(seconds)  # the TypeError of time.sleep("1"), as time.sleep gives it
    if duration < 0:
        raise ValueError("sleep length must be non-negative")
    wait_virtually(runtime, Blocked(_never, "clock", "sleep"), duration)


def _never() -> bool:
    return False


def _monotonic() -> float:
    """`threading`'s and `queue`'s clock (their deadlines: `Condition.wait_for`,
    `Queue.get(timeout=...)`): virtual seconds on the tester's thread. freezegun leaves both
    modules on real time, and their loops would spin until the real deadline."""
    runtime = _controlled()
    return _real_monotonic() if runtime is None else runtime.now


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Waits and sleeps on the tester's thread are virtual while this is active."""
    condition: Any = threading.Condition
    condition.wait = _condition_wait
    condition.notify = _condition_notify
    time.sleep = virtual_sleep
    for module, name in _CLOCKS:
        setattr(module, name, _monotonic)
    try:
        yield
    finally:
        for (module, name), clock in zip(_CLOCKS, _saved_clocks, strict=True):
            setattr(module, name, clock)
        time.sleep = _saved_sleep
        condition.wait = _saved_wait
        condition.notify = _saved_notify
