"""The shared production timer thread's bookkeeping: cancelled timers do not pile up, and a
thread that is gone (ended by a callback, or left behind by fork) is replaced on demand."""

from __future__ import annotations

import gc
import os
import threading
import time

import pytest

from fsm._timer_thread import COMPACT_FLOOR, RESOLUTION, TimerHandle, TimerThread


def queued(timers: TimerThread) -> list[TimerHandle]:
    """The handles in the thread's heap, in heap order."""
    return [timers._handles[number] for _, number in timers._heap]


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
    assert not keep.cancelled and any(handle is keep for handle in queued(timers))
    keep.cancel()


def test_many_live_timers_are_all_kept_by_the_sweep() -> None:
    timers = TimerThread()
    live = [timers.schedule(3600.0, lambda: None) for _ in range(3 * COMPACT_FLOOR)]
    for _ in range(3 * COMPACT_FLOOR):
        timers.schedule(3600.0, lambda: None).cancel()
    in_heap = {id(handle) for handle in queued(timers)}
    assert all(id(handle) in in_heap for handle in live)
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


# ---- under load: batches, coalesced wake-ups, arming without the lock -------------------


def test_timers_never_fire_before_their_deadline() -> None:
    timers = TimerThread()
    early: list[float] = []
    done = threading.Event()
    count = 300

    def fire(deadline: float) -> None:
        if time.monotonic() < deadline:
            early.append(deadline)
        if len(fired) == count - 1:
            done.set()
        fired.append(deadline)

    fired: list[float] = []
    for i in range(count):  # deadlines closer together than RESOLUTION
        delay = (i % 50) * RESOLUTION / 7
        deadline = time.monotonic() + delay
        timers.schedule(delay, lambda deadline=deadline: fire(deadline))
    assert done.wait(10)
    assert early == []


def test_due_timers_fire_back_to_back_in_deadline_order() -> None:
    timers = TimerThread()
    gate, holding = threading.Event(), threading.Event()
    order: list[int] = []
    done = threading.Event()
    timers.schedule(0, lambda: (holding.set(), gate.wait(10)))  # holds the thread meanwhile
    assert holding.wait(10)
    for i in reversed(range(50)):  # all due when the thread comes back; armed out of order
        timers.schedule(-1.0 + i * 1e-3, lambda i=i: order.append(i))
    timers.schedule(0.0, done.set)
    gate.set()
    assert done.wait(10)
    assert order == list(range(50))


def test_arming_a_timer_does_not_wait_for_the_timer_threads_lock() -> None:
    timers = TimerThread()
    ticked = threading.Event()
    repeating = timers.schedule(0.0, ticked.set, interval=3600.0)
    timers.schedule(1800.0, lambda: None)  # the thread sleeps for half an hour
    assert ticked.wait(10)
    armed = threading.Event()

    def arm() -> None:
        for _ in range(100):  # due later than the thread wakes: nothing to wake it for
            timers.schedule(7200.0, lambda: None).cancel()
        repeating.delivered(fixed_delay=False)
        armed.set()

    with timers._lock:  # as when the thread holds it, taking a batch of due timers
        threading.Thread(target=arm, daemon=True).start()
        assert armed.wait(10), "arming a timer waited for the timer thread's lock"
    repeating.cancel()


def test_timers_cancelled_before_the_thread_takes_them_never_reach_the_heap() -> None:
    timers = TimerThread()
    fired = threading.Event()
    timers.schedule(3600.0, lambda: None)
    cancelled = [timers.schedule(1800.0, lambda: None) for _ in range(100)]
    for handle in cancelled:
        handle.cancel()
    timers.schedule(0.0, fired.set)  # due at once: wakes the thread, which takes them all
    assert fired.wait(10)
    with timers._lock:
        assert not timers._incoming
        assert not any(handle in cancelled for handle in queued(timers))


def test_a_callback_that_ends_the_thread_leaves_the_rest_of_its_batch_to_a_new_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(threading, "excepthook", lambda args: None)  # the exit is expected
    timers = TimerThread()
    gate, holding = threading.Event(), threading.Event()
    rest = threading.Event()

    def end_thread() -> None:
        raise SystemExit

    timers.schedule(0, lambda: (holding.set(), gate.wait(10)))
    assert holding.wait(10)
    timers.schedule(-1.0, end_thread)  # first of the batch
    timers.schedule(-0.5, rest.set)  # same batch: must still fire, nothing else is armed
    gate.set()
    assert rest.wait(10), "a timer of the ended thread's batch never fired"


def test_the_heap_holds_no_object_the_garbage_collector_tracks() -> None:
    # A timer pending for a second must not be promoted to gc's oldest generation each time
    # it is armed: full collections pause every thread for long with many actors.
    timers = TimerThread()
    handles = [timers.schedule(3600.0, lambda: None) for _ in range(2 * COMPACT_FLOOR)]
    gc.collect()
    with timers._lock:
        assert timers._heap and not any(gc.is_tracked(entry) for entry in timers._heap)
    for handle in handles:
        handle.cancel()
