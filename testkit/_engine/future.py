"""`DeterministicFuture`: a Pykka future whose `get()` runs the scheduler, never a thread."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka

from fsm import _dispatch
from testkit._engine.bug import Abort, Bug
from testkit._engine.waits import request_of
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
        self.owner: Any = None
        """The mailbox (or probe) the request behind this future went to, if known."""
        self.request: Any = None

    def get(self, *, timeout: float | None = None) -> Any:
        try:
            return super().get(timeout=timeout)
        except NotImplementedError:
            pass
        if not self._done:
            runtime = self._runtime
            if runtime._current is not None:  # a handler: parked until the value arrives
                runtime.suspend(self, timeout)
            elif not self._wait_in_test(runtime):
                if timeout is not None:
                    raise pykka.Timeout(f"{timeout} seconds (no actor could run any more)")
                owner = getattr(self.owner, "id", None)
                whom = "" if owner is None else f" from {owner} ({request_of(self)})"
                raise runtime.escalate(
                    Abort(
                        bug=Bug(
                            "deadlock",
                            f"the test waits for a reply{whom} (ask or future.get) that can "
                            "never come: no actor has anything left to run",
                            "test",
                        )
                    )
                )
        if self._exc_info is not None:
            _, value, traceback = self._exc_info
            raise value.with_traceback(traceback)
        return self._value

    def _wait_in_test(self, runtime: Runtime) -> bool:
        body = runtime.body
        body.waiting_for = self
        try:
            return runtime.run_until(lambda: self._done)
        finally:
            body.waiting_for = None

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
        f"{current.id} waited inside a handler for something other than a reply (a "
        "TestProbe expectation or runtime.run()); a handler may block on ask(), a proxy's "
        ".get(), future.get() or ref.stop(), but waiting for a probe belongs in the test "
        "function"
    )
