"""One iteration of a ring of N FSMs under the tester: seconds, µs/step and peak RSS per N.

    python bench/scale.py [--sizes 1000,10000,100000,200000] [--cost-size 10000]

Each FSM learns its successor, then forwards the token it is sent to it (3 messages each:
the successor, its own token, the forwarded one). Every run is a process of its own, so its
peak RSS is its own; the time includes the end of the iteration (disposal). Then, at
`--cost-size` actors, the per-step cost of `pct` and `prioritization` against `random`'s in
the same run. Targets: 200k actors in < 60 s and < 1 GB peak RSS with `random`; pct and
prioritization ≤ 2x random per step.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pykka

import testkit
from fsm import FSM, Event, State


class Link(FSM, pykka.ThreadingActor):
    """One link of the ring: forwards each token with hops left to its successor."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("linked", None)
        self.when("linked", self.linked)
        self.initialize()

    def linked(self, event: Event) -> State | None:
        match event:
            case Event(("next", ref), _):
                return self.stay().using(ref)
            case Event(int(hops), successor) if successor is not None:
                if hops > 0:
                    successor.tell(hops - 1)
                return self.stay()
        return None


def ring(size: int) -> Callable[[testkit.Runtime], None]:
    def test(runtime: testkit.Runtime) -> None:
        links = [Link.start() for _ in range(size)]
        for i, link in enumerate(links):
            link.tell(("next", links[(i + 1) % size]))
        for link in links:
            link.tell(1)

    return test


def child(size: int, strategy: str) -> dict[str, Any]:
    began = time.perf_counter()
    report = testkit.explore(
        ring(size),
        iterations=1,
        max_steps=100 * size,
        strategy=strategy,
        seed=1,
        progress=False,
        shrink=False,
        watchdog=None,
    )
    seconds = time.perf_counter() - began
    if report.bug is not None:
        raise SystemExit(f"unexpected bug: {report.bug}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "size": size,
        "strategy": strategy,
        "seconds": seconds,
        "steps": report.steps,
        "us_per_step": seconds / report.steps * 1e6,
        "peak_mb": peak_mb,
    }


def run(size: int, strategy: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(size), strategy],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,200000")
    parser.add_argument("--cost-size", type=int, default=10_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1])))
        return
    print(
        f"{'actors':>8} {'strategy':>15} {'steps':>10} {'seconds':>9} {'µs/step':>8} {'peak MB':>8}"
    )

    def show(r: dict[str, Any]) -> None:
        print(
            f"{r['size']:>8,} {r['strategy']:>15} {r['steps']:>10,} {r['seconds']:>9.2f} "
            f"{r['us_per_step']:>8.1f} {r['peak_mb']:>8.0f}",
            flush=True,
        )

    results = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        results[size] = run(size, "random")
        show(results[size])
    base = results.get(args.cost_size) or run(args.cost_size, "random")
    for strategy in ("pct", "prioritization"):
        r = run(args.cost_size, strategy)
        show(r)
        print(f"  {strategy} / random per step: {r['us_per_step'] / base['us_per_step']:.2f}x")
    largest = results[max(results)]
    print(
        f"largest ring: {largest['size']:,} actors in {largest['seconds']:.1f} s (target < 60), "
        f"peak RSS {largest['peak_mb']:.0f} MB (target < 1024)"
    )


if __name__ == "__main__":
    main()
