"""Timer soak: many FSMs with short repeating timers on the shared production timer thread.

    python bench/timer_soak.py [--fsms 1000] [--interval 0.01] [--duration 30] [--window 5]
                               [--ramp-seconds 5] [--no-ramp]

Three phases in one run (so machine load hits them alike):

1. fixed delay: `--fsms` FSMs, each with `start_timer_with_fixed_delay(interval)`, for
   `--duration` seconds (after 0.2 s of warm-up); lateness (tick delivered minus previous
   tick handled plus interval) p50/p99/max per `--window`, RSS per window, ticks delivered;
2. baseline, fixed rate: the same load with `set_timer(..., repeat=True)`; lateness is the
   delivery time minus the tick's slot on the fixed grid;
3. ramp: fixed-delay FSMs at `--interval`, 1.5 times as many for `--ramp-seconds` each step,
   until p99 lateness exceeds 50 ms; reports the highest delivered tick rate within it.

Percentiles come from log histograms (buckets 5% wide) allocated before the start, so the
bench's own memory stays flat however many ticks arrive. Not part of CI.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pykka

from fsm import FSM, Event, State

P99_LIMIT = 0.050
_RATIO = 1.05
_FLOOR = 1e-4  # lateness below 0.1 ms counts as 0.1 ms
_BUCKETS = 2 + int(math.log(1e3 / _FLOOR, _RATIO))  # up to 1,000 s late


def bucket_of(lateness: float) -> int:
    if lateness <= _FLOOR:
        return 0
    return min(_BUCKETS - 1, 1 + int(math.log(lateness / _FLOOR, _RATIO)))


def bucket_top(bucket: int) -> float:
    return _FLOOR * _RATIO**bucket


class Stats:
    """One FSM's figures, written only by its own thread; merged at the end."""

    def __init__(self, windows: int) -> None:
        self.hist = [array("q", bytes(8 * _BUCKETS)) for _ in range(windows)]
        self.worst = array("d", [0.0] * windows)


class Soak(FSM, pykka.ThreadingActor):
    """Starts its timer on "go"; records the lateness of every tick until `end`."""

    def __init__(self, fixed_delay: bool, interval: float, window: float, stats: Stats) -> None:
        super().__init__()
        self.fixed_delay = fixed_delay
        self.interval = interval
        self.window = window
        self.stats = stats
        self.begin = 0.0
        self.end = 0.0
        self.expected = 0.0
        self.start_with("on", None)
        self.when("on", self.on)
        self.initialize()

    def on(self, event: Event) -> State:
        now = time.monotonic()
        message = event.message
        if message == "tick":
            if self.begin <= now < self.end:
                late = now - self.expected
                window = int((now - self.begin) / self.window)
                self.stats.hist[window][bucket_of(late)] += 1
                if late > self.stats.worst[window]:
                    self.stats.worst[window] = late
            if self.fixed_delay:
                self.expected = time.monotonic() + self.interval  # re-armed after this returns
            else:
                self.expected += self.interval
        elif isinstance(message, tuple):  # ("go", begin, end)
            _, self.begin, self.end = message
            self.expected = now + self.interval
            if self.fixed_delay:
                self.start_timer_with_fixed_delay("tick", "tick", self.interval)
            else:
                self.set_timer("tick", "tick", self.interval, repeat=True)
        return self.stay()


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class WarningCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@dataclass
class Result:
    windows: list[tuple[float, float, float, int, float]]  # p50, p99, max, ticks, rss
    ticks: int
    rss_start: float
    rss_end: float
    warnings: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.ticks / self.seconds

    @property
    def p99(self) -> float:
        return max((w[1] for w in self.windows), default=math.inf)


def percentile(hist: Counter[int], q: float) -> float:
    total = sum(hist.values())
    if not total:
        return math.nan
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= q * total:
            return bucket_top(bucket)
    return math.nan


def run(fsms: int, interval: float, seconds: float, window: float, fixed_delay: bool) -> Result:
    counter = WarningCount()
    logging.getLogger("fsm.timers").addHandler(counter)
    windows = max(1, math.ceil(seconds / window))
    all_stats = [Stats(windows) for _ in range(fsms)]
    refs = [Soak.start(fixed_delay, interval, window, s) for s in all_stats]
    rss_start = rss_mb()
    begin = time.monotonic() + 0.2
    end = begin + seconds
    for ref in refs:
        ref.tell(("go", begin, end))
    rss_by_window: list[float] = []
    for w in range(windows):
        time.sleep(max(0.0, begin + min(seconds, (w + 1) * window) - time.monotonic()))
        rss_by_window.append(rss_mb())
    rss_end = rss_by_window[-1]
    pykka.ActorRegistry.stop_all()
    logging.getLogger("fsm.timers").removeHandler(counter)

    rows = []
    ticks = 0
    for w in range(windows):
        hist: Counter[int] = Counter()
        worst = 0.0
        for stats in all_stats:
            for bucket, n in enumerate(stats.hist[w]):
                if n:
                    hist[bucket] += n
            worst = max(worst, stats.worst[w])
        n = sum(hist.values())
        ticks += n
        p50, p99 = (min(worst, percentile(hist, q)) for q in (0.5, 0.99))  # bucket tops
        rows.append((p50, p99, worst, n, rss_by_window[w]))
    return Result(rows, ticks, rss_start, rss_end, counter.count, seconds)


def report(title: str, result: Result, window: float, fsms: int, interval: float) -> None:
    print(f"\n{title}")
    print("  window   p50 ms   p99 ms    max ms    ticks/s   RSS MB")
    for i, (p50, p99, worst, n, rss) in enumerate(result.windows):
        print(
            f"  {i * window:3.0f}-{(i + 1) * window:<3.0f} {p50 * 1e3:8.1f} {p99 * 1e3:8.1f}"
            f" {worst * 1e3:9.1f} {n / window:10,.0f} {rss:8.1f}"
        )
    asked = fsms / interval * result.seconds
    print(
        f"  ticks delivered: {result.ticks:,} of {asked:,.0f} asked "
        f"({result.ticks / asked:.0%}); {result.rate:,.0f} ticks/s; RSS {result.rss_start:.1f}"
        f" -> {result.rss_end:.1f} MB; lateness warnings logged: {result.warnings}"
    )


def ramp(interval: float, seconds: float, start: int, limit: int) -> None:
    print(f"\nramp: fixed-delay FSMs at {interval * 1e3:g} ms, {seconds:g} s per step")
    best: tuple[float, int] | None = None
    fsms = start
    while fsms <= limit:
        result = run(fsms, interval, seconds, seconds, fixed_delay=True)
        p99 = result.p99
        print(f"  {fsms:5d} FSMs: {result.rate:9,.0f} ticks/s, p99 {p99 * 1e3:7.1f} ms")
        if p99 > P99_LIMIT:
            break
        if best is None or result.rate > best[0]:
            best = (result.rate, fsms)
        fsms = int(fsms * 1.5)
    if best is None:
        print(f"  no step kept p99 lateness <= {P99_LIMIT * 1e3:g} ms")
    else:
        print(
            f"  highest sustained rate with p99 <= {P99_LIMIT * 1e3:g} ms: "
            f"{best[0]:,.0f} ticks/s ({best[1]} FSMs)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fsms", type=int, default=1000, help="FSMs per soak (default 1000)")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds (default 0.01)")
    parser.add_argument("--duration", type=float, default=30.0, help="soak seconds (30)")
    parser.add_argument("--window", type=float, default=5.0, help="report window seconds (5)")
    parser.add_argument("--ramp-seconds", type=float, default=5.0, help="per ramp step (5)")
    parser.add_argument("--ramp-start", type=int, default=50, help="FSMs at the first step")
    parser.add_argument("--no-ramp", action="store_true", help="skip the ramp")
    args = parser.parse_args()
    if args.fsms < 1 or args.interval <= 0 or args.duration <= 0 or args.window <= 0:
        parser.error("--fsms, --interval, --duration and --window must be positive")
    common: dict[str, Any] = {"window": args.window, "fsms": args.fsms}
    label = f"{args.fsms} FSMs x {args.interval * 1e3:g} ms for {args.duration:g} s"
    fixed_delay = run(args.fsms, args.interval, args.duration, args.window, fixed_delay=True)
    report(f"fixed delay: {label}", fixed_delay, interval=args.interval, **common)
    fixed_rate = run(args.fsms, args.interval, args.duration, args.window, fixed_delay=False)
    report(f"baseline, fixed rate (set_timer repeat=True): {label}", fixed_rate,
           interval=args.interval, **common)  # fmt: skip
    if not args.no_ramp:
        ramp(args.interval, args.ramp_seconds, args.ramp_start, limit=40 * args.ramp_start)


if __name__ == "__main__":
    main()
