"""`DeterministicFuture`: a Pykka future whose `get()` runs the scheduler, never a thread."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka

from fsm import _dispatch
from testkit._engine.bug import Abort, Bug
from testkit._errors import TestkitError

if TYPE_CHECKING:
    from testkit._engine.runtime import Runtime


class DeterministicFuture(pykka.Future[Any]):
    """A future whose `get()` runs the scheduler until it is set (never blocks a thread)."""

    def __init__(self, runtime: Runtime | None = None) -> None:
        super().__init__()
        if runtime is None:  # pykka makes derived futures with `future.__class__()`
            current: Any = _dispatch.current()
            assert current.deterministic, "a deterministic future outside the tester"
            runtime = current
        self._runtime = runtime
        self._done = False
        self._value: Any = None
        self._exc_info: Any = None
        self._callbacks: list[Callable[[pykka.Future[Any]], None]] = []

    def get(self, *, timeout: float | None = None) -> Any:
        try:
            return super().get(timeout=timeout)
        except NotImplementedError:
            pass
        if not self._done:
            runtime = self._runtime
            if runtime._current is not None:
                raise Abort(error=blocking_error(runtime._current))
            if not runtime.run_until(lambda: self._done):
                if timeout is not None:
                    raise pykka.Timeout(f"{timeout} seconds (no actor could run any more)")
                raise Abort(
                    bug=Bug(
                        "deadlock",
                        "the test waits for a reply (ask or future.get) that can never come: "
                        "no actor has anything left to run",
                        "test",
                    )
                )
        if self._exc_info is not None:
            _, value, traceback = self._exc_info
            raise value.with_traceback(traceback)
        return self._value

    def set(self, value: Any | None = None) -> None:
        if self._done:
            raise TestkitError("a future was set twice")
        self._done = True
        self._value = value
        self._run_callbacks()

    def set_exception(self, exc_info: Any = None) -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        if exc_info[1] is None:
            exc_info = (exc_info[0], exc_info[0](), exc_info[2])
        self._done = True
        self._exc_info = exc_info
        self._run_callbacks()

    def add_done_callback(self, callback: Callable[[pykka.Future[Any]], None]) -> None:
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _run_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


def blocking_error(current: Any) -> TestkitError:
    return TestkitError(
        f"{current.id} waited for a reply inside a handler (a blocking ask(), future.get() or "
        "ref.stop()); under the deterministic tester nothing else can run while a handler "
        "waits, and in production it risks a deadlock. Send with tell() and handle the reply "
        "as a message, or use ask(..., block=False) / stop(block=False)"
    )
