"""Timer soak: many FSMs with short repeating timers on the shared production timer thread.

    python bench/timer_soak.py [--fsms 1000] [--interval 0.01] [--duration 30] [--window 5]
                               [--ramp-seconds 5] [--no-ramp]
    python bench/timer_soak.py --mode threaded-load [--fsms 2000] [--rate 20000]
                               [--duration 60] [--window 5] [--baseline main | --no-baseline]
    python bench/timer_soak.py --mode pooled-load [--fsms 50000] [--rate 5000] ...

The load modes (issue 17, point 8): `--fsms` FSMs (`ThreadingActor`s or `PooledActor`s), each
with a 1 s repeating named timer (`set_timer(..., repeat=True)`, started at a phase spread
evenly over the second), while a sender thread tells them `--rate` messages a second, round
robin. Reports, per `--window`, the ticks delivered and their lateness (delivery minus the
tick's slot on the fixed grid) p50/p99/max, and p99 of how late the timer thread told the tick
to the FSM (the rest is the wait in the mailbox), whether p99 grows over the run (least-squares
slope times the duration > 0.1 s), and the target: every window's p99 <= 0.5 s, not growing.
Each tree runs in a fresh process, the baseline commit first, then this tree.

The soak mode runs three phases in one run (so machine load hits them alike):

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
import os
import tempfile
import time
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pykka
from _baseline import ROOT, export, run_probe

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


LOAD_MODES = {
    "threaded-load": ("threading", 2000, 20000.0),
    "pooled-load": ("pooled", 50000, 5000.0),
}
LOAD_P99 = 0.5
GROWTH = 0.1

LOAD_PROBE = """
import json, os, sys
sys.path.append(sys.argv[1])  # this bench's directory, after the tree under test
import _timer_load
print(json.dumps(_timer_load.measure(sys.argv[2], *map(float, sys.argv[3:]))), flush=True)
os._exit(0)  # stopping tens of thousands of backlogged actors is not part of the bench
"""


def growth(p99s: list[float]) -> float:
    """Least-squares slope of the windows' p99 times their span: how much p99 grew."""
    n = len(p99s)
    if n < 2 or any(math.isnan(p) for p in p99s):
        return math.inf
    mean_x, mean_y = (n - 1) / 2, sum(p99s) / n
    sxx = sum((x - mean_x) ** 2 for x in range(n))
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(p99s)) / sxx
    return slope * (n - 1)


def load(mode: str, args: argparse.Namespace) -> None:
    actor, fsms, rate = LOAD_MODES[mode]
    fsms = args.fsms or fsms
    rate = args.rate or rate
    duration = args.duration or 60.0
    print(
        f"{mode}: {fsms:,} {actor} FSMs, each with a 1 s repeating named timer, while a "
        f"sender tells them {rate:,.0f} msg/s; {duration:g} s, windows of {args.window:g} s; "
        f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)"
    )
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        trees = [] if args.no_baseline else [(args.baseline, export(args.baseline, Path(tmp)))]
        trees.append(("this tree", ROOT))
        for label, tree in trees:
            numbers = (fsms, rate, duration, args.window, 1.0)
            result = run_probe(tree, LOAD_PROBE, here, actor, *numbers)
            report_load(label, result, args.window, duration)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def report_load(label: str, result: dict[str, Any], window: float, duration: float) -> None:
    rows = result["windows"]
    print(f"\n{label} (started the FSMs in {result['start_s']:.1f} s; sent "
          f"{result['sent_per_s']:,.0f} msg/s)")  # fmt: skip
    print("  window    ticks/s    p50 ms    p99 ms    max ms   p99 ms told")
    for i, row in enumerate(rows):
        print(
            f"  {i * window:3.0f}-{(i + 1) * window:<3.0f} {row['ticks'] / window:10,.0f}"
            f" {row['p50'] * 1e3:9.1f} {row['p99'] * 1e3:9.1f} {row['max'] * 1e3:9.1f}"
            f" {row['fired_p99'] * 1e3:13.1f}"
        )
    ticks = sum(row["ticks"] for row in rows)
    p99s = [row["p99"] for row in rows]
    grew = growth(p99s)
    worst = math.inf if any(math.isnan(p) for p in p99s) else max(p99s)  # nan: no tick
    met = worst <= LOAD_P99 and grew <= GROWTH
    print(
        f"  ticks delivered: {ticks:,} of {result['asked']:,.0f} ({ticks / result['asked']:.0%});"
        f" ticks overdue by > 0.5 s at the end: {result['overdue_at_end']:,} (worst "
        f"{result['worst_overdue']:.1f} s); p99 grew {grew * 1e3:+.0f} ms over the run"
    )
    print(
        f"  target (every window's p99 <= {LOAD_P99 * 1e3:g} ms, growth <= {GROWTH * 1e3:g} "
        f"ms): {'met' if met else 'MISSED'} (worst window p99 {worst * 1e3:.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["soak", *LOAD_MODES], default="soak")
    parser.add_argument("--rate", type=float, help="load modes: messages/s (20000 / 5000)")
    parser.add_argument("--baseline", default="main", help="load modes: git ref (main)")
    parser.add_argument("--no-baseline", action="store_true", help="load modes: this tree only")
    parser.add_argument("--fsms", type=int, help="FSMs (soak 1000, load modes 2000 / 50000)")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds (default 0.01)")
    parser.add_argument("--duration", type=float, help="seconds (soak 30, load modes 60)")
    parser.add_argument("--window", type=float, default=5.0, help="report window seconds (5)")
    parser.add_argument("--ramp-seconds", type=float, default=5.0, help="per ramp step (5)")
    parser.add_argument("--ramp-start", type=int, default=50, help="FSMs at the first step")
    parser.add_argument("--no-ramp", action="store_true", help="skip the ramp")
    args = parser.parse_args()
    if args.mode != "soak":
        load(args.mode, args)
        return
    args.fsms = args.fsms or 1000
    args.duration = args.duration or 30.0
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
