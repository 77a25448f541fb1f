"""The fixed cost of one `explore` (what `pytest --testkit-explore` pays once per test): this
tree vs a baseline commit, each in a fresh process, rounds alternating.

    python bench/explore_setup.py [--baseline-ref fb3c53c] [--rounds 5] [--runs 200]

Each probe imports what a real suite's process holds (pytest, Pykka, the testkit, asyncio,
email, http, json, logging, sqlite3, unittest, xml, and dask.distributed when it is
installed: some 600 modules), then times `--runs` explores of a test function that does
nothing, 3 schedules each, in CPU ms per explore. Most of it is freezegun's start, which looks
through every imported module for names bound to the real clock. The default baseline is main
before the sandbox kept freezegun from taking every module's `dir()` on every start.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from _baseline import ROOT, export, run_probe

PROBE = r"""
import importlib, json, sys, time
for name in ("asyncio", "email.mime.text", "http.server", "json", "logging.handlers",
             "sqlite3", "unittest.mock", "xml.etree.ElementTree", "pytest", "pykka",
             "dask.distributed"):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
import testkit

def nothing(runtime):
    pass

runs = int(sys.argv[1])
testkit.explore(nothing, iterations=3, seed=1, progress=False)
started = time.process_time()
for _ in range(runs):
    testkit.explore(nothing, iterations=3, seed=1, progress=False)
cpu = time.process_time() - started
print(json.dumps({"ms": cpu * 1e3 / runs, "modules": len(sys.modules)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="fb3c53c")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        trees = {
            "baseline": export(args.baseline_ref, Path(scratch)),
            "this tree": ROOT,
        }
        found: dict[str, list[float]] = {tree: [] for tree in trees}
        modules = 0
        for _ in range(args.rounds):
            for tree, path in trees.items():
                result = run_probe(path, PROBE, args.runs)
                found[tree].append(result["ms"])
                modules = result["modules"]
    print(f"one explore of an empty test, 3 schedules, {modules} modules imported (CPU ms):")
    for tree, values in found.items():
        rounds = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {tree:10} {statistics.median(values):6.2f}  (rounds {rounds})")
    ratio = statistics.median(found["baseline"]) / statistics.median(found["this tree"])
    print(f"this tree is {ratio:.2f}x as fast")
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
