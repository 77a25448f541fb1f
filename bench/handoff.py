"""The test function as a greenlet vs on a thread: the engine of this tree vs a baseline
commit (the thread handoff engine), measured in the same run.

    python bench/handoff.py [--baseline-ref 4780dde] [--rounds 3]

Two measures, each in a fresh process per tree (the baseline is `git archive`d to a
temporary directory):
- steps/s of a test function that sends 10,000 messages one by one to an FSM (every send
  hands control to the scheduler and back: the handoff the greenlets make cheap);
  target >= 10x;
- iterations/s of both failover examples' fixed variants (`random`, max_steps 2000);
  target >= 2x.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys, time
from typing import Any
import pykka
import testkit
from fsm import FSM, Event, State
from failover_examples import coffee_machine, drinks_robot

class Sink(FSM, pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.start_with("on", 0)
        self.when("on", self.on)
        self.initialize()

    def on(self, event: Event) -> State:
        return self.stay().using(event.data + 1)

def sends(runtime: Any) -> None:
    sink = Sink.start()
    for n in range(10_000):
        sink.tell(n)

def rate(test: Any, iterations: int) -> tuple[float, float]:
    report = testkit.explore(test, iterations=iterations, max_steps=25_000, strategy="random",
                             seed=1, watchdog=None)
    assert report.bug is None, report
    return report.steps_per_second, report.iterations_per_second

out = {
    "send_steps_per_s": rate(sends, 5)[0],
    "coffee_it_per_s": rate(coffee_machine.execute_fixed, int(sys.argv[1]))[1],
    "robot_it_per_s": rate(drinks_robot.execute_fixed, int(sys.argv[1]))[1],
}
print(json.dumps(out))
"""


def measure(tree: Path, iterations: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(iterations)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def export(ref: str, target: Path) -> Path:
    archive = target / "baseline.tar"
    with archive.open("wb") as handle:
        subprocess.run(["git", "archive", ref], cwd=ROOT, stdout=handle, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target / "tree", filter="data")
    return target / "tree"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="4780dde")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        baseline = export(args.baseline_ref, Path(tmp))
        ratios: dict[str, list[float]] = {}
        for round_ in range(args.rounds):
            before = measure(baseline, args.iterations)
            after = measure(ROOT, args.iterations)
            line = []
            for key in before:
                ratios.setdefault(key, []).append(after[key] / before[key])
                line.append(f"{key} {before[key]:,.0f} -> {after[key]:,.0f}")
            print(f"round {round_ + 1}: " + "; ".join(line))
    for key, values in ratios.items():
        target = 10 if key.startswith("send") else 2
        print(
            f"{key}: {statistics.median(values):.1f}x median "
            f"(rounds {min(values):.1f}-{max(values):.1f}; target >= {target}x)"
        )


if __name__ == "__main__":
    main()
