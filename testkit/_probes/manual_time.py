"""`ManualTime`: FSM timers of actors on real threads follow a clock the test moves.

While a `ManualTime` is active it is the timer service of `fsm` (the seam in
`fsm._timer_thread`): state timeouts and named timers armed meanwhile, by thread-per-actor and
pooled FSMs alike, fire only inside `time_passes`, in deadline order. Akka's `ManualTime` and
Trio's `MockClock` are the models; nothing sleeps.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import Any

import pykka
from pykka.messages import ProxyGetAttr

from fsm import _dead_letters, _dispatch, _timer_thread
from testkit._errors import TestkitError
from testkit._probes.probe import TestProbe

_NS = 1_000_000_000


class _Handled(ProxyGetAttr):
    """The marker `time_passes` asks an actor after its timer messages: Pykka answers it in
    order, without the actor's handlers seeing it; never a dead letter."""

    __slots__ = ()


_dead_letters.suppress(_Handled)
_registry_lock = threading.Lock()
_active: ManualTime | None = None


class _ManualTimer:
    """A timer armed on a `ManualTime`: fires when the clock reaches `deadline` (ns)."""

    __slots__ = ("callback", "cancelled", "clock", "deadline", "interval")

    def __init__(
        self, clock: ManualTime, callback: Callable[[], None], deadline: int, interval: int | None
    ) -> None:
        self.clock = clock
        self.callback = callback
        self.deadline = deadline
        self.interval = interval
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def delivered(self, fixed_delay: bool) -> None:
        """The tick was handled: the next one is `interval` after its deadline (fixed rate)
        or after the clock's present time (fixed delay)."""
        self.clock._rearm(self, fixed_delay)


class ManualTime:
    """A manual clock for the FSM timers of actors on real threads (and pooled actors).

    Enter it before starting the actors whose timers it should drive; timers armed while it
    is active fire only when the test calls `time_passes`. On leaving, its pending timers are
    dropped and new timers go to the real timer thread again. `handled_within` is how many
    real seconds `time_passes` waits for an actor to handle a timer message.

        with testkit.ManualTime() as clock:      # or the pytest fixture `manual_time`
            door = Door.start()                  # state timeout of 5 s in "open"
            door.tell(Open())
            clock.time_passes(4.9)
            assert TestFSMRef ...                # still open
            clock.time_passes(0.1)               # the StateTimeout was handled
    """

    def __init__(self, handled_within: float = 3.0) -> None:
        if (
            isinstance(handled_within, bool)
            or not isinstance(handled_within, (int, float))
            or not handled_within > 0
            or math.isinf(handled_within)
        ):
            raise TestkitError(
                "ManualTime(handled_within=...) needs a positive, finite number of real "
                f"seconds to wait for an actor to handle a timer message, got {handled_within!r}"
            )
        self.handled_within = float(handled_within)
        self._lock = threading.Lock()
        self._advancing = threading.Lock()
        self._heap: list[tuple[int, int, _ManualTimer]] = []
        self._seq = itertools.count()
        self._now = 0  # nanoseconds since the clock was entered
        self._state = "new"  # -> "active" -> "closed"
        self._previous: _timer_thread.TimerService | None = None

    def __repr__(self) -> str:
        return f"ManualTime(now={self.now:g}s, {self._state}, {self.pending} timer(s) pending)"

    # ---- entering and leaving ------------------------------------------------------------

    def __enter__(self) -> ManualTime:
        global _active
        _refuse_under_the_tester("ManualTime")
        with _registry_lock:
            if self._state != "new":
                raise TestkitError(
                    f"this ManualTime is {self._state}: a ManualTime is entered once; make a "
                    "new one for another block"
                )
            if _active is not None:
                raise TestkitError(
                    "another ManualTime is already active: ManualTime blocks cannot be nested "
                    "or overlap (there is one clock for all FSM timers); use the active one, "
                    "e.g. the manual_time fixture, instead of entering a second"
                )
            _active = self
            self._state = "active"
            self._previous = _timer_thread.install(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _active
        with _registry_lock:
            if _timer_thread.current is self and self._previous is not None:
                _timer_thread.install(self._previous)
            if _active is self:
                _active = None
            self._state = "closed"
        with self._lock:
            for _, _, timer in self._heap:
                timer.cancel()
            self._heap.clear()

    # ---- the clock -----------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Seconds of manual time since the clock was entered."""
        return self._now / _NS

    @property
    def pending(self) -> int:
        """How many timers are armed and not yet fired (cancelled ones excluded)."""
        with self._lock:
            return sum(1 for _, _, timer in self._heap if not timer.cancelled)

    def time_passes(self, seconds: float | timedelta) -> None:
        """Move the clock `seconds` forward, firing every timer due by then, in deadline order.

        Guarantee: when it returns, every timer due by the new time has fired and its actor
        has handled the timer message (or has stopped). It waits, before moving the clock past
        an instant at which timers fired, until those actors handled their messages; so a
        repeating timer ticks once per interval passed, and timers set by those handlers fire
        too if due by the new time. Messages the handlers told others are in the receivers'
        mailboxes, not necessarily handled. A timer armed with delay 0 fires at the next call
        (`time_passes(0)` fires only what is due now).

        Example: `clock.time_passes(1.5)` or `clock.time_passes(timedelta(minutes=5))`
        """
        step = _nanoseconds(seconds, "time_passes(seconds)")
        self._check_active("time_passes")
        if not self._advancing.acquire(blocking=False):
            raise TestkitError(
                "time_passes() was called while another time_passes() of the same clock runs "
                "(from another thread): move the clock from one thread only"
            )
        try:
            self._advance(self._now + step)
        finally:
            self._advancing.release()

    def _advance(self, until: int) -> None:
        while True:
            with self._lock:
                heap = self._heap
                while heap and heap[0][2].cancelled:
                    heapq.heappop(heap)
                if not heap or heap[0][0] > until:
                    self._now = until
                    return
                instant = heap[0][0]
                self._now = max(self._now, instant)
                due = []
                while heap and heap[0][0] <= instant:
                    timer = heapq.heappop(heap)[2]
                    if not timer.cancelled:
                        due.append(timer)
            told: dict[str, tuple[pykka.ActorRef[Any], Any]] = {}
            for timer in due:
                if timer.cancelled:
                    continue
                timer.callback()
                target = getattr(timer.callback, "target", None)
                if isinstance(target, pykka.ActorRef):
                    told[target.actor_urn] = (target, getattr(timer.callback, "message", None))
            for target, message in told.values():
                self._wait_until_handled(target, message)

    def _wait_until_handled(self, target: pykka.ActorRef[Any], message: Any) -> None:
        """Everything `target` had in its mailbox was handled: a marker message, answered by
        Pykka itself after what came before it, has come back (or the actor has stopped)."""
        if not target.is_alive():
            return
        try:
            marker = target.ask(_Handled(attr_path=("actor_urn",)), block=False)
            marker.get(timeout=self.handled_within)
        except pykka.ActorDeadError:
            return
        except pykka.Timeout:
            raise TestkitError(
                f"time_passes: {target} did not handle its timer message {message!r} within "
                f"{self.handled_within:g} s of real time. ManualTime waits for each actor to "
                "handle its timer messages before it moves the clock on: is the handler "
                "blocked, waiting for the test? (ManualTime(handled_within=...) sets the wait)"
            ) from None

    # ---- the timer service (called by fsm, on any thread) ---------------------------------

    def schedule(
        self, delay: float, callback: Callable[[], None], interval: float | None = None
    ) -> _ManualTimer:
        """Arm `callback` `delay` seconds of manual time from now (fsm's TimerService)."""
        step = round(delay * _NS)
        every = None if interval is None else round(interval * _NS)
        with self._lock:
            timer = _ManualTimer(self, callback, self._now + step, every)
            if self._state == "active":
                heapq.heappush(self._heap, (timer.deadline, next(self._seq), timer))
            else:
                timer.cancelled = True  # armed after the block ended: never fires
        return timer

    def _rearm(self, timer: _ManualTimer, fixed_delay: bool) -> None:
        if timer.interval is None:
            raise ValueError("only a repeating timer can be re-armed")
        with self._lock:
            if timer.cancelled or self._state != "active":
                return
            timer.deadline = (self._now if fixed_delay else timer.deadline) + timer.interval
            heapq.heappush(self._heap, (timer.deadline, next(self._seq), timer))

    def _check_active(self, method: str) -> None:
        _refuse_under_the_tester(f"ManualTime.{method}")
        if self._state != "active":
            raise TestkitError(
                f"{method}() needs an active ManualTime, but this one is {self._state}: use it "
                "as `with testkit.ManualTime() as clock:` (or the manual_time fixture) and "
                f"call clock.{method}(...) inside the block"
            )


def expect_no_msg_for(probe: TestProbe, seconds: float | timedelta) -> None:
    """Let `seconds` of manual time pass (firing the timers due) and assert that `probe` got
    no message meanwhile; needs an active `ManualTime`. Never sleeps.

    Example: `testkit.expect_no_msg_for(probe, 4.9)  # no reminder before 5 s`
    """
    if not isinstance(probe, TestProbe):
        raise TestkitError(f"expect_no_msg_for(probe, seconds) needs a TestProbe, got {probe!r}")
    _nanoseconds(seconds, "expect_no_msg_for(probe, seconds)")
    clock = _active
    if clock is None:
        _refuse_under_the_tester("expect_no_msg_for")
        raise TestkitError(
            "expect_no_msg_for() moves a ManualTime, and none is active: use it inside "
            "`with testkit.ManualTime():` or with the manual_time fixture (with real time, "
            "use probe.expect_no_msg(timeout=...))"
        )
    clock.time_passes(seconds)
    envelope = probe._poll(0.0)
    if envelope is not None:
        raise AssertionError(
            f"{probe!r}: expected no message while {seconds} s of manual time passed, got "
            f"{envelope.message!r}"
        )


def _nanoseconds(seconds: Any, what: str) -> int:
    """A duration given by the test, as integer nanoseconds (exact sums: 0.1 + 0.2 == 0.3)."""
    if isinstance(seconds, timedelta):
        value = seconds.total_seconds()
    elif isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TestkitError(
            f"{what} needs a number of seconds or a datetime.timedelta, got {seconds!r}"
        )
    else:
        value = float(seconds)
    if math.isnan(value):
        raise TestkitError(f"{what}: the amount of time is NaN; pass a number of seconds >= 0")
    if value < 0:
        raise TestkitError(
            f"{what}: time cannot go backwards, got {seconds!r}; pass a number of seconds >= 0"
        )
    if math.isinf(value):
        raise TestkitError(
            f"{what}: cannot let infinite time pass (repeating timers would tick forever); "
            "pass a finite number of seconds"
        )
    return round(value * _NS)


def _refuse_under_the_tester(what: str) -> None:
    if _dispatch.current().deterministic:
        raise TestkitError(
            f"{what} is for actors on real threads; under the deterministic tester time is "
            "virtual already (timers fire when the scheduler chooses, and waiting never "
            "sleeps): drop the ManualTime there, or keep this test on real threads (with pytest: "
            "@pytest.mark.testkit(enabled=False))"
        )
