"""Ctrl-C, SIGTERM and SIGHUP while a run goes on: a flag that the run checks, not an exception
that any callback could eat.

Python's own Ctrl-C raises `KeyboardInterrupt` wherever the main thread happens to be: in a
weakref callback or a `__del__` it is printed and ignored, and a careless `except BaseException`
in user code swallows it, so the run went on. While `interruptible()` is active, these signals
set a flag instead: the runtime stops at its next step, the iteration loop before the next
iteration, and the run ends with `KeyboardInterrupt` (which `explore` turns into `Interrupted`
with the partial report). Only user code that may never come back to the scheduler (a handler
or the test function running, or the parent of worker processes waiting on them) also gets a
`KeyboardInterrupt` raised into it. A second signal raises at once, wherever it lands.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from fsm import _dispatch

SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""The signals that interrupt a run (SIGHUP: the terminal went away)."""


class Hung(BaseException):
    """Raised into user code the watchdog gave up on; a BaseException so that a handler's
    `except Exception` cannot swallow it."""


class _State:
    """What the handler has seen since `interruptible()` began."""

    def __init__(self) -> None:
        self.signal: int | None = None
        """The first interrupting signal received, or None."""
        self.watchdog = False
        """The watchdog's own SIGINT (to break a blocking wait) is on its way."""
        self.raise_outside = False
        """Raise even when no user code runs (a parent process blocked waiting on workers)."""
        self.active = False


_STATE = _State()


def requested() -> bool:
    """Whether a signal asked the run to stop."""
    return _STATE.signal is not None


def signal_name() -> str:
    """The signal that stopped the run (`SIGINT` when none did)."""
    number = _STATE.signal
    return signal.Signals(number).name if number is not None else "SIGINT"


def may_be_ctrl_c() -> bool:
    """Whether a `KeyboardInterrupt` escaping user code may be the user's Ctrl-C (else the code
    raised it itself, a bug): yes when a signal set the flag, or when no `interruptible()`
    turns Ctrl-C into the flag and Python's own SIGINT handler, which raises it, is in place
    (a `deterministic()` block, a replay under pytest, on the main thread)."""
    if _STATE.signal is not None:
        return True
    if _STATE.active or threading.current_thread() is not threading.main_thread():
        return False
    return signal.getsignal(signal.SIGINT) is signal.default_int_handler


def check() -> None:
    """Raise `KeyboardInterrupt` if a signal asked the run to stop (between iterations)."""
    if _STATE.signal is not None:
        raise KeyboardInterrupt


def expect_watchdog_signal() -> bool:
    """The watchdog is about to send SIGINT to the main thread to end a blocking wait: it
    must unwind user code (`Hung`), not stop the run as a Ctrl-C would. False when no
    handler of ours would see it (Python's own raises `KeyboardInterrupt`, read likewise)."""
    _STATE.watchdog = True
    return _STATE.active


def _on_signal(number: int, frame: FrameType | None) -> None:
    state = _STATE
    if number == signal.SIGINT and state.watchdog:
        state.watchdog = False
        raise Hung
    if state.signal is not None:  # the second one: stop now, wherever it lands
        raise KeyboardInterrupt
    state.signal = number
    runtime: Any = _dispatch.current()
    if getattr(runtime, "deterministic", False):
        runtime.stopping = True  # the scheduler stops at its next step
        user_code = runtime.in_body or runtime._current is not None
        if user_code and not _ignored_there(frame):
            raise KeyboardInterrupt  # user code may never come back to the scheduler
    elif state.raise_outside and not _ignored_there(frame):
        raise KeyboardInterrupt


def _ignored_there(frame: FrameType | None) -> bool:
    """Whether Python would print and ignore an exception raised in `frame`: a finalizer or
    one of the weakref module's callbacks (the flag alone stops the run then)."""
    if frame is None:
        return False
    code = frame.f_code
    return code.co_name == "__del__" or code.co_filename.endswith(_CALLBACK_FILES)


_CALLBACK_FILES = ("weakref.py", "_weakrefset.py")


@contextlib.contextmanager
def interruptible(*, raise_outside: bool = False) -> Iterator[None]:
    """While the block runs, SIGINT, SIGTERM and SIGHUP stop the run as described above; the
    previous handlers come back after. Only the main thread can take signals: elsewhere, and
    inside another `interruptible()`, this does nothing. When a signal came and nothing raised
    for it, the block ends with `KeyboardInterrupt`."""
    state = _STATE
    if state.active or threading.current_thread() is not threading.main_thread():
        yield
        return
    saved: dict[int, Any] = {}
    state.signal, state.watchdog, state.raise_outside = None, False, raise_outside
    state.active = True
    try:
        for number in SIGNALS:
            if signal.getsignal(number) is not signal.SIG_IGN:  # e.g. SIGHUP under nohup
                saved[number] = signal.signal(number, _on_signal)
        yield
        check()
    finally:
        for number, handler in saved.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        state.active = False
        state.signal = None
        state.watchdog = False
