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

    python bench/faults.py --instructions [--instruction-iterations 20]

The same costs counted exactly, whatever else the machine runs: each run in a child process
under valgrind's callgrind (PYTHONHASHSEED=0), with `--instruction-iterations` and three times
as many; the difference in instructions over the difference in steps is what one step costs,
start-up left out. Slow (valgrind runs Python some 50 times slower): minutes a system.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for bench.bugs

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


_CHILD = """
import logging, sys
logging.disable(logging.CRITICAL)
import testkit
from bench.faults import CASES, _declared
name, mode, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
fixed, faults = next((c[3], c[4]) for c in CASES if c[1] == name)
report = testkit.explore(fixed, iterations, 2000, "portfolio", 1, progress=False, workers=1,
                         faults=_declared(faults, mode), shrink=False)
print("STEPS", report.steps)
"""
ROOT = Path(__file__).resolve().parent.parent


def _declared(faults: Faults, mode: str) -> Faults | None:
    """The declaration a cost run uses: none, `faults`, or `faults` at `budget=0`."""
    if mode == "none":
        return None
    if mode == "idle":
        return Faults.parse(str(faults).replace(f"budget={faults.budget}", "budget=0"))
    return faults


def _instructions(name: str, mode: str, iterations: int) -> tuple[int, int]:
    """(instructions, steps) of one exploration in a child process under callgrind."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        done = subprocess.run(
            [
                *("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"),
                *(sys.executable, "-c", _CHILD, name, mode, str(iterations)),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)},
            check=True,
        )
    steps = int(re.search(r"STEPS (\d+)", done.stdout).group(1))  # type: ignore[union-attr]
    collected = re.search(r"Collected : (\d+)", done.stderr)
    assert collected is not None, done.stderr[-2000:]
    return int(collected.group(1)), steps


def _instruction_table(iterations: int) -> None:
    print(
        "| system (fixed) | instructions/step, no faults | faults declared | ratio | "
        "declared, budget=0 | ratio |"
    )
    print("|---|---|---|---|---|---|")
    for _, name, _, _, _ in CASES:
        per_step = {}
        for mode in ("none", "declared", "idle"):
            low, low_steps = _instructions(name, mode, iterations)
            high, high_steps = _instructions(name, mode, 3 * iterations)
            per_step[mode] = (high - low) / max(high_steps - low_steps, 1)
        base, declared, idle = per_step["none"], per_step["declared"], per_step["idle"]
        print(
            f"| {name} | {base:,.0f} | {declared:,.0f} | {declared / base:.2f}x | "
            f"{idle:,.0f} | {idle / base:.2f}x |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--cost-iterations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cost-only", action="store_true", help="skip the search for bugs")
    parser.add_argument(
        "--instructions", action="store_true", help="only the costs, in callgrind instructions"
    )
    parser.add_argument("--instruction-iterations", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    if args.instructions:
        _instruction_table(args.instruction_iterations)
        return
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
        costs: dict[str, list[float]] = {"none": [], "faults": [], "idle": []}
        for _ in range(args.rounds):
            for key, mode in (("none", "none"), ("faults", "declared"), ("idle", "idle")):
                declared = _declared(faults, mode)
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
