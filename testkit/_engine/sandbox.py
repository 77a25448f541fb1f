"""What surrounds a systematic test run: virtual time, and guards against escaping control.

While the sandbox is active, `time.time()`, `time.monotonic()` and `datetime.now()` read the
runtime's virtual clock (through freezegun), `time.sleep` is an error, and starting a plain
`pykka.ThreadingActor` (which would get a real thread) is an error.
"""

from __future__ import annotations

import datetime
import gc
import sys
import threading
import time
from types import TracebackType
from typing import Any, SupportsIndex

import pykka

from fsm import _dispatch
from testkit._engine.bug import Abort, actor_text
from testkit._engine.test_body import CONTROLLED_THREADS, BodyWorker
from testkit._engine.watchdog import DEFAULT_WATCHDOG, Watchdog, user_frame
from testkit._errors import TestkitError

EPOCH = datetime.datetime(2026, 1, 1, 0, 0, 0)
"""Virtual time zero of every iteration (naive, UTC)."""


_REAL_TIME_MODULES = (
    "testkit._engine.sandbox",
    "testkit._engine.watchdog",
    "fsm._timer_thread",
    # a dask worker runs the tester inside its own event loop, whose clocks must stay real
    "asyncio",
    "tornado",
    "distributed",
    "dask",
)


def wall_clock() -> float:
    """Real elapsed-time seconds, even while time is frozen (freezegun ignores this module)."""
    return time.perf_counter()


def _caller() -> str:
    """Who called into the tester: `Actor#1 in state 'x'` or `the test function`, and the
    user's own frame (file:line)."""
    runtime: Any = _dispatch.current()
    current = getattr(runtime, "_current", None)
    where = user_frame(sys._getframe(2))
    if current is None:
        return f"the test function, in {where}"
    return f"{actor_text(current)}, in {where}"


def _no_sleep(seconds: float | SupportsIndex = 0.0) -> None:
    if threading.get_ident() not in CONTROLLED_THREADS:  # another library's own thread
        _saved_sleep(seconds)
        return
    raise Abort(
        error=TestkitError(
            f"time.sleep({seconds!r}) was called by {_caller()}, under the deterministic tester, "
            "where time is virtual and nothing else runs while you sleep; wait with an FSM "
            "timer instead (start_single_timer, a state timeout or for_max), or a TestProbe "
            "expectation in the test"
        )
    )


def _no_threading_get(future: Any, timeout: float | None = None) -> Any:
    if timeout is None and threading.get_ident() in CONTROLLED_THREADS:
        raise Abort(
            error=TestkitError(
                f"{_caller()} waits on a pykka.ThreadingFuture that no actor under the tester "
                "will ever set (only real threads could, and none run here): it would hang. "
                "Get futures from ask() or a proxy of an actor started in the test"
            )
        )
    return _saved_threading_get(future, timeout=timeout)


_saved_threading_get = pykka.ThreadingFuture.get
_saved_sleep = time.sleep


def _no_thread(actor: pykka.Actor) -> None:
    pykka.ActorRegistry.unregister(actor.actor_ref)
    actor.actor_stopped.set()
    raise Abort(
        error=TestkitError(
            f"{type(actor).__name__} is a plain pykka.ThreadingActor, which would run on its own "
            "thread outside the tester's control; add the FSM mixin "
            f"(class {type(actor).__name__}(FSM, pykka.ThreadingActor)) or replace it with a "
            "mock FSM in the test"
        )
    )


class Sandbox:
    """Context manager: virtual clock and guards for the duration of `explore`/`replay`."""

    def __init__(self, watchdog: float | None = DEFAULT_WATCHDOG) -> None:
        self.watchdog = Watchdog(watchdog)
        self._freezer: Any = None
        self._factory: Any = None
        self._saved_sleep: Any = None
        self._saved_loop: Any = None
        self._saved_depth = 5
        self._freezegun_api: Any = None
        self.worker: BodyWorker | None = None
        self._saved_gc = gc.get_threshold()

    def __enter__(self) -> Sandbox:
        try:
            import freezegun
            import freezegun.api
        except ImportError:  # pragma: no cover - freezegun comes with the `test` extra
            raise TestkitError(
                "the deterministic tester needs freezegun for its virtual clock: "
                "pip install freezegun (or pip install 'pykka-fsm[test]')"
            ) from None
        self._freezer = freezegun.freeze_time(
            EPOCH,
            ignore=list(_REAL_TIME_MODULES),
        )
        # freezegun gives real time to calls made within N frames of an ignored module, and
        # `threading` is one: the test function runs on its own thread, two frames below
        # threading's. Looking at 2 frames still spots the callers that want real time.
        self._freezegun_api = freezegun.api
        self._saved_depth = freezegun.api.call_stack_inspection_limit
        freezegun.api.call_stack_inspection_limit = 2
        self._factory = self._freezer.start()
        self._saved_sleep = time.sleep
        self._saved_loop = pykka.ThreadingActor.__dict__["_start_actor_loop"]
        time.sleep = _no_sleep
        # A run allocates a tuple per step for its trace; collecting young objects every
        # 700 allocations costs a fifth of the scheduler's speed for no gain here.
        self._saved_gc = gc.get_threshold()
        gc.set_threshold(max(self._saved_gc[0], 20_000), *self._saved_gc[1:])
        pykka.ThreadingActor._start_actor_loop = _no_thread  # type: ignore[method-assign,assignment]
        pykka.ThreadingFuture.get = _no_threading_get  # type: ignore[method-assign,assignment]
        CONTROLLED_THREADS.add(threading.get_ident())
        self.worker = BodyWorker()
        self.watchdog.start()
        return self

    def set_clock(self, seconds: float) -> None:
        """Move virtual time to `seconds` after EPOCH."""
        self._factory.move_to(EPOCH + datetime.timedelta(seconds=seconds))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.watchdog.stop()
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        CONTROLLED_THREADS.discard(threading.get_ident())
        pykka.ThreadingFuture.get = _saved_threading_get  # type: ignore[method-assign]
        time.sleep = self._saved_sleep
        gc.set_threshold(*self._saved_gc)
        pykka.ThreadingActor._start_actor_loop = self._saved_loop  # type: ignore[method-assign]
        self._freezer.stop()
        self._freezegun_api.call_stack_inspection_limit = self._saved_depth
