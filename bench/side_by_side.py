"""Any bench script against a baseline commit's code and this tree's, rounds interleaved in one
run, each output line of the two beside the other with the ratio of its numbers.

    python bench/side_by_side.py [--baseline-ref 1f2ea81] [--rounds 3] SCRIPT [ARGS...]
    python bench/side_by_side.py bench/scheduler_steps.py --rounds 3 --steps 50000

SCRIPT runs in a fresh process per round and tree, with the tree (this one, or the baseline
`git archive`d to a temporary directory) first on PYTHONPATH and the tree's own copy of the
script (this tree's if the baseline has none), so only the code it measures differs. The
rounds alternate (baseline, this tree, baseline, ...) so that other processes' load falls
on both alike. For each line of output, the numbers of this tree over
the baseline's (median over the rounds) are printed beside the line: for a rate (steps/s,
it/s) above 1 is faster, for a time or a ratio of costs below 1 is.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _baseline import ROOT, export

NUMBER = re.compile(r"-?\d[\d,]*\.?\d*")


def run(script: Path, args: list[str], tree: Path) -> list[str]:
    """The output lines of one run of `script` against `tree`'s code: the tree's own copy of
    the script if it has one (a script may put its tree's root on `sys.path` itself)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    own = tree / script.relative_to(ROOT)
    done = subprocess.run(
        [sys.executable, str(own if own.exists() else script), *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{script} failed against {tree}:\n{done.stderr[-4000:]}")
    return [line for line in done.stdout.splitlines() if line.strip()]


def numbers(line: str) -> list[float]:
    return [float(n.replace(",", "")) for n in NUMBER.findall(line) if n not in {"-", ","}]


def skeleton(line: str) -> str:
    """The line without its numbers and its columns' padding: what two runs share."""
    return " ".join(NUMBER.sub("#", line).split())


def _text(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="1f2ea81")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    script = Path(args.script).resolve()
    load = os.getloadavg()
    print(f"{args.script} {' '.join(args.args)}: baseline {args.baseline_ref} vs this tree")
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        trees = {"baseline": export(args.baseline_ref, Path(scratch)), "this tree": ROOT}
        outputs: dict[str, list[list[str]]] = {tree: [] for tree in trees}
        for _ in range(args.rounds):
            for tree, path in trees.items():
                outputs[tree].append(run(script, args.args, path))
    old, new = outputs["baseline"], outputs["this tree"]
    for index, line in enumerate(new[-1]):
        same = [
            (numbers(a[index]), numbers(b[index]))
            for a, b in zip(old, new, strict=True)
            if index < len(a) and index < len(b) and skeleton(a[index]) == skeleton(b[index])
        ]
        print(f"  this tree: {line}")
        if len(same) == len(new) and same[0][0]:
            base = [statistics.median(r[0][i] for r in same) for i in range(len(same[0][0]))]
            ours = [statistics.median(r[1][i] for r in same) for i in range(len(same[0][1]))]
            ratios = ", ".join(
                f"{_text(b)} -> {_text(o)}" + (f" ({o / b:.2f}x)" if b and b != o else "")
                for b, o in zip(base, ours, strict=True)
            )
            print(f"    medians, baseline -> this tree: {ratios}")
        elif index < len(old[-1]):
            print(f"  baseline:  {old[-1][index]}")
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
