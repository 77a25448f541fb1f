"""The test function as one more operation of the schedule.

`explore` runs the test function on a thread of its own that strictly alternates with the
scheduler: it pauses after every message it sends and every actor it starts, and the
strategy decides when it goes on. So a message the test sends late can arrive after messages
the actors sent meanwhile, as it could in production. When the test waits (an `ask`, a probe
expectation), it pauses until what it waits for has happened or nothing can run any more.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from testkit._engine.watchdog import raise_in

if TYPE_CHECKING:
    from testkit._engine.runtime import Runtime

RUNNING, RUNNABLE, WAITING, FINISHED = "running", "runnable", "waiting", "finished"


CONTROLLED_THREADS: set[int] = set()
"""The threads the tester runs user code on (the scheduler's and the test function's)."""


class Cancelled(BaseException):
    """Unwinds the test function when its iteration ends before it does."""


def _signal() -> threading.Lock:
    """A binary semaphore from a bare lock (any thread may release it), held at first."""
    lock = threading.Lock()
    lock.acquire()
    return lock


class BodyWorker:
    """The one thread that runs test functions, reused across the iterations of a run."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = self._new_thread()

    def _new_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="testkit-test-body", daemon=True)
        thread.start()
        return thread

    def submit(self, job: Callable[[], None]) -> None:
        if self._thread is None:
            self._jobs = queue.SimpleQueue()
            self._thread = self._new_thread()
        self._jobs.put(job)

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()

    def abandon(self) -> None:
        """Give up on a thread stuck in a test function; later runs get a new one."""
        self._thread = None

    def _loop(self) -> None:
        me = threading.get_ident()
        CONTROLLED_THREADS.add(me)
        jobs = self._jobs
        try:
            while True:
                job = jobs.get()
                if job is None:
                    return
                job()
        finally:
            CONTROLLED_THREADS.discard(me)


class TestBody:
    """The test function's operation; only one of it and the scheduler runs at a time."""

    __test__ = False
    __slots__ = (
        "_to_body",
        "_to_scheduler",
        "cancelled",
        "done",
        "enabled",
        "id",
        "outcome",
        "runtime",
        "started",
        "state",
        "thread_ident",
        "wake_value",
        "worker",
    )

    def __init__(self, runtime: Runtime, worker: BodyWorker | None) -> None:
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
        self._to_body = _signal()
        self._to_scheduler = _signal()

    def __repr__(self) -> str:
        return "test"

    def peek(self) -> tuple[str, str]:
        return "continue", ""

    # ---- the scheduler's side ---------------------------------------------------------

    def start(self, test: Callable[[Any], Any]) -> None:
        """Run `test(runtime)` until its first pause (or its end)."""
        if self.worker is None:
            raise RuntimeError("a test body needs a worker thread")  # pragma: no cover
        self.started = True
        self.runtime.in_body = True
        self.worker.submit(lambda: self._main(test))
        self._wait_for_body()

    def resume(self) -> None:
        """Let the test function run until it pauses again (or ends)."""
        self.state = RUNNING
        self.runtime.in_body = True
        self._to_body.release()
        self._wait_for_body()

    def _wait_for_body(self) -> None:
        # Interruptible (Ctrl-C); the watchdog ends a test function that never pauses.
        self._to_scheduler.acquire()
        self.runtime.in_body = False

    def cancel(self) -> None:
        """Unwind the test function if it has not ended (the iteration is over)."""
        if not self.started or self.state == FINISHED:
            return
        self.cancelled = True
        if self.state == RUNNING:  # interrupted while it ran: do not wait for it
            thread = self.thread_ident
            if thread is not None:
                raise_in(thread, Cancelled)
            self.abandon(None)
            return
        self.resume()

    def abandon(self, outcome: BaseException | None) -> None:
        """Give up on the test function's thread (stuck in user code): the run goes on, and
        the thread, if it ever wakes, is cancelled and touches nothing."""
        self.outcome = outcome
        self.state = FINISHED
        self.cancelled = True
        if self.thread_ident is not None:
            CONTROLLED_THREADS.discard(self.thread_ident)
        self.thread_ident = None
        if self.worker is not None:
            self.worker.abandon()
        with contextlib.suppress(RuntimeError):  # it may have just ended by itself
            self._to_scheduler.release()

    # ---- the test function's side ---------------------------------------------------------

    def _main(self, test: Callable[[Any], Any]) -> None:
        self.thread_ident = threading.get_ident()
        try:
            test(self.runtime)
        except Cancelled:
            pass
        except BaseException as exc:  # handed to the scheduler, which reports it
            if not self.cancelled:
                self.outcome = exc
        finally:
            if self.thread_ident is not None:  # not abandoned
                self.state = FINISHED
                self._to_scheduler.release()

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
        self._to_scheduler.release()
        self._to_body.acquire()
        if self.cancelled:
            raise Cancelled


def _never() -> bool:
    return False
