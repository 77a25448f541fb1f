"""The test function as a greenlet vs on a thread: the engine of this tree vs a baseline
commit (the thread handoff engine), measured in the same run.

    python bench/handoff.py [--baseline-ref 4780dde] [--rounds 3] [--decompose]

Two measures, each in a fresh process per tree (the baseline is `git archive`d to a
temporary directory):
- steps/s of a test function that sends 10,000 messages one by one to an FSM (every send
  hands control to the scheduler and back: the handoff the greenlets make cheap);
  target >= 10x;
- iterations/s of both failover examples' fixed variants (`random`, max_steps 2000);
  target >= 2x.

`--decompose` splits the same work instead into the examples' and test's own code ("user"),
the FSM mixin, Pykka and the engine: the shares of cProfile self time (every thread profiled,
standard-library and builtin calls charged to their callers, waits for the other thread left
out) applied to the unprofiled CPU time (both threads of the baseline; CPU time, as other
processes' load makes wall time vary by 2x here), in microseconds per send step or per
iteration. cProfile charges its own per-call cost to the caller, so code that makes many
small calls (the engine's loop, the FSM's dispatch) reads somewhat high.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from _baseline import ROOT, export, run_probe

PROBE_HEAD = r"""
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

"""

PROBE = (
    PROBE_HEAD
    + r"""
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
)


DECOMPOSE = (
    PROBE_HEAD
    + r"""
import cProfile, pstats, threading

PROFILES: list[Any] = []

def _boot(frame: Any, event: str, arg: Any) -> None:  # profiles each new thread as well
    sys.setprofile(None)
    prof = cProfile.Profile()
    PROFILES.append(prof)
    prof.enable()

WAITS = (  # a thread blocked until the other hands over
    "<method 'acquire' of '_thread.lock' objects>",
    "<method 'acquire' of '_thread.RLock' objects>",
    "<method 'get' of '_queue.SimpleQueue' objects>",
    "wait",
)

def category(key: tuple[str, int, str]) -> str | None:
    filename, _, name = key
    if name in WAITS and (filename == "~" or filename.endswith("threading.py")):
        return "wait"
    if "/failover_examples/" in filename or filename == "<string>":
        return "user"
    if "/fsm/" in filename:
        return "fsm"
    if "/testkit/" in filename or "greenlet" in filename or "freezegun" in filename:
        return "engine"
    if "/pykka/" in filename:
        return "pykka"
    return None  # the standard library or a builtin: charged to its callers

def shares(stats: dict[Any, Any]) -> dict[str, float]:
    memo: dict[Any, dict[str, float]] = {}

    def weights(key: Any, depth: int = 0) -> dict[str, float]:
        if key in memo:
            return memo[key]
        own = category(key)
        if own is not None or depth > 40 or key not in stats:
            memo[key] = {own or "pykka": 1.0}
            return memo[key]
        memo[key] = {"pykka": 1.0}  # a cycle: provisional
        mix: dict[str, float] = {}
        callers = stats[key][4]
        total = sum(edge[2] for edge in callers.values()) or 1.0
        for caller, edge in callers.items():
            for cat, w in weights(caller, depth + 1).items():
                mix[cat] = mix.get(cat, 0.0) + w * edge[2] / total
        memo[key] = mix or {"pykka": 1.0}
        return memo[key]

    out: dict[str, float] = {}
    for key, (_, _, tottime, _, _) in stats.items():
        for cat, w in weights(key).items():
            out[cat] = out.get(cat, 0.0) + tottime * w
    return out

def decompose(test: Any, iterations: int, unit: int) -> dict[str, float]:
    def run() -> Any:
        return testkit.explore(test, iterations=iterations, max_steps=25_000,
                               strategy="random", seed=1, watchdog=None)
    run()  # warm up
    started = time.process_time()
    report = run()
    plain = time.process_time() - started
    PROFILES.clear()
    threading.setprofile(_boot)
    main = cProfile.Profile()
    main.enable()
    run()
    main.disable()
    threading.setprofile(None)
    stats = pstats.Stats(main)
    for prof in PROFILES:
        stats.add(prof)
    parts = shares(stats.stats)  # type: ignore[attr-defined]
    parts.pop("wait", None)  # a thread waiting while the other runs: not time of its own
    per_unit = plain * 1e6 / (report.steps if unit == 0 else report.iterations)
    seen = sum(parts.values())
    cats = ("user", "fsm", "pykka", "engine")
    return {cat: parts.get(cat, 0.0) / seen * per_unit for cat in cats}

print(json.dumps({
    "send step": decompose(sends, 1, 0),
    "coffee iteration": decompose(coffee_machine.execute_fixed, int(sys.argv[1]), 1),
    "robot iteration": decompose(drinks_robot.execute_fixed, int(sys.argv[1]), 1),
}))
"""
)


def measure(tree: Path, iterations: int, probe: str = PROBE) -> dict[str, Any]:
    return run_probe(tree, probe, iterations)


def decompose(baseline: Path, tree: Path, iterations: int, rounds: int) -> None:
    """Print where the time of a send step and of each example's iteration goes, in each
    tree, and the ratio a zero-cost engine would give over the baseline."""
    parts: dict[str, dict[str, dict[str, list[float]]]] = {"baseline": {}, "this tree": {}}
    for _ in range(rounds):
        for name, where in (("baseline", baseline), ("this tree", tree)):
            for what, split in measure(where, iterations, DECOMPOSE).items():
                for cat, us in split.items():
                    parts[name].setdefault(what, {}).setdefault(cat, []).append(us)
    cats = ("user", "fsm", "pykka", "engine")
    print(f"median of {rounds} round(s), microseconds: " + ", ".join(cats) + " = total")
    for what in parts["baseline"]:
        median = {
            name: {cat: statistics.median(parts[name][what][cat]) for cat in cats} for name in parts
        }
        for name in parts:
            row = median[name]
            text = ", ".join(f"{cat} {row[cat]:,.1f}" for cat in cats)
            print(f"  {what:17} {name:9}: {text} = {sum(row.values()):,.1f}")
        before = sum(median["baseline"].values())
        after = sum(median["this tree"].values())
        rest = after - median["this tree"]["engine"]
        print(
            f"  {what:17} ratio now {before / after:.2f}x; with a zero-cost engine at most "
            f"{before / rest:.2f}x (the baseline's total over this tree's user + fsm + pykka)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="4780dde")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument(
        "--decompose",
        action="store_true",
        help="instead: split one send step and one iteration of each fixed failover example "
        "into user code, FSM mixin, Pykka and engine (us), for both trees",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        baseline = export(args.baseline_ref, Path(tmp))
        if args.decompose:
            decompose(baseline, ROOT, args.iterations, args.rounds)
            return
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
