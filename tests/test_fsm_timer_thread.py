"""The shared production timer thread's bookkeeping: cancelled timers do not pile up, and a
thread that is gone (ended by a callback, or left behind by fork) is replaced on demand."""

from __future__ import annotations

import os
import threading

import pytest

from fsm._timer_thread import COMPACT_FLOOR, TimerThread

pytestmark = pytest.mark.testkit(enabled=False, reason="checks the production timer thread itself")


def test_cancelled_timers_do_not_pile_up_until_their_deadline() -> None:
    # A busy FSM with a one-hour state timeout cancels and re-arms it on every message.
    timers = TimerThread()
    fired = threading.Event()
    keep = timers.schedule(3600.0, lambda: None)
    timers.schedule(0.2, fired.set)  # survives every sweep and still fires
    for _ in range(20_000):
        timers.schedule(3600.0, lambda: None).cancel()
    assert len(timers._heap) <= COMPACT_FLOOR + 2
    assert fired.wait(10)
    assert not keep.cancelled and any(entry[2] is keep for entry in timers._heap)
    keep.cancel()


def test_many_live_timers_are_all_kept_by_the_sweep() -> None:
    timers = TimerThread()
    live = [timers.schedule(3600.0, lambda: None) for _ in range(3 * COMPACT_FLOOR)]
    for _ in range(3 * COMPACT_FLOOR):
        timers.schedule(3600.0, lambda: None).cancel()
    queued = {id(entry[2]) for entry in timers._heap}
    assert all(id(handle) in queued for handle in live)
    assert len(timers._heap) <= 2 * len(live) + COMPACT_FLOOR
    for handle in live:
        handle.cancel()


def test_a_callback_that_ends_the_thread_does_not_end_the_timers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(threading, "excepthook", lambda args: None)  # the exit is expected
    timers = TimerThread()
    ended = threading.Event()

    def end_thread() -> None:
        ended.set()
        raise SystemExit  # not an Exception: it ends the timer thread

    timers.schedule(0.0, end_thread)
    assert ended.wait(10)
    thread = timers._thread
    if thread is not None:
        thread.join(10)
    fired = threading.Event()
    timers.schedule(0.0, fired.set)
    assert fired.wait(10), "the timer thread ended and no new one was started"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_timers_fire_in_a_forked_child() -> None:
    timers = TimerThread()
    started = threading.Event()
    timers.schedule(0.0, started.set)  # the parent's thread now exists
    assert started.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: only this thread exists here
        try:
            fired = threading.Event()
            timers.schedule(0.0, fired.set)
            os._exit(0 if fired.wait(10) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "no timer fired in the forked child"
