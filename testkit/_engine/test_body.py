"""The test function as one more operation of the schedule, on a greenlet of its own.

The test function runs on a greenlet (a stack of its own on the scheduler's thread, so no
OS thread switch): it pauses after every message it sends and every actor it starts, and the
strategy decides when it goes on. So a message the test sends late can arrive after messages
the actors sent meanwhile, as it could in production. When the test waits (an `ask`, a probe
expectation), it pauses until what it waits for has happened or nothing can run any more.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from greenlet import getcurrent  # type: ignore[import-untyped]

from testkit._engine.greenlet_pool import worker

if TYPE_CHECKING:
    from testkit._engine.runtime import Runtime

RUNNING, RUNNABLE, WAITING, FINISHED = "running", "runnable", "waiting", "finished"


CONTROLLED_THREADS: set[int] = set()
"""The threads the tester runs user code on: the scheduler's (handlers and the test
function are greenlets on it)."""


class Cancelled(BaseException):
    """Unwinds the test function when its iteration ends before it does."""


class BodyWorker:
    """Kept for callers of the thread-based engine: the test function needs no thread now."""

    def close(self) -> None:
        """Nothing to release."""

    def abandon(self) -> None:
        """Nothing to give up on."""


class TestBody:
    """The test function's operation; only one of it and the scheduler runs at a time."""

    __test__ = False
    __slots__ = (
        "_glet",
        "_scheduler",
        "cancelled",
        "done",
        "enabled",
        "id",
        "outcome",
        "runtime",
        "started",
        "state",
        "thread_ident",
        "wait_deadline",
        "waiting_for",
        "wake_value",
        "worker",
    )

    def __init__(self, runtime: Runtime, worker: BodyWorker | None = None) -> None:
        self.runtime = runtime
        self.worker = worker
        self.id = "test"
        self.enabled = False
        self.state = RUNNING
        self.done: Callable[[], bool] = _never
        self.wake_value = False
        self.cancelled = False
        self.outcome: BaseException | None = None
        self.started = False
        self.thread_ident: int | None = None
        self.waiting_for: Any = None
        """The future the test function waits on (to name a deadlock's cycle), if any."""
        self.wait_deadline: float | None = None
        """The virtual time at which that wait gives up (`get(timeout=...)`), if it does."""
        self._glet: Any = None
        self._scheduler: Any = None

    def __repr__(self) -> str:
        return "test"

    def peek(self) -> tuple[str, str]:
        return "continue", ""

    # ---- the scheduler's side ---------------------------------------------------------

    def start(self, test: Callable[[Any], Any]) -> None:
        """Run `test(runtime)` until its first pause (or its end)."""
        self.started = True
        self.thread_ident = threading.get_ident()
        self._scheduler = getcurrent()
        self._glet = worker(self._main, test)
        self._switch_in()

    def resume(self) -> None:
        """Let the test function run until it pauses again (or ends)."""
        self.state = RUNNING
        self._switch_in()

    def _switch_in(self, *args: Any) -> None:
        runtime = self.runtime
        glet = self._glet
        # the scheduler loop moves to a fresh greenlet when a handler blocks on its stack:
        # the test function hands back to (and ends into) whichever one resumed it
        self._scheduler = glet.parent = getcurrent()
        runtime.in_body = True
        try:
            glet.switch(*args)
        finally:
            runtime.in_body = False

    def cancel(self) -> None:
        """Unwind the test function if it has not ended (the iteration is over)."""
        if not self.started or self.state == FINISHED:
            return
        self.cancelled = True
        glet = self._glet
        if glet is None or glet.dead:
            self.state = FINISHED
            return
        self._scheduler = glet.parent = getcurrent()
        self.runtime.in_body = True
        try:
            glet.throw(Cancelled)
        finally:
            self.runtime.in_body = False
            self.state = FINISHED

    # ---- the test function's side ---------------------------------------------------------

    def _main(self, test: Callable[[Any], Any]) -> None:
        try:
            test(self.runtime)
        except Cancelled:
            pass
        except BaseException as exc:  # handed to the scheduler, which reports it
            if not self.cancelled:
                self.outcome = exc
        finally:
            self.state = FINISHED

    def pause(self) -> None:
        """After a send or a start: the strategy decides when the test goes on."""
        if self.cancelled:
            raise Cancelled
        self.state = RUNNABLE
        if not self.enabled:
            self.runtime.enable(self)
        self._hand_over()

    def wait(self, done: Callable[[], bool]) -> bool:
        """Pause until `done()`; False if the system became quiescent first."""
        if done():
            return True
        if self.cancelled:
            raise Cancelled
        self.state = WAITING
        self.done = done
        self._hand_over()
        return self.wake_value

    def _hand_over(self) -> None:
        self._scheduler.switch()
        if self.cancelled:
            raise Cancelled


def _never() -> bool:
    return False
