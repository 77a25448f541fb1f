"""How fast the tester finds each failover example's seeded bug, per strategy.

    python bench/failover_bugs.py [--seeds 10] [--iterations 1000] [--max-steps 2000]

For each example and strategy: iterations/s on the fixed variant (a full budget of
iterations with no bug to stop at), and over the seeds the median number of iterations and
seconds to the first bug of the shipped variant (and how many seeds found it). Prints a
Markdown table for the README.
"""

from __future__ import annotations

import argparse
import logging
import statistics
from collections.abc import Callable
from typing import Any

import testkit
from failover_examples import coffee_machine, drinks_robot

EXAMPLES: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "coffee machine": (coffee_machine.execute, coffee_machine.execute_fixed),
    "drinks robot": (drinks_robot.execute, drinks_robot.execute_fixed),
}
STRATEGIES = ["random", "pct", "fair-pct", "prioritization", "probabilistic", "portfolio"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--fixed-iterations", type=int, default=300)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the actors' own logs are not the point here
    print("| example | strategy | iterations/s (fixed) | found (seeds) | median iterations to bug "
          "| median seconds to bug |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, (buggy, fixed) in EXAMPLES.items():
        for strategy in STRATEGIES:
            clean = testkit.explore(
                fixed, args.fixed_iterations, args.max_steps, strategy=strategy, seed=1
            )
            assert clean.bug is None, clean.bug
            iterations, seconds = [], []
            for seed in range(1, args.seeds + 1):
                report = testkit.explore(
                    buggy, args.iterations, args.max_steps, strategy=strategy, seed=seed
                )
                if report.bug is not None:
                    iterations.append(report.iterations)
                    seconds.append(report.elapsed)
            median_its = f"{statistics.median(iterations):g}" if iterations else "-"
            median_s = f"{statistics.median(seconds):.3f}" if seconds else "-"
            print(
                f"| {name} | {strategy} | {clean.iterations_per_second:,.0f} | "
                f"{len(iterations)}/{args.seeds} | {median_its} | {median_s} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
