"""`DeterministicFuture`: a Pykka future whose `get()` runs the scheduler, never a thread."""

from __future__ import annotations

import queue
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


class FutureSetTwice(queue.Full):
    """A future set a second time (or after a get hook): `queue.Full`, as Pykka's own
    `ThreadingFuture` raises, with what happened in words."""


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
            elif not wait_in_test(runtime, self, timeout):
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

    def set(self, value: Any | None = None) -> None:
        self._settable("set")
        self._done = True
        self._value = value
        self._run_callbacks()

    def set_exception(self, exc_info: Any = None) -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self._settable("set_exception")
        if exc_info[1] is None:
            exc_info = (exc_info[0], exc_info[0](), exc_info[2])
        self._done = True
        self._exc_info = exc_info
        self._run_callbacks()

    def set_get_hook(self, func: Any) -> None:
        if self._done:
            raise FutureSetTwice("set_get_hook() on a future that already has its value")
        super().set_get_hook(func)

    def _settable(self, what: str) -> None:
        """A future is set once, as `pykka.ThreadingFuture` (which raises `queue.Full`)."""
        if self._done or self._get_hook is not None:
            done = "a get hook" if self._get_hook is not None else "its value"
            raise FutureSetTwice(f"{what}() on a future that already has {done}")

    def add_done_callback(self, callback: Callable[[pykka.Future[Any]], None]) -> None:
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _run_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


def wait_in_test(runtime: Runtime, future: Any, timeout: float | None) -> bool:
    """The test function waits for `future` (`._done`): True once it is set, False if the
    system became quiescent first; with a `timeout`, virtual time then moves on by it (timers
    due later staying unfired until then) and `pykka.Timeout` is raised, as the wait would
    have ended in production."""
    done, deadline = run_while_test_waits(runtime, future, lambda: future._done, timeout)
    if done:
        return True
    if deadline is None:
        return False
    runtime.time_passes(deadline)
    raise pykka.Timeout(f"{timeout} seconds (no actor could run any more)")


def run_while_test_waits(
    runtime: Runtime, waiting_for: Any, done: Callable[[], bool], timeout: float | None
) -> tuple[bool, float | None]:
    """Run the schedule while the test function waits on `waiting_for`, until `done()` or
    nothing can run (timers due after `timeout` virtual seconds stay unfired): whether it
    is done, and the wait's deadline (None: untimed), which the caller lets pass."""
    body = runtime.body
    body.waiting_for = waiting_for
    deadline = None if timeout is None else runtime.now + max(timeout, 0.0)
    body.wait_deadline = deadline
    try:
        with runtime.timers_until(deadline):
            return runtime.run_until(done), deadline
    finally:
        body.waiting_for = None
        body.wait_deadline = None


def blocking_error(current: Any) -> TestkitError:
    return TestkitError(
        f"{current.id} waited inside a handler for something other than a reply (a "
        "TestProbe expectation or runtime.run()); a handler may block on ask(), a proxy's "
        ".get(), future.get() or ref.stop(), but waiting for a probe belongs in the test "
        "function"
    )
