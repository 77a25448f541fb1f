"""Where the CPU time of an iteration goes, this tree vs a baseline commit, side by side in one
run: the examples' own code ("user"), the FSM mixin, Pykka and the engine (issue 24).

    python bench/decompose.py [--baseline-ref 1f2ea81] [--rounds 3] [--iterations 300]
                              [--instructions] [--instructions-only]

Three workloads, each under `explore` with its defaults (coverage and the watchdog on) but
`strategy="random"`, `seed=1`, `max_steps=2000`: the fixed coffee machine and the fixed drinks
robot (`failover_examples.*:execute_fixed`), and the proxy-heavy plain-Pykka workload of
`bench/proxy_calls.py` (its actors count as "user"; there is no FSM in it, but importing
`fsm` installs its per-class proxy introspection cache, `fsm/_proxy_cache.py`, which runs in
every proxy made and is charged to "fsm"). The default baseline, 1f2ea81, is main's tip
before issue 24's work.

How it is measured. Each tree runs in a fresh process per round (the baseline is
`git archive`d to a temporary directory; the rounds alternate). The total is CPU time per
iteration (`time.process_time` over a run of `--iterations`, after a warm-up run), which other
processes' load disturbs less than wall time. The split comes from a second run of the same
iterations under a sampler (`bench/_frame_sampler.c`, compiled here with the C compiler;
CPython 3.11): a POSIX timer on the wall clock (CPU-clock timers tick too coarsely on some
kernels) interrupts the thread every 100 µs, a tick that falls while another process has the
CPU lands where the thread resumes, and a C signal handler reads the
thread's innermost Python frame at that instant and charges the sample to the first frame
outwards whose function belongs to a part, by the module that defined it (`failover_examples`
and the workload: user; `fsm`; `pykka`; `testkit`, `greenlet`, `freezegun`: engine). The
standard library and builtins are charged to their caller that way; nothing runs per call, so
small functions are not overcharged (cProfile's per-call cost is), and a sample inside a
builtin is charged to the frame that called it, not shifted to the next function entered (as
a Python-level signal handler would). The samples of all rounds are pooled into shares, which
split the median CPU time. About 10,000 samples per CPU second: a share's standard error is
under half a percentage point. The testkit frame at the bottom of every scheduler and test
function greenlet (`testkit/_engine/greenlet_pool.py`) charges to the engine what has no Python
frame above it (a greenlet being made or switched); a tree without it counts those samples
"outside the parts", left out of its shares.

`--instructions` also counts instructions per iteration with valgrind's callgrind (the same
runs, `--iterations-valgrind` of them, callgrind's counts zeroed after the warm-up and dumped
after the run, PYTHONHASHSEED=0): exact and repeatable whatever else the machine runs, the
measure for deciding whether a change made an iteration cheaper.

For this tree it also says how much of the iteration the delivery loop (`Runtime._burst`,
`Mailbox.put`, the enabled set, the trace's columns) and freezegun's clock take, and what the
engine's share would be were both free: how far rewriting the loop alone could go.

Targets: the engine at most 25% of the iteration's CPU time on all three workloads; the FSM
mixin no dearer than the examples' own code.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from _baseline import ROOT, export
from proxy_calls import WORKLOAD

PARTS = ("user", "fsm", "pykka", "engine")

PROBE = r"""
import gc, json, sys, time, types

sys.path.insert(0, sys.argv[1])
import _frame_sampler as sampler
import testkit
from failover_examples import coffee_machine, drinks_robot

workload_module = types.ModuleType("bench_workload")
sys.modules["bench_workload"] = workload_module
exec(sys.argv[2], workload_module.__dict__)
iterations = int(sys.argv[3])
mode = sys.argv[4]  # "time" or "instructions"

PART_OF = {"failover_examples": 1, "bench_workload": 1, "fsm": 2, "pykka": 3,
           "testkit": 4, "greenlet": 4, "freezegun": 4, "__main__": 5}

# the delivery loop: the scheduler's burst, a send, the enabled set, the trace's columns
LOOP_FILES = tuple(f"_engine/{name}.py" for name in ("runtime", "operations", "enabled", "compact"))
LOOP_NAMES = {"_burst", "put", "enable", "disable", "remove", "append"}

def register_code() -> None:
    # every function that exists now, by the module that defined it; nested code with it
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType):
            part = PART_OF.get((obj.__module__ or "").partition(".")[0], 0)
            todo = [obj.__code__]
            while todo:
                code = todo.pop()
                sampler.register(code, part)
                todo.extend(c for c in code.co_consts if isinstance(c, types.CodeType))

def run(test, n):
    return testkit.explore(test, iterations=n, max_steps=2000, strategy="random", seed=1)

def measure(name, test):
    run(test, max(iterations // 10, 3))  # warm up
    if mode == "instructions":
        sampler.zero()
        report = run(test, iterations)
        sampler.dump(name)
        return {"iterations": report.iterations, "steps": report.steps}
    gc.collect()
    started = time.process_time()
    report = run(test, iterations)
    cpu = time.process_time() - started
    assert report.bug is None, report.bug
    register_code()
    gc.collect()
    sampler.start(100, True)
    run(test, iterations)
    samples = sampler.stop()
    loop = clock = 0  # samples charged to the delivery loop and to freezegun's clock
    for code, _own, charged in sampler.hits():
        if code.co_filename.endswith(LOOP_FILES) and code.co_name in LOOP_NAMES:
            loop += charged
        elif "freezegun" in code.co_filename:
            clock += charged
    return {"us": cpu * 1e6 / report.iterations, "iterations": report.iterations,
            "steps": report.steps, "samples": list(samples), "loop": loop, "clock": clock}

out = {
    "coffee machine": measure("coffee", coffee_machine.execute_fixed),
    "drinks robot": measure("robot", drinks_robot.execute_fixed),
    "proxy calls": measure("proxy", workload_module.workload),
}
print(json.dumps(out))
"""

WORKLOADS = {"coffee machine": "coffee", "drinks robot": "robot", "proxy calls": "proxy"}


def build_sampler(where: Path) -> Path:
    """Compile `_frame_sampler.c` into `where`; the directory to put on `sys.path`."""
    source = Path(__file__).resolve().parent / "_frame_sampler.c"
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    include = sysconfig.get_paths()["include"]
    target = where / f"_frame_sampler{suffix}"
    cc = os.environ.get("CC", "cc")
    subprocess.run(
        [cc, "-O2", "-shared", "-fPIC", f"-I{include}", str(source), "-o", str(target), "-lrt"],
        check=True,
    )
    return where


def run_probe(tree: Path, sampler: Path, iterations: int, valgrind: Path | None) -> Any:
    """One fresh process of the probe against `tree`; under callgrind if `valgrind` (a
    directory for its output files) is given."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    mode = "time"
    command = [sys.executable, "-c", PROBE, str(sampler), WORKLOAD, str(iterations)]
    if valgrind is not None:
        env["PYTHONHASHSEED"] = "0"
        mode = "instructions"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={valgrind}/callgrind.out",
            "--dump-line=no",
            "--dump-instr=no",
            *command,
        ]
    done = subprocess.run(
        [*command, mode], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the probe failed in {tree}:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def instructions(out: Path) -> dict[str, int]:
    """Instructions of each dumped part (`dump(label)`) in callgrind's output files."""
    found: dict[str, int] = {}
    for path in sorted(out.glob("callgrind.out*")):
        text = path.read_text(errors="replace")
        label = re.search(r"^desc: Trigger: Client Request: (\S+)", text, re.M)
        total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if label and total:
            found[label.group(1)] = int(total.group(1))
    return found


def git_name(ref: str) -> str:
    done = subprocess.run(
        ["git", "log", "-1", "--format=%h %s", ref],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    line = done.stdout.strip()
    return line if len(line) < 90 else line[:87] + "..."


def show_split(name: str, results: dict[str, list[dict[str, Any]]]) -> None:
    """The split of one workload in both trees, and how it stands against the targets."""
    print(f"\n{name}: CPU µs per iteration (median total, split by the pooled samples)")
    print(f"  {'':10} {'user':>7} {'fsm':>7} {'pykka':>7} {'engine':>7} {'total':>7}  engine")
    rows: dict[str, dict[str, float]] = {}
    for tree, rounds in results.items():
        total = statistics.median(r["us"] for r in rounds)
        samples = [sum(r["samples"][i] for r in rounds) for i in range(9)]
        counted = sum(samples[1:5])
        row = {part: samples[1 + i] / counted * total for i, part in enumerate(PARTS)}
        rows[tree] = row
        other = samples[0] + samples[5]
        steps = rounds[0]["steps"] / rounds[0]["iterations"]
        print(
            f"  {tree:10} "
            + " ".join(f"{row[part]:7.1f}" for part in PARTS)
            + f" {total:7.1f}  {row['engine'] / total:6.1%}"
            f"   ({steps:.0f} steps/it, {counted:,} samples; {other / sum(samples[:6]):.1%} "
            f"outside the parts, {samples[8]:,} dropped; rounds "
            + ", ".join(f"{r['us']:.0f}" for r in rounds)
            + ")"
        )
    row = rows["this tree"]
    total = sum(row.values())
    rest = total - row["engine"]
    rounds = results["this tree"]
    counted = sum(sum(r["samples"][1:5]) for r in rounds)
    if "loop" in rounds[0] and counted:
        loop = sum(r["loop"] for r in rounds) / counted
        clock = sum(r["clock"] for r in rounds) / counted
        engine = row["engine"] / total
        print(
            f"  of it the delivery loop {loop:.1%}, freezegun's clock {clock:.1%}; were both "
            f"free, the engine would be {(engine - loop - clock) / (1 - loop - clock):.1%}"
        )
    print(
        f"  engine {row['engine'] / total:.1%} of the iteration (target <= 25%: "
        f"{'met' if row['engine'] <= 0.25 * total else 'missed'}); at 25% it may cost "
        f"{rest / 3:.0f} µs, a zero-cost engine would leave {rest:.0f} µs"
    )
    if name == "proxy calls":
        print("  (no FSM here: its fsm column is the sandbox's proxy introspection cache)")
    elif row["user"] > 0 and row["fsm"] > 0:
        print(
            f"  FSM mixin {row['fsm']:.0f} µs vs the examples' own {row['user']:.0f} µs "
            f"(target fsm <= user: {'met' if row['fsm'] <= row['user'] else 'missed'})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="1f2ea81")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--instructions", action="store_true", help="also count instructions")
    parser.add_argument(
        "--instructions-only", action="store_true", help="only count instructions (callgrind)"
    )
    parser.add_argument("--iterations-valgrind", type=int, default=30)
    args = parser.parse_args()
    print(f"baseline {git_name(args.baseline_ref)}; this tree: {git_name('HEAD')}", end="")
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(" (with uncommitted changes)" if dirty else "")
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        where = Path(scratch)
        baseline = export(args.baseline_ref, where)
        sampler = build_sampler(where)
        trees = {"baseline": baseline, "this tree": ROOT}
        if not args.instructions_only:
            results: dict[str, dict[str, list[dict[str, Any]]]] = {
                name: {tree: [] for tree in trees} for name in WORKLOADS
            }
            for _ in range(args.rounds):
                for tree, path in trees.items():
                    for name, found in run_probe(path, sampler, args.iterations, None).items():
                        results[name][tree].append(found)
            for name in WORKLOADS:
                show_split(name, results[name])
        if args.instructions or args.instructions_only:
            counted: dict[str, dict[str, float]] = {}
            for tree, path in trees.items():
                out = where / f"callgrind-{tree.replace(' ', '-')}"
                out.mkdir()
                found = run_probe(path, sampler, args.iterations_valgrind, out)
                parts = instructions(out)
                counted[tree] = {
                    name: parts[label] / found[name]["iterations"]
                    for name, label in WORKLOADS.items()
                }
            print(f"\ninstructions per iteration (callgrind, {args.iterations_valgrind} it.)")
            for name in WORKLOADS:
                before, after = counted["baseline"][name], counted["this tree"][name]
                print(
                    f"  {name:15} baseline {before:12,.0f}  this tree {after:12,.0f}  "
                    f"{after / before:.3f}x"
                )
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
