"""Declared faults: how soon each kind's bug is found, and what exploring with faults costs.

    python bench/faults.py [--seeds 10] [--iterations 3000] [--cost-iterations 200]

For each kind of fault, a system whose bug needs it (the failover examples' declared forms
and the benchmark's fault bugs): over the seeds, with the default portfolio, how many seeds
found the bug and the median number of iterations to it. Then the per-step cost of exploring
the fixed variants with their faults declared against none, measured side by side in this
run (they alternate, `--rounds` times each, and the least CPU time per step of each counts,
so that other processes on the machine weigh on all alike). Two costs: the declared faults
as the bug search uses them (a step now includes what the faults make happen, such as a
restarted actor's construction), and the same declaration with `budget=0` (the bookkeeping
alone: sender tracking, the start hook, the planner, no fault injected). CPU time, not wall
time: the machine may be shared. Prints Markdown tables for the README and the load average.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import testkit
from bench.bugs import double_charge, lost_ack_write, split_leader
from failover_examples import coffee_machine, drinks_robot
from testkit import Faults

Case = tuple[str, str, Callable[..., Any], Callable[..., Any], testkit.Faults]
CASES: list[Case] = [
    (
        "crash (+ restart)",
        "coffee machine, declared",
        coffee_machine.execute_declared,
        coffee_machine.execute_declared_fixed,
        coffee_machine.FAULTS,
    ),
    (
        "restart (+ crash)",
        "drinks robot, declared",
        drinks_robot.execute_declared,
        drinks_robot.execute_declared_fixed,
        drinks_robot.FAULTS,
    ),
    (
        "drop (+ crash)",
        "lost_ack_write",
        lost_ack_write.buggy,
        lost_ack_write.fixed,
        lost_ack_write.FAULTS,
    ),
    (
        "duplicate",
        "double_charge",
        double_charge.buggy,
        double_charge.fixed,
        double_charge.FAULTS,
    ),
    (
        "partition",
        "split_leader",
        split_leader.buggy,
        split_leader.fixed,
        split_leader.FAULTS,
    ),
]


def _cpu_per_step(test: Callable[..., Any], iterations: int, faults: Any, max_steps: int) -> float:
    started = time.process_time()
    report = testkit.explore(
        test, iterations, max_steps, seed=1, faults=faults, shrink=False, progress=False
    )
    spent = time.process_time() - started
    assert report.bug is None, report.summary()
    return spent / max(report.steps, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--cost-iterations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cost-only", action="store_true", help="skip the search for bugs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print()
    print("| fault kind | system | faults | found (seeds) | median iterations to bug |")
    print("|---|---|---|---|---|")
    for kind, name, buggy, _, faults in [] if args.cost_only else CASES:
        found = []
        for seed in range(1, args.seeds + 1):
            report = testkit.explore(
                buggy,
                args.iterations,
                args.max_steps,
                seed=seed,
                faults=faults,
                shrink=False,
                progress=False,
            )
            if report.bug is not None:
                found.append(report.iterations)
        median = f"{statistics.median(found):g}" if found else "-"
        print(
            f"| {kind} | {name} | `{faults}` | {len(found)}/{args.seeds} | {median} |", flush=True
        )
    print()
    print(
        "| system (fixed) | CPU µs/step, no faults | faults declared | ratio | declared, "
        "budget=0 | ratio |"
    )
    print("|---|---|---|---|---|---|")
    for _, name, _, fixed, faults in CASES:
        idle = Faults.parse(str(faults).replace(f"budget={faults.budget}", "budget=0"))
        costs: dict[str, list[float]] = {"none": [], "faults": [], "idle": []}
        for _ in range(args.rounds):
            for key, declared in (("none", None), ("faults", faults), ("idle", idle)):
                cost = _cpu_per_step(fixed, args.cost_iterations, declared, args.max_steps)
                costs[key].append(cost)
        base, with_faults, bookkeeping = (min(costs[k]) for k in ("none", "faults", "idle"))
        print(
            f"| {name} | {base * 1e6:.1f} | {with_faults * 1e6:.1f} | "
            f"{with_faults / base:.2f}x | {bookkeeping * 1e6:.1f} | {bookkeeping / base:.2f}x |",
            flush=True,
        )
    print()
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
