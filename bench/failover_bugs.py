"""How fast the tester finds each failover example's seeded bug, per strategy and form.

    python bench/failover_bugs.py [--seeds 10] [--iterations 1000] [--max-steps 2000]
        [--strategies portfolio,pct]

Each example comes in two forms: the seed's hand-written `FailoverDriver` (which kills and
restarts the machine itself), and the declared form (`execute_declared`: the crash and
restart are `testkit.Faults` the strategy injects). For each example, form and strategy:
iterations/s on the fixed variant (a full budget of iterations with no bug to stop at), and
over the seeds the median number of iterations and seconds to the first bug of the shipped
variant (and how many seeds found it). Prints a Markdown table for the README, the two forms
of an example on neighbouring rows.
"""

from __future__ import annotations

import argparse
import logging
import statistics
from collections.abc import Callable
from typing import Any

import testkit
from failover_examples import coffee_machine, drinks_robot, ledger

EXAMPLES: dict[str, tuple[Callable[..., Any], Callable[..., Any], testkit.Faults | None]] = {
    "coffee machine, hand-written": (coffee_machine.execute, coffee_machine.execute_fixed, None),
    "coffee machine, declared": (
        coffee_machine.execute_declared,
        coffee_machine.execute_declared_fixed,
        coffee_machine.FAULTS,
    ),
    "drinks robot, hand-written": (drinks_robot.execute, drinks_robot.execute_fixed, None),
    "drinks robot, declared": (
        drinks_robot.execute_declared,
        drinks_robot.execute_declared_fixed,
        drinks_robot.FAULTS,
    ),
    "ledger, hand-written": (ledger.execute, ledger.execute_fixed, None),
    "ledger, declared": (ledger.execute_declared, ledger.execute_declared_fixed, ledger.FAULTS),
}
STRATEGIES = ["random", "pct", "fair-pct", "prioritization", "probabilistic", "portfolio"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--fixed-iterations", type=int, default=300)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument(
        "--examples", default="", help="only the examples whose name contains this text"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the actors' own logs are not the point here
    print("| example, form | strategy | iterations/s (fixed) | found (seeds) | median iterations "
          "to bug | median seconds to bug |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for strategy in args.strategies.split(","):
        for name, (buggy, fixed, faults) in EXAMPLES.items():
            if args.examples not in name:
                continue
            clean = testkit.explore(
                fixed,
                args.fixed_iterations,
                args.max_steps,
                strategy=strategy,
                seed=1,
                faults=faults,
            )
            assert clean.bug is None, clean.bug
            iterations, seconds = [], []
            for seed in range(1, args.seeds + 1):
                report = testkit.explore(
                    buggy,
                    args.iterations,
                    args.max_steps,
                    strategy=strategy,
                    seed=seed,
                    faults=faults,
                    shrink=False,
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
