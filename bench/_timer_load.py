"""The load modes of bench/timer_soak.py: N FSMs, each with a 1 s repeating named timer
(fixed rate), while a sender thread tells them X messages a second, round robin.

`measure(...)` runs in a fresh process per tree (see `_baseline.run_probe`): the `fsm` it
imports is that tree's, this module comes from the bench directory of the tree running the
bench. Each FSM appends the lateness of every tick (delivery time minus its slot on the
fixed grid) to arrays of its own; windows and percentiles are computed at the end.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from array import array
from typing import Any

import pykka

import fsm
from fsm import FSM, Event, State


class _Record:
    """One FSM's ticks, written only by the FSM: delivery times, lateness (and how late the
    timer thread told it), the next slot."""

    __slots__ = ("at", "expected", "fired_late", "late")

    def __init__(self) -> None:
        self.at = array("d")
        self.late = array("d")
        self.fired_late = array("d")
        self.expected = math.inf


_fired: dict[str, float] = {}
"""When the timer thread last told each FSM (by actor_urn) its tick."""


def _watch_ticks() -> None:
    """Note when each tick is told, to split lateness into the timer thread's part and the
    mailbox's (`_Tell` is the timer callback of fsm._dispatch in both trees)."""
    from fsm import _dispatch

    tell = _dispatch._Tell.__call__

    def noted(self: Any) -> None:
        _fired[self.target.actor_urn] = time.monotonic()
        tell(self)

    _dispatch._Tell.__call__ = noted  # type: ignore[method-assign]


class _Ticker(FSM):
    """On ("go", begin, end) starts its repeating timer at its phase after `begin`; records
    every tick delivered before `end`."""

    def __init__(self, phase: float, interval: float, record: _Record) -> None:
        super().__init__()
        self.phase = phase
        self.interval = interval
        self.record = record
        self.end = math.inf
        self.start_with("on", None)
        self.when("on", self.on)
        self.initialize()

    def on(self, event: Event) -> State:
        message = event.message
        record = self.record
        if message == "tick":
            now = time.monotonic()
            if now < self.end:
                record.at.append(now)
                record.late.append(now - record.expected)
                record.fired_late.append(_fired.get(self.actor_urn, now) - record.expected)
            record.expected += self.interval
        elif message == "phase":
            self.set_timer("tick", "tick", self.interval, repeat=True)
        elif isinstance(message, tuple):
            _, begin, self.end = message
            delay = max(0.0, begin + self.phase - time.monotonic())
            self.start_single_timer("phase", "phase", delay)
        return self.stay()


def _sender(refs: list[Any], rate: float, begin: float, end: float, sent: list[int]) -> None:
    """Tell `rate` messages a second round robin, in slices of 5 ms; catch up at most 1 s."""
    n = len(refs)
    i = 0
    slot = begin
    per_slot = rate * 0.005
    owed = 0.0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if slot > now:
            time.sleep(slot - now)
            continue
        if now - slot > 1.0:
            slot = now  # more than a second behind: give up on what is owed
        owed += per_slot
        while owed >= 1.0:
            refs[i % n].tell("work")
            i += 1
            owed -= 1.0
        slot += 0.005
    sent.append(i)


def measure(
    actor: str, fsms: float, rate: float, seconds: float, window: float, interval: float
) -> dict[str, Any]:
    """Run the load once; per window: ticks, p50, p99, max lateness (seconds)."""
    fsms = int(fsms)
    _watch_ticks()
    base: type[pykka.Actor] = pykka.ThreadingActor if actor == "threading" else fsm.PooledActor
    cls: Any = type("Ticker", (_Ticker, base), {})
    started = time.monotonic()
    records = [_Record() for _ in range(fsms)]
    refs = [cls.start(i / fsms * interval, interval, records[i]) for i in range(fsms)]
    start_s = time.monotonic() - started
    begin = time.monotonic() + 1.0 + fsms * 2e-5  # after every FSM was told to go
    end = begin + seconds
    for i, ref in enumerate(refs):
        records[i].expected = begin + i / fsms * interval + interval  # the first tick's slot
        ref.tell(("go", begin, end))
    _say(f"started {fsms} FSMs in {start_s:.1f} s")
    sent: list[int] = []
    sender = threading.Thread(target=_sender, args=(refs, rate, begin, end, sent), daemon=True)
    sender.start()
    time.sleep(max(0.0, end - time.monotonic()))
    sender.join()
    _say(f"the run is over; sent {sent[0] if sent else 0:,} messages")
    windows = max(1, math.ceil(seconds / window))
    by_window: list[list[float]] = [[] for _ in range(windows)]
    fired_by_window: list[list[float]] = [[] for _ in range(windows)]
    for record in records:  # the FSMs still run (the caller exits without stopping them)
        n = min(len(record.at), len(record.late), len(record.fired_late))
        ticks = zip(record.at[:n], record.late[:n], record.fired_late[:n], strict=True)
        for at, late, fired_late in ticks:
            if at >= begin:
                w = min(windows - 1, int((at - begin) / window))
                by_window[w].append(late)
                fired_by_window[w].append(fired_late)
    overdue = [end - r.expected for r in records if end - r.expected > 0.5]
    rows = []
    for lates, fired_lates in zip(by_window, fired_by_window, strict=True):
        lates.sort()
        fired_lates.sort()
        rows.append(
            {
                "ticks": len(lates),
                "p50": _pick(lates, 0.50),
                "p99": _pick(lates, 0.99),
                "max": lates[-1] if lates else math.nan,
                "fired_p99": _pick(fired_lates, 0.99),
            }
        )
    return {
        "windows": rows,
        "asked": sum(
            math.ceil((seconds - i / fsms * interval) / interval) - 1 for i in range(fsms)
        ),
        "sent_per_s": sent[0] / seconds if sent else 0.0,
        "overdue_at_end": len(overdue),
        "worst_overdue": max(overdue, default=0.0),
        "start_s": start_s,
    }


def _pick(ordered: list[float], q: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _say(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)
