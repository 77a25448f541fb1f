"""How fast each strategy finds the protocol bugs of `bench/bugs/`, and PCT against its bound.

    python bench/strategies.py --check-fixed 2000   # the full table (10 seeds per cell)
    python bench/strategies.py --bugs raft_election,deep_race --strategies random,pct -s 3
    python bench/strategies.py --strategies portfolio,probabilistic+fair-pct -s 40  # candidates

Each cell runs `explore(buggy, ...)` for up to `--iterations` iterations or `--seconds`
seconds per seed, `max_steps` 2,000, and reports seeds that found the bug, the median
iterations and the median seconds to the bug (over the seeds that found it). Cells run in
`-j` processes, each cell in one process (so a strategy's learning is what one process does);
`--check-fixed N` runs every fixed variant N iterations with every strategy (no report
expected). A column `a+b+c` is a candidate portfolio taking those turns in that order (a
name given twice is one instance with two turns, as in `default_portfolio()`). Then PCT on
synthetic bugs of depth 1-3 beside the paper's bound, and the change points of the old and
new PCT on the Raft election.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import logging
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import testkit
from bench.bugs import SYSTEMS
from testkit._strategies import NAMES, PCTStrategy, PortfolioStrategy, Strategy, make_strategy

STRATEGIES = tuple(name for name in NAMES if name != "dfs")  # dfs exhausts, it does not sample
MAX_STEPS = 2000


def _quiet() -> None:
    logging.disable(logging.CRITICAL)


def strategy_of(spec: str) -> str | Strategy:
    """A strategy name, or a candidate portfolio `a+b+c` (one instance per distinct name)."""
    if "+" not in spec:
        return spec
    names = spec.split("+")
    instances = {name: make_strategy(name) for name in names}
    return PortfolioStrategy([instances[name] for name in names])


def _cell(
    job: tuple[str, str, int, int, float],
) -> tuple[str, str, int, int | None, float, int]:
    """One seed of one strategy on one bug: (bug, strategy, seed, iterations to bug, s,
    iterations run)."""
    _quiet()
    bug, strategy, seed, iterations, seconds = job
    test = importlib.import_module(f"bench.bugs.{bug}").buggy
    report = testkit.explore(
        test,
        iterations,
        MAX_STEPS,
        strategy_of(strategy),
        seed,
        time_budget=seconds,
        progress=False,
        shrink=False,  # finding is measured; shrinking a trace can take up to 30 s
    )
    found = report.bug.trace.iteration if report.bug is not None else None
    return bug, strategy, seed, found, report.elapsed, report.iterations


def _fixed(job: tuple[str, str, int]) -> tuple[str, str, int]:
    _quiet()
    bug, strategy, iterations = job
    test = importlib.import_module(f"bench.bugs.{bug}").fixed
    report = testkit.explore(
        test, iterations, MAX_STEPS, strategy_of(strategy), 1, progress=False, shrink=False
    )
    return bug, strategy, report.buggy_iterations


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(args: argparse.Namespace, pool: ProcessPoolExecutor) -> dict[tuple[str, str], Any]:
    jobs = [
        (bug, strategy, seed, args.iterations, args.seconds)
        for bug in args.bugs
        for strategy in args.strategies
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]
    cells: dict[tuple[str, str], list[tuple[int | None, float]]] = {}
    ran: dict[tuple[str, str], int] = {}
    for bug, strategy, _, found, elapsed, run in pool.map(_cell, jobs):
        cells.setdefault((bug, strategy), []).append((found, elapsed))
        ran[(bug, strategy)] = ran.get((bug, strategy), 0) + run
    print(
        f"\nfound / {args.seeds} seeds, median iterations, median seconds "
        f"(up to {args.iterations:,} iterations or {args.seconds:g} s per seed, "
        f"max_steps {MAX_STEPS})\n"
    )
    print("| bug | " + " | ".join(args.strategies) + " |")
    print("|---" * (len(args.strategies) + 1) + "|")
    summary: dict[tuple[str, str], Any] = {}
    for bug in args.bugs:
        story = importlib.import_module(f"bench.bugs.{bug}").STORY
        row = []
        for strategy in args.strategies:
            runs = cells[(bug, strategy)]
            hits = [(f, s) for f, s in runs if f is not None]
            its = _median([f for f, _ in hits])
            secs = _median([s for _, s in hits])
            summary[(bug, strategy)] = (len(hits), its, len(hits) / ran[(bug, strategy)])
            row.append(
                f"{len(hits)}/{len(runs)}, {its:g} it, {secs:.2f} s" if hits else f"0/{len(runs)}"
            )
        print(f"| {story} | " + " | ".join(row) + " |")
    return summary


def targets(args: argparse.Namespace, summary: dict[tuple[str, str], Any]) -> None:
    print("\ntargets:")
    beaten = 0
    for bug in args.bugs:
        base = summary.get((bug, "random"))
        others = (
            [
                (its, s)
                for (b, s), (n, its, _) in summary.items()
                if b == bug
                and s not in ("random", "portfolio")
                and "+" not in s
                and n >= base[0]
                and n
            ]
            if base
            else []
        )
        best = min(others) if others else None
        if base and best and base[1] >= 2 * best[0]:
            beaten += 1
            print(f"  {bug}: {best[1]} beats random by {base[1] / best[0]:.1f}x")
        for (b, s), (n, _, _) in summary.items():
            if b == bug and base and base[0] >= 8 and n <= 2:
                print(f"  {bug}: {s} finds {n}/{args.seeds} where random finds {base[0]}")
        for port_name in [s for s in args.strategies if s == "portfolio" or "+" in s]:
            port = summary[(bug, port_name)]
            singles = [
                (its, rate)
                for (b, s), (n, its, rate) in summary.items()
                if b == bug and s != "portfolio" and "+" not in s and n == args.seeds
            ]
            best_single = min(its for its, _ in singles) if singles else float("nan")
            best_rate = max(rate for _, rate in singles) if singles else float("nan")
            print(
                f"  {bug}: {port_name} {port[0]}/{args.seeds}, {port[1]:g} it "
                f"(best single strategy with {args.seeds}/{args.seeds}: {best_single:g} it, "
                f"{port[1] / best_single:.2f}x; best rate / its rate: "
                f"{best_rate / port[2]:.2f}x)"
            )
    print(f"  a non-random strategy beats random by 2x or more on {beaten}/{len(args.bugs)} bugs")


def portfolio_median(rates: list[float]) -> float:
    """The median iterations to the bug of members with these per-iteration find rates, taken
    in turn one per iteration (inf when none can find it)."""
    if not any(rates):
        return float("inf")
    missed = 1.0
    iteration = 0
    while missed > 0.5:
        missed *= 1 - rates[iteration % len(rates)]
        iteration += 1
    return float(iteration)


def choose_portfolio(
    args: argparse.Namespace, summary: dict[tuple[str, str], Any], size: int = 4
) -> None:
    """Every sequence of up to `size` turns taken by single strategies (a strategy may take
    several turns), each member's rate on each bug estimated as the seeds that found it over
    all the iterations its seeds ran (the geometric distribution's maximum-likelihood
    estimate: far less noisy than one derived from the median of 10 seeds, which made the
    lucky low medians of the pct columns look like rates twice their true ones): the
    sequences whose worst estimated ratio to the best single strategy is lowest."""
    singles = [s for s in args.strategies if s != "portfolio" and "+" not in s]
    rate: dict[tuple[str, str], float] = {}
    best: dict[str, float] = {}
    for bug in args.bugs:
        for s in singles:
            found, _, rate[(bug, s)] = summary[(bug, s)]
            if found == args.seeds:  # estimated the same way as the portfolios
                best[bug] = min(best.get(bug, float("inf")), portfolio_median([rate[(bug, s)]]))
    ranked = []
    for k in range(1, size + 1):
        for members in itertools.product(singles, repeat=k):
            ratios = [
                portfolio_median([rate[(bug, m)] for m in members]) / best[bug]
                for bug in args.bugs
                if bug in best
            ]
            ranked.append((max(ratios), k, statistics.fmean(ratios), members))
    ranked.sort()
    print(f"\nportfolios of up to {size} turns (estimated worst and mean ratio to the best):")
    for worst, _, mean, members in ranked[:8]:
        print(f"  {', '.join(members)}: worst {worst:.2f}x, mean {mean:.2f}x")
    for k in range(1, size + 1):
        worst, _, mean, members = min(r for r in ranked if r[1] == k)
        print(f"  best of {k}: {', '.join(members)}: worst {worst:.2f}x, mean {mean:.2f}x")


def depth_bound(iterations: int) -> None:
    """PCT with d-1 change points on the synthetic depth-d bugs, beside 1/(n*k^(d-1))."""
    _quiet()
    from bench.bugs import depth

    n = depth.WORKERS + 1  # the workers' mailboxes and the test function
    print(f"\nPCT on synthetic bugs of depth d ({iterations:,} iterations each, seed 1):\n")
    print("| d | strategy | found per iteration | random | bound 1/(n*k^(d-1)) | n | k |")
    print("|---|---|---|---|---|---|---|")
    for d in (1, 2, 3):
        test = getattr(depth, f"depth{d}")
        pct = PCTStrategy(d)
        found = testkit.explore(
            test, iterations, 500, pct, 1, stop_at_first_bug=False, shrink=False
        )
        rand = testkit.explore(
            test, iterations, 500, "random", 1, stop_at_first_bug=False, shrink=False
        )
        k = pct.expected_decisions
        bound = 1 / (n * k ** (d - 1))
        rate = found.buggy_iterations / found.iterations
        print(
            f"| {d} | pct:{d} | {rate:.4f} | {rand.buggy_iterations / rand.iterations:.4f} "
            f"| {bound:.4f} | {n} | {k} |"
        )


def change_points(iterations: int) -> None:
    """How many of PCT's change points change the schedule: the old placement (over all step
    numbers) and the paper's (over scheduling decisions), on the Raft election."""
    _quiet()
    from bench.bugs import raft_election

    class OldPlacement(PCTStrategy):
        """Change points drawn from all step numbers of the longest run (the old PCT)."""

        def __init__(self) -> None:
            super().__init__(4)  # the old pct:3 had 3 change points
            self.longest = 0
            self.planned = 0

        def begin(self, iteration: int, rng: Any, max_steps: int) -> bool:
            super().begin(iteration, rng, max_steps)
            count = min(3, self.longest)
            self._steps = set(rng.sample(range(self.longest), count)) if count else set()
            self.planned += count
            return True

        def pick(self, enabled: Any, step: int) -> Any:
            self._change_points = {self._decisions} if step in self._steps else set()
            return super().pick(enabled, step)

        def end(self, steps: int) -> None:
            super().end(steps)
            self.longest = max(self.longest, steps)

    print(f"\nPCT change points on the Raft election ({iterations:,} iterations, seed 1):\n")
    print("| placement | planned per iteration | effective per iteration | bugs found |")
    print("|---|---|---|---|")
    for label, strategy in (("over all steps (old)", OldPlacement()), ("over decisions", None)):
        pct = strategy or PCTStrategy(3)
        effective = 0
        planned = 0
        found = 0
        for i in range(iterations):
            report = testkit.explore(
                raft_election.buggy, 1, MAX_STEPS, pct, 1_000 + i, progress=False, shrink=False
            )
            effective += pct.effective_changes
            planned += len(pct._change_points) if strategy is None else 0
            found += report.bug is not None
        if strategy is not None:
            planned = strategy.planned
        print(f"| {label} | {planned / iterations:.2f} | {effective / iterations:.2f} | {found} |")


def raft_evidence(iterations: int) -> None:
    """Why strict priorities rarely elect two leaders: how often a term has two candidates,
    and how often the first candidate's requests are all answered before a second stands."""
    _quiet()
    from bench.bugs import raft_election

    print(f"\nRaft election, fixed variant ({iterations:,} iterations, seed 1):\n")
    print("| strategy | runs with a split term (two candidates) | two leaders (buggy variant) |")
    print("|---|---|---|")
    for name in ("random", "pct", "prioritization", "pos", "rl"):
        strategy = make_strategy(name)
        split = 0
        for i in range(iterations):
            testkit.explore(raft_election.fixed, 1, MAX_STEPS, strategy, 1 + i, progress=False)
            split += any(len(c) > 1 for c in raft_election.CANDIDATES.values())
        buggy = testkit.explore(
            raft_election.buggy,
            iterations,
            MAX_STEPS,
            name,
            1,
            stop_at_first_bug=False,
            shrink=False,
        )
        print(f"| {name} | {split / iterations:.0%} | {buggy.buggy_percent:.0f}% |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bugs", default=",".join(SYSTEMS))
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("-s", "--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("-i", "--iterations", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--check-fixed", type=int, default=0, metavar="N")
    parser.add_argument("--no-table", action="store_true")
    parser.add_argument(
        "--choose-portfolio", action="store_true", help="rank portfolios built from the table"
    )
    parser.add_argument("--depth-iterations", type=int, default=3000)
    args = parser.parse_args()
    args.bugs = args.bugs.split(",")
    args.strategies = args.strategies.split(",")
    for name in args.strategies:
        for member in name.split("+"):
            make_strategy(member)
    _quiet()
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        if args.check_fixed:
            jobs = [(b, s, args.check_fixed) for b in args.bugs for s in args.strategies]
            bad = [(b, s, n) for b, s, n in pool.map(_fixed, jobs) if n]
            print(f"fixed variants, {args.check_fixed:,} iterations each: reports {bad or 'none'}")
        if not args.no_table:
            summary = table(args, pool)
            targets(args, summary)
            if args.choose_portfolio:
                choose_portfolio(args, summary)
    if args.depth_iterations:
        depth_bound(args.depth_iterations)
        change_points(300)
        raft_evidence(300)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
