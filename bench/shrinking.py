"""How much `testkit.shrink` shortens the traces of the seeded bugs, and how long it takes.

    python bench/shrinking.py [--seeds 10] [--strategy portfolio] [--budget 30]

For both failover examples and each seeded bug of tests/buggy_systems.py, over the seeds:
the bug as `explore` finds it (default strategy, `shrink=False`), then `shrink` with the
budget. Reports the median and worst shrunk/original length ratio (the baseline is the trace
as found, in the same run), the median and slowest shrink time, how often the budget ran
out, and whether every shrunk trace replays strictly to the same bug. Targets: median
ratio <= 0.3 and never > 1; median time <= 5 s; the budget never hit on the failover
examples. Prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.buggy_systems

import testkit
from failover_examples import coffee_machine, drinks_robot
from testkit._shrinking.api import shrink_file
from testkit._shrinking.driver import same_bug
from tests import buggy_systems as systems

CASES: dict[str, tuple[Callable[..., Any], int]] = {
    "coffee machine": (coffee_machine.execute, 2000),
    "drinks robot": (drinks_robot.execute, 2000),
    "lost_update": (systems.lost_update, 500),
    "timer_race": (systems.timer_race, 500),
    "dropped_request": (systems.dropped_request, 500),
    "lost_on_restart": (systems.lost_on_restart, 500),
    "never_served": (systems.never_served, 500),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--strategy", default="portfolio")
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--budget", type=float, default=30.0)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the actors' own logs are not the point here
    print("| bug | strategy | found (seeds) | original steps (median) | shrunk steps "
          "(median) | ratio median (worst) | shrink s median (max) | budget hit "
          "| same bug on replay |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    ratios_all: list[float] = []
    for name, (test, max_steps) in CASES.items():
        originals, shrunk, ratios, seconds = [], [], [], []
        hit = same = 0
        for seed in range(args.seeds):
            report = testkit.explore(
                test, iterations=args.iterations, max_steps=max_steps,
                strategy=args.strategy, seed=seed, shrink=False,
            )  # fmt: skip
            bug = report.bug
            if bug is None:
                continue
            result = shrink_file(test, bug.trace, args.budget, 10.0)
            again = testkit.replay(test, result.trace).bug
            same += again is not None and same_bug(bug, again)
            hit += result.timed_out
            originals.append(len(bug.trace))
            shrunk.append(len(result.trace))
            ratios.append(len(result.trace) / len(bug.trace))
            seconds.append(result.seconds)
        ratios_all.extend(ratios)
        if not ratios:
            print(f"| {name} | {args.strategy} | 0/{args.seeds} | | | | | | |")
            continue
        print(
            f"| {name} | {args.strategy} | {len(ratios)}/{args.seeds} "
            f"| {statistics.median(originals):g} | {statistics.median(shrunk):g} "
            f"| {statistics.median(ratios):.2f} ({max(ratios):.2f}) "
            f"| {statistics.median(seconds):.2f} ({max(seconds):.2f}) | {hit} "
            f"| {same}/{len(ratios)} |",
            flush=True,
        )
    print(f"\nall bugs: median ratio {statistics.median(ratios_all):.2f}, "
          f"worst {max(ratios_all):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
