"""Iterations/s of `explore(..., workers=2)` vs `workers=1` on the fixed coffee machine, same run.

    python bench/parallel.py [--iterations N] [--workers W] [--rounds R]

The time includes starting the worker processes (spawn). The target (issue 10) is a ratio of
at least 1.8 with 2 workers on a 2-core machine. It also checks that both find the same bugs
in the buggy machine (`--all-bugs` over the same iterations).
"""

from __future__ import annotations

import argparse
import logging
import statistics

import testkit
from failover_examples import coffee_machine


def rate(iterations: int, workers: int, seed: int) -> float:
    report = testkit.explore(
        coffee_machine.execute_fixed,
        iterations=iterations,
        max_steps=2000,
        strategy="random",
        seed=seed,
        workers=workers,
    )
    assert report.bug is None, report.summary()
    return report.iterations / report.elapsed


def bugs(workers: int, seed: int) -> list[tuple[int, str]]:
    report = testkit.explore(
        coffee_machine.execute,
        iterations=200,
        max_steps=2000,
        strategy="random",
        seed=seed,
        workers=workers,
        stop_at_first_bug=False,
    )
    return [(bug.trace.iteration, bug.headline()) for bug in report.bugs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    ratios = []
    for round_ in range(args.rounds):
        one = rate(args.iterations, 1, seed=round_)
        many = rate(args.iterations, args.workers, seed=round_)
        ratios.append(many / one)
        print(
            f"round {round_}: workers=1 {one:,.0f} it/s, workers={args.workers} "
            f"{many:,.0f} it/s: {many / one:.2f}x"
        )
    same = bugs(1, seed=7) == bugs(args.workers, seed=7)
    print(
        f"median ratio {statistics.median(ratios):.2f}x "
        f"(rounds {min(ratios):.2f}-{max(ratios):.2f}); same bugs in the buggy machine: {same}"
    )


if __name__ == "__main__":
    main()
