"""The watchdog: user code that never returns must not hang the tester.

A handler or the test function that loops forever, or blocks on something the tester does not
own (a `threading.Event`, a `pykka.ThreadingFuture` nobody will set, a socket), would stop
every actor, since one thread runs them all. The watchdog notices that no step was taken for
`limit` seconds while user code ran, and interrupts it: first with an exception raised into
that thread (ends any pure-Python loop), then, for a thread stuck inside a blocking C call,
with SIGINT (interrupts blocking waits of the main thread); if neither works, it prints what
hung on the real stderr (past pytest's capture, through `BEFORE_EXIT`) and ends the process
with exit code 2.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from testkit._engine import interrupts
from testkit._engine.bug import actor_text
from testkit._engine.frames import is_users
from testkit._engine.interrupts import Hung
from testkit._engine.payloads import describe_message

if TYPE_CHECKING:
    from testkit._engine.runtime import Runtime

DEFAULT_WATCHDOG = 10.0
"""Seconds of user code without a single step before the watchdog stops it."""

EXIT_HUNG = 2

BEFORE_EXIT: list[Callable[[], None]] = []
"""Called before the watchdog ends the process: the pytest plugin suspends pytest's output
capture here, so that the message reaches the terminal instead of dying with the process."""

__all__ = ["BEFORE_EXIT", "DEFAULT_WATCHDOG", "EXIT_HUNG", "Hung", "Watchdog", "user_frame"]


def check_watchdog(value: Any, where: str) -> float | None:
    """Validate a `watchdog=` argument: seconds > 0, or None for no watchdog."""
    from testkit._errors import TestkitError

    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise TestkitError(
            f"{where}(..., watchdog=...) must be a number of seconds > 0 or None (no "
            f"watchdog), got {value!r}"
        )
    return float(value)


def user_frame(frame: FrameType | None) -> str:
    """`function (file:line)` of the innermost frame that is the user's own code."""
    first: FrameType | None = None
    while frame is not None:
        first = first or frame
        if is_users(frame.f_code.co_filename):
            break
        frame = frame.f_back
    frame = frame or first
    if frame is None:
        return "an unknown place"
    code = frame.f_code
    name = getattr(code, "co_qualname", code.co_name)  # co_qualname: Python 3.11+
    return f"{name} ({code.co_filename}:{frame.f_lineno})"


class Watchdog:
    """Watches one run (`explore`, `replay` or `deterministic`) from a daemon thread."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.runtime: Runtime | None = None
        self.message: str | None = None
        """Set when the watchdog fired: what hung, where, and what to do."""
        self.on_give_up: Callable[[str], None] | None = None
        """Called with the message before the process ends (a worker tells its parent)."""
        self._scheduler = threading.get_ident()  # the thread that runs the handlers
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.limit is None:
            return
        self._thread = threading.Thread(target=self._loop, name="testkit-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _key(self, runtime: Runtime) -> tuple[int, int, bool, int] | None:
        """What changes whenever the run makes progress; None while no user code runs."""
        current = runtime._current
        if not runtime.in_body and current is None:
            return None
        return (id(runtime), runtime.steps, runtime.in_body, id(current))

    def _loop(self) -> None:
        limit = self.limit
        assert limit is not None
        poll = min(limit / 4, 0.5)
        last: tuple[int, int, bool, int] | None = None
        since = time.monotonic()
        while not self._stop.wait(poll):
            runtime = self.runtime
            key = None if runtime is None else self._key(runtime)
            now = time.monotonic()
            if key is None or key != last:
                last, since = key, now
                continue
            if now - since >= limit and runtime is not None:
                self._fire(runtime)
                return

    def _fire(self, runtime: Runtime) -> None:
        in_body = runtime.in_body
        # handlers and the test function are greenlets on the scheduler's thread
        thread = self._scheduler
        frame = sys._current_frames().get(thread)
        self.message = self._describe(runtime, in_body, user_frame(frame))
        raise_in(thread, Hung)
        if self._unwound(runtime):
            return
        if thread == threading.main_thread().ident and hasattr(signal, "pthread_kill"):
            interrupts.expect_watchdog_signal()
            signal.pthread_kill(thread, signal.SIGINT)  # interrupts a blocking wait
            if self._unwound(runtime):
                return
        self._give_up(self.message)

    def _give_up(self, message: str) -> None:
        """Nothing unwound the stuck code: say what hung where a person sees it, and end the
        process (its one thread for user code will never come back)."""
        for hook in BEFORE_EXIT:
            with contextlib.suppress(Exception):  # the message and the exit matter more
                hook()
        text = f"testkit: error: {message}\n"
        try:
            sys.stderr.flush()
            os.write(2, text.encode("utf-8", "replace"))  # fd 2: past sys.stderr's capture
        except OSError:  # pragma: no cover - no stderr at all
            pass
        if self.on_give_up is not None:
            self.on_give_up(message)
        os._exit(EXIT_HUNG)

    def _unwound(self, runtime: Runtime, grace: float = 2.0) -> bool:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self._stop.is_set() or self._key(runtime) is None or self.runtime is not runtime:
                return True
            self._stop.wait(0.02)
        return False

    def _describe(self, runtime: Runtime, in_body: bool, where: str) -> str:
        limit = f"{self.limit:g}"
        advice = (
            "One thread runs every actor under the tester, so code that never returns stops "
            "them all. If it is only slow, raise the limit (explore(..., watchdog=SECONDS), "
            "python -m testkit test --watchdog SECONDS)"
        )
        if in_body:
            return (
                f"watchdog: the test function made no progress for {limit} s at step "
                f"{runtime.steps}, in {where}: it neither sent a message, started an actor nor "
                "waited. A busy loop or a wait on something the tester does not control "
                "(threading.Event, time, a pykka.ThreadingFuture, a socket) never lets the "
                "actors run; wait with ask(), a TestProbe expectation or runtime.run() "
                f"instead. {advice}"
            )
        current = runtime._current
        envelope = getattr(current, "current", None)
        handling = ""
        if envelope is not None and getattr(current, "started", False):
            _, what, detail = describe_message(envelope.message)
            handling = f" while handling {detail or what}"
        return (
            f"watchdog: {actor_text(current)} made no progress for {limit} s at step "
            f"{runtime.steps}{handling}, in {where}: the handler never returned. A loop that "
            "never ends, or a wait on something the tester does not control (threading.Event, "
            "a lock, a pykka.ThreadingFuture, a socket) is a hang in production too; send a "
            f"message or set an FSM timer instead of waiting. {advice}"
        )


def raise_in(thread: int, exc_type: type[BaseException]) -> None:
    """Raise `exc_type` in `thread` at its next Python instruction."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(exc_type))
