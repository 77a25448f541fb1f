"""How much `testkit.shrink` shortens the traces of the seeded bugs, how long it takes, and
how far the result is from the shortest failing schedule there is.

    python bench/shrinking.py [--seeds 10] [--iterations 100] [--max-steps 10000]
                              [--budget 30] [--minimum-budget 120] [--no-harder] [--only BUG]

For both failover examples and each seeded bug of tests/buggy_systems.py, over the seeds:
the bug as `explore` finds it with its defaults (portfolio, 100 iterations, max_steps
10,000, one process; `shrink=False`), then `shrink` with the budget. Reports the median and
worst shrunk/found length ratio (the baseline is the trace as found, in the same run), the
median and slowest shrink time, how often the budget ran out, and whether every shrunk trace
replays strictly to the same bug. Targets: median ratio <= 0.3 and never > 1; median time
<= 5 s; the budget never hit on the failover examples.

"minimum" is the shortest failing schedule there is, a floor no shrinker can go below:
found by exhaustive search (`shortest_failing`, timers ready at once) for the seeded bugs;
for a monitor hot too long at max_steps (never_served), whose runs are thousands of steps,
searched exhaustively at small liveness thresholds and carried over as threshold + c when
every small threshold gives the same c. The failover examples are too big to search: for
them the bench instead runs harder passes than the shrinker's (every pair of units deleted,
a timer firing deleted with its delivery, a unit moved later then one unit deleted) on each
shrunk trace and reports whether any got shorter. Prints a Markdown table for the README.
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
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.trace import Trace
from testkit._exploration.shrink import shrink_file
from testkit._shrinking.passes import run_passes
from testkit._shrinking.shortest import shortest_failing
from testkit._shrinking.shrinker import Shrinker, same_bug, strict_run
from testkit._shrinking.units import without
from tests import buggy_systems as systems

CASES: dict[str, tuple[Callable[..., Any], bool]] = {
    # name: (test, searchable: small enough for the exhaustive search)
    "coffee machine": (coffee_machine.execute, False),
    "drinks robot": (drinks_robot.execute, False),
    "lost_update": (systems.lost_update, True),
    "timer_race": (systems.timer_race, True),
    "dropped_request": (systems.dropped_request, True),
    "lost_on_restart": (systems.lost_on_restart, True),
    "never_served": (systems.never_served, True),
}
SMALL_THRESHOLDS = (8, 16)
"""Liveness thresholds at which a hot-at-max_steps bug is searched exhaustively."""


def hot_at_bound(test: Callable[..., Any], trace: Trace) -> bool:
    """Whether the trace's bug is a monitor hot too long when the run was cut off."""
    with Sandbox(10.0) as sandbox:
        runtime, bug = strict_run(test, trace, sandbox)
    return bug is not None and bug.kind == "liveness" and runtime.bound_reached


def minimum(test: Callable[..., Any], trace: Trace, budget: float) -> tuple[int | None, str]:
    """The shortest failing length for `trace`'s bug, and how it is known."""
    if not hot_at_bound(test, trace):
        result = shortest_failing(test, trace, budget)
        if result.trace is None:
            return None, "none shorter found"
        how = "exhaustive" if result.exhausted else "search cut off: an upper bound"
        return len(result.trace), how
    extras = set()
    for threshold in SMALL_THRESHOLDS:
        report = testkit.explore(
            test, max_steps=2 * threshold, liveness_threshold=threshold, seed=0, shrink=False
        )
        if report.bug is None:
            return None, f"no bug at threshold {threshold}"
        small = shortest_failing(test, report.bug.trace, budget)
        if small.trace is None or not small.exhausted:
            return None, f"search cut off at threshold {threshold}"
        extras.add(len(small.trace) - threshold)
    if len(extras) != 1:
        return None, f"threshold + {sorted(extras)} at thresholds {SMALL_THRESHOLDS}"
    extra = extras.pop()
    shown = ", ".join(f"{t}: {t + extra}" for t in SMALL_THRESHOLDS)
    return trace.liveness_threshold + extra, f"threshold + {extra}; exhaustive at {shown}"


def _delete_pairs(shrinker: Shrinker) -> None:
    index = 0
    while index < len(shrinker.best.units) and not shrinker.done:
        other = index + 2
        while other < len(shrinker.best.units) and not shrinker.done:
            units = shrinker.best.units
            if not shrinker.consider([u for k, u in enumerate(units) if k not in (index, other)]):
                other += 1
        index += 1


def _drop_timer_firings(shrinker: Shrinker) -> None:
    index = 0
    while index < len(shrinker.best.units) and not shrinker.done:
        units = shrinker.best.units
        label = units[index].label
        if label.startswith("timer "):
            delivery = next(
                (j for j in range(index + 1, len(units)) if units[j].label == label[6:]), None
            )
            if delivery is not None:
                shrinker.consider([u for k, u in enumerate(units) if k not in (index, delivery)])
        index += 1


def _move_later_then_delete(shrinker: Shrinker) -> None:
    for index in range(len(shrinker.best.units)):
        for later in range(index + 1, index + 12):
            units = shrinker.best.units
            if later >= len(units) or shrinker.done:
                break
            head, tail = units[: later + 1], units[later + 1 :]
            moved = [*head[:index], *head[index + 1 :], units[index], *tail]
            for cut in range(len(moved)):
                if shrinker.consider(without(moved, cut, cut + 1)):
                    break


def harder(test: Callable[..., Any], trace: Trace, budget: float) -> tuple[int, bool]:
    """The length after passes the shrinker does not run (then its own again), and whether
    the budget ran out first."""
    with Sandbox(10.0) as sandbox:
        _, bug = strict_run(test, trace, sandbox)
        assert bug is not None
        shrinker = Shrinker(test, trace, bug, sandbox, wall_clock() + budget, False)
        for extra_pass in (_delete_pairs, _drop_timer_firings, _move_later_then_delete):
            extra_pass(shrinker)
            run_passes(shrinker)
        return len(shrinker.best.steps), shrinker.timed_out


def spread(values: list[int]) -> str:
    low, high = min(values), max(values)
    middle = f"{statistics.median(values):g}"
    return middle if low == high else f"{middle} ({low}-{high})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--strategy", default="portfolio")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--max-steps", type=int, default=10_000)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--minimum-budget", type=float, default=120.0)
    parser.add_argument("--harder-budget", type=float, default=120.0)
    parser.add_argument("--no-harder", action="store_true", help="skip the harder passes")
    parser.add_argument("--only", action="append", choices=list(CASES), help="these bugs only")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the actors' own logs are not the point here
    print(
        f"explore: strategy {args.strategy}, {args.iterations} iterations, max_steps "
        f"{args.max_steps}, one process, shrink=False; shrink budget {args.budget:g} s\n"
    )
    print("| bug | found (seeds) | found steps median (range) | shrunk steps median (range) "
          "| shrunk/found median (worst) | minimum possible | minimum/found median "
          "| shrink s median (max) | budget hit | same bug on replay |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios_all: list[float] = []
    seconds_all: list[float] = []
    notes: list[str] = []
    for name, (test, searchable) in CASES.items():
        if args.only and name not in args.only:
            continue
        found: list[Trace] = []
        shrunk, ratios, seconds = [], [], []
        hit = same = 0
        for seed in range(args.seeds):
            report = testkit.explore(
                test, iterations=args.iterations, max_steps=args.max_steps,
                strategy=args.strategy, seed=seed, shrink=False,
            )  # fmt: skip
            bug = report.bug
            if bug is None:
                continue
            result = shrink_file(test, bug.trace, args.budget, 10.0)
            again = testkit.replay(test, result.trace).bug
            same += again is not None and same_bug(bug, again)
            hit += result.timed_out
            found.append(bug.trace)
            shrunk.append(len(result.trace))
            ratios.append(len(result.trace) / len(bug.trace))
            seconds.append(result.seconds)
            if not searchable and not args.no_harder:
                length, out = harder(test, result.trace, args.harder_budget)
                notes.append(
                    f"{name} seed {seed}: harder passes {len(result.trace)} -> {length} steps"
                    + (" (budget ran out)" if out else "")
                )
        ratios_all.extend(ratios)
        seconds_all.extend(seconds)
        if not ratios:
            print(f"| {name} | 0/{args.seeds} | | | | | | | | |")
            continue
        lengths = [len(trace) for trace in found]
        least: int | None = None
        how = "too big to search"
        if searchable:
            least, how = minimum(test, found[0], args.minimum_budget)
        floor = "n/a" if least is None else f"{least:g}"
        floor_ratio = "" if least is None else f"{least / statistics.median(lengths):.2f}"
        print(
            f"| {name} | {len(ratios)}/{args.seeds} | {spread(lengths)} | {spread(shrunk)} "
            f"| {statistics.median(ratios):.2f} ({max(ratios):.2f}) | {floor} ({how}) "
            f"| {floor_ratio} | {statistics.median(seconds):.2f} ({max(seconds):.2f}) | {hit} "
            f"| {same}/{len(ratios)} |",
            flush=True,
        )
    time_median = statistics.median(seconds_all)
    print(f"\nall bugs: median ratio {statistics.median(ratios_all):.2f}, "
          f"worst {max(ratios_all):.2f}; shrink time median {time_median:.2f} s, "
          f"max {max(seconds_all):.2f} s")  # fmt: skip
    print("\n".join(notes))


if __name__ == "__main__":
    main()
