"""How well `Bug.explain` explains the seeded bugs: the slice's share of the shrunk trace,
whether a decisive change was found, and how long explaining takes.

    python bench/explain.py [--seeds 10] [--iterations 100] [--max-steps 10000]
                            [--budget 30] [--only NAME] [--show]

For every bug of `bench/bugs/` (`buggy`), of `tests/buggy_systems.py` and both failover
examples, over the seeds: `explore` with its defaults (portfolio, one process, shrinking on:
the trace explained is the shrunk one), then `bug.explain(test, time_budget=...)`. Reports per
bug the median slice length / shrunk length, how many seeds got a decisive change, and the
median and slowest explaining time; then the same over all of them. For information, the slice
of the trace as found (before shrinking) over its length: what slicing alone leaves out.
Targets: slice / shrunk median <= 0.5; a decisive change for >= 90% of the bugs; time
median <= 5 s, max <= 30 s. `--show` prints each explanation's text.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.buggy_systems

import testkit
from bench.bugs import SYSTEMS
from failover_examples import coffee_machine, drinks_robot
from testkit._explaining.explanation import explain_trace
from tests import buggy_systems as systems


def cases() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {
        "coffee machine": coffee_machine.execute,
        "drinks robot": drinks_robot.execute,
        "lost_update": systems.lost_update,
        "timer_race": systems.timer_race,
        "dropped_request": systems.dropped_request,
        "lost_on_restart": systems.lost_on_restart,
        "never_served": systems.never_served,
    }
    for name in SYSTEMS:
        found[name] = importlib.import_module(f"bench.bugs.{name}").buggy
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--max-steps", type=int, default=10_000)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--only", action="append", help="these bugs only")
    parser.add_argument("--show", action="store_true", help="print each explanation")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    load = os.getloadavg()
    print(
        f"explore: portfolio, {args.iterations} iterations, max_steps {args.max_steps}, one "
        f"process, shrink on; explain budget {args.budget:g} s; load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores\n"
    )
    print("| bug | found (seeds) | shrunk steps median | slice steps median "
          "| slice/shrunk median (max) | decisive found | explain s median (max) "
          "| found: slice/length median |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    ratios_all: list[float] = []
    seconds_all: list[float] = []
    decided_all = explained_all = 0
    for name, test in cases().items():
        if args.only and name not in args.only:
            continue
        ratios: list[float] = []
        seconds: list[float] = []
        shrunk: list[int] = []
        sliced: list[int] = []
        found_ratios: list[float] = []
        decided = 0
        for seed in range(args.seeds):
            report = testkit.explore(
                test, iterations=args.iterations, max_steps=args.max_steps, seed=seed,
                progress=False,
            )  # fmt: skip
            bug = report.bug
            if bug is None:
                continue
            explanation = bug.explain(test, time_budget=args.budget)
            shrunk.append(len(bug.trace))
            sliced.append(len(explanation.slice))
            ratios.append(len(explanation.slice) / len(bug.trace))
            seconds.append(explanation.seconds)
            decided += explanation.decisive is not None
            original = bug.original_trace
            if original is not None:  # the slice only: no time for the decisive change
                as_found = explain_trace(test, original, time_budget=1e-6)
                found_ratios.append(len(as_found.slice) / len(original))
            if args.show:
                print(f"\n{name}, seed {seed}:\n{explanation.text}\n")
        if not ratios:
            print(f"| {name} | 0/{args.seeds} | | | | | | |", flush=True)
            continue
        ratios_all.extend(ratios)
        seconds_all.extend(seconds)
        decided_all += decided
        explained_all += len(ratios)
        print(
            f"| {name} | {len(ratios)}/{args.seeds} | {statistics.median(shrunk):g} "
            f"| {statistics.median(sliced):g} | {statistics.median(ratios):.2f} "
            f"({max(ratios):.2f}) | {decided}/{len(ratios)} | {statistics.median(seconds):.2f} "
            f"({max(seconds):.2f}) | {statistics.median(found_ratios or [0]):.2f} |",
            flush=True,
        )
    if not ratios_all:
        return
    load = os.getloadavg()
    print(
        f"\nall bugs: slice/shrunk median {statistics.median(ratios_all):.2f}; decisive change "
        f"found for {decided_all}/{explained_all} "
        f"({100 * decided_all / explained_all:.0f}%); explain time median "
        f"{statistics.median(seconds_all):.2f} s, max {max(seconds_all):.2f} s; load average "
        f"at the end {load[0]:.1f}"
    )


if __name__ == "__main__":
    main()
