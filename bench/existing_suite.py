"""The cost of running an existing test suite under the tester: `tests/thirdparty_style` run
normally (real threads) vs `pytest --testkit-explore 1` (one seeded schedule per test), wall
time of the whole pytest process, in alternating rounds. Target: ratio <= 3x.

The seeded race's test is deselected (a bug found is shrunk and replayed, which is not the
cost of running a passing suite); `--with-race` keeps it.

    python bench/existing_suite.py [--rounds 5] [--with-race]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "thirdparty_style"
RACE = "not test_a_new_user_is_welcomed"


def run(extra: list[str], with_race: bool) -> float:
    """Seconds one pytest process takes over the suite."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    select = [] if with_race else ["-k", RACE]
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "testkit.pytest_plugin",
        "-p", "no:cacheprovider", *select, *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, cwd=SUITE, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"pytest failed to run:\n{done.stdout}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--with-race", action="store_true")
    args = parser.parse_args()
    normal: list[float] = []
    explored: list[float] = []
    for round_ in range(args.rounds):
        normal.append(run([], args.with_race))
        explored.append(
            run(["--testkit-explore", "1", "--testkit-seed", str(round_)], args.with_race)
        )
        print(
            f"round {round_ + 1}: normal {normal[-1]:.2f} s, "
            f"--testkit-explore 1 {explored[-1]:.2f} s"
        )
    ratios = [e / n for n, e in zip(normal, explored, strict=True)]
    print(
        f"median: normal {statistics.median(normal):.2f} s, --testkit-explore 1 "
        f"{statistics.median(explored):.2f} s, ratio {statistics.median(ratios):.2f}x "
        f"(rounds {min(ratios):.2f}-{max(ratios):.2f}x; target <= 3x); load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
