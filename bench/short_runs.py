"""Wall time of short command-line runs with the default `-j` (all cores): this tree vs a
baseline commit, each run a fresh `python -m testkit test ...` process, rounds interleaved.

    python bench/short_runs.py [--baseline-ref ed047b6] [--rounds 5]

Cases: the coffee machine's bug (`-i 400 --no-shrink`: found in the first few iterations),
the fixed coffee machine (`-i 400`, no bug: every iteration runs) and the same with `-j 1`.
The baseline started every worker process at once; this tree starts in the calling process
and spreads only when the run is long enough (issue 17, point 14). Besides the wall time it
prints the iterations/s each run's summary reports (which used to measure process start-up).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _baseline import ROOT, export

_COFFEE = "failover_examples.coffee_machine:execute"
CASES = {
    "coffee bug, -i 400, no shrinking": [_COFFEE, "-i", "400", "--no-shrink"],
    "coffee fixed, -i 400": [f"{_COFFEE}_fixed", "-i", "400"],
    "coffee fixed, -i 400 -j 1": [f"{_COFFEE}_fixed", "-i", "400", "-j", "1"],
}
_RATE = re.compile(r"([0-9,.]+) iterations/s")


def run(tree: Path, args: list[str], scratch: Path) -> tuple[float, float]:
    """Seconds the command took, and the iterations/s its summary printed."""
    scratch = Path(tempfile.mkdtemp(dir=scratch))  # an existing directory: both trees agree
    command = [sys.executable, "-m", "testkit", "test", *args, "--seed", "1", "--no-progress",
               "--max-steps", "2000", "--trace-out", str(scratch)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed in {tree}:\n{done.stdout}{done.stderr}")
    match = _RATE.search(done.stdout)
    return seconds, float(match.group(1).replace(",", "")) if match else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline-ref", default="ed047b6")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        base = export(args.baseline_ref, Path(folder))
        scratch = Path(folder) / "traces"
        scratch.mkdir()
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            for case, case_args in CASES.items():
                for label, tree in ((args.baseline_ref, base), ("this tree", ROOT)):
                    times.setdefault((case, label), []).append(run(tree, case_args, scratch))
        for case in CASES:
            old = times[(case, args.baseline_ref)]
            new = times[(case, "this tree")]
            old_s = statistics.median(s for s, _ in old)
            new_s = statistics.median(s for s, _ in new)
            print(
                f"{case}: {args.baseline_ref} {old_s:.2f} s "
                f"({statistics.median(r for _, r in old):,.0f} it/s reported), this tree "
                f"{new_s:.2f} s ({statistics.median(r for _, r in new):,.0f} it/s reported): "
                f"{old_s / new_s:.2f}x (rounds: {', '.join(f'{s:.2f}' for s, _ in old)} vs "
                f"{', '.join(f'{s:.2f}' for s, _ in new)})"
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
