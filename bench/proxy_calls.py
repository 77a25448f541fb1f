"""Iterations/s of a proxy-heavy workload under the tester: this tree vs a baseline commit,
side by side in one run.

    python bench/proxy_calls.py [--baseline-ref main] [--rounds 5] [--iterations 200]

The workload is plain Pykka actors written as Pykka users write them: handlers that make a
fresh proxy of another actor, call one of its methods and wait for the value (`.get()`), a
traversable attribute, attribute reads through the proxy. Each tree runs it in a fresh
process per round (the baseline is `git archive`d to a temporary directory), alternating, and
the rate is iterations per CPU second of that process (`time.process_time`), which other
processes' load disturbs less than wall time; the medians of the rounds are compared.
Target: this tree >= 2x the baseline (issue 19: Pykka's introspection, once per class).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from _baseline import ROOT, export, run_probe

WORKLOAD = r"""
from typing import Any
import pykka

@pykka.traversable
class Ledger:
    def __init__(self) -> None:
        self.entries = 0

    def note(self, amount: int) -> int:
        self.entries += amount
        return self.entries

class Account(pykka.ThreadingActor):
    ledger = Ledger()

    def __init__(self) -> None:
        super().__init__()
        self.balance = 0
        self.owner = "someone"
        self.limits = {"daily": 100}

    def deposit(self, amount: int) -> int:
        self.balance += amount
        return self.balance

    def withdraw(self, amount: int) -> int:
        self.balance -= amount
        return self.balance

    def statement(self) -> int:
        return self.balance

    def close(self) -> None: ...
    def freeze(self) -> None: ...
    def rename(self, owner: str) -> None:
        self.owner = owner
    def audit(self) -> list[int]:
        return [self.balance]

class Teller(pykka.ThreadingActor):
    def __init__(self, account: pykka.ActorRef[Any], rounds: int) -> None:
        super().__init__()
        self.account = account
        self.rounds = rounds

    def on_receive(self, message: Any) -> Any:
        for n in range(self.rounds):
            proxy = self.account.proxy()  # a fresh proxy each time, as handlers often do
            proxy.deposit(n).get()
            proxy.ledger.note(1).get()
        return self.account.proxy().balance.get()

def workload(runtime: Any) -> None:
    account = Account.start()
    tellers = [Teller.start(account, 3) for _ in range(3)]
    for teller in tellers:
        teller.tell("serve")
        teller.tell("serve")
"""
"""Plain Pykka actors and the test function `workload` (Python source: `bench/decompose.py`
runs it too)."""

PROBE = (
    r"""
import json, sys, time
import testkit
"""
    + WORKLOAD
    + r"""
iterations = int(sys.argv[1])
testkit.explore(workload, iterations=5, max_steps=20_000, seed=2, watchdog=None)  # warm up
started = time.process_time()
report = testkit.explore(workload, iterations=iterations, max_steps=20_000, seed=1,
                         watchdog=None)
cpu = time.process_time() - started
assert report.bug is None, report.bug
print(json.dumps({"it_per_cpu_s": report.iterations / cpu, "steps": report.steps}))
"""
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="main")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        baseline = export(args.baseline_ref, Path(scratch))
        rates: dict[str, list[float]] = {"baseline": [], "this tree": []}
        steps: dict[str, Any] = {}
        for _ in range(args.rounds):
            for name, tree in (("baseline", baseline), ("this tree", ROOT)):
                result = run_probe(tree, PROBE, args.iterations)
                rates[name].append(result["it_per_cpu_s"])
                steps[name] = result["steps"]
    print(
        f"proxy-heavy workload, {args.iterations} iterations, median of {args.rounds} rounds "
        f"(iterations per CPU second); load average {load[0]:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    for name, values in rates.items():
        shown = ", ".join(f"{value:,.0f}" for value in values)
        print(
            f"  {name:9} ({args.baseline_ref if name == 'baseline' else 'HEAD'}): "
            f"{statistics.median(values):,.1f} it/s  [{shown}]  {steps[name]} steps"
        )
    ratio = statistics.median(rates["this tree"]) / statistics.median(rates["baseline"])
    print(f"  ratio {ratio:.2f}x (target >= 2x)")


if __name__ == "__main__":
    main()
