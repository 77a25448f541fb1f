"""How many FSMs a process can hold: 100,000 on the shared pool vs as many threads as fit.

    python bench/pool_scale.py [--actors N] [--budget SECONDS]

Each FSM has one state timeout and one named timer (both an hour, so they are pending all
along). Each side runs in a process of its own: start N FSMs, read the RSS, ask each once
(all asks sent, then all answers awaited). The ThreadingActor side stops starting (and asking)
when `--budget` seconds (default 60) have passed and reports how far it got. Targets for the
pool: start < 10 s, RSS < 1 GB, asks < 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import pykka

import fsm
from fsm import FSM, Event, State

HOUR = 3600.0


class Device(FSM):
    """One device's FSM: waits (an hour) for a reading; a named timer polls it hourly."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("waiting", 0)
        self.when("waiting", self.waiting, state_timeout=HOUR)
        self.initialize()
        self.start_single_timer("poll", "poll", HOUR)

    def waiting(self, event: Event) -> State:
        if event.message == "reading?":
            return self.stay().replying(event.data)
        return self.stay().using(event.data + 1)


class PooledDevice(Device, fsm.PooledActor):
    pass


class ThreadedDevice(Device, pykka.ThreadingActor):
    use_daemon_thread = True  # the process exits without stopping 100,000 actors one by one


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(mode: str, actors: int, budget: float) -> dict[str, Any]:
    cls: type[pykka.Actor] = PooledDevice if mode == "pooled" else ThreadedDevice
    began = time.perf_counter()
    refs = []
    error = ""
    try:
        for i in range(actors):
            refs.append(cls.start())
            if i % 1000 == 999:  # the last word, should the process die starting threads
                progress = {
                    "mode": mode,
                    "started": i + 1,
                    "start_s": time.perf_counter() - began,
                    "rss_mb": rss_mb(),
                    "answered": 0,
                    "ask_s": 0.0,
                    "error": "the process died starting more",
                }
                print(json.dumps(progress), flush=True)
            if time.perf_counter() - began > budget:
                error = f"stopped at the {budget:.0f} s budget"
                break
    except RuntimeError as exc:  # can't start new thread
        error = str(exc)
    start_s = time.perf_counter() - began
    rss = rss_mb()
    asked = time.perf_counter()
    futures = [ref.ask("reading?", block=False) for ref in refs]
    answered = 0
    for future in futures:
        left = budget - (time.perf_counter() - began)
        try:
            future.get(timeout=max(left, 0.001))
        except pykka.Timeout:
            break
        answered += 1
    ask_s = time.perf_counter() - asked
    return {
        "mode": mode,
        "started": len(refs),
        "start_s": start_s,
        "rss_mb": rss,
        "answered": answered,
        "ask_s": ask_s,
        "error": error,
    }


def run_child(mode: str, actors: int, budget: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", mode, "--actors", str(actors)]
    command += ["--budget", str(budget)]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=budget * 3 + 60)
    except subprocess.TimeoutExpired:
        return {"mode": mode, "started": 0, "error": f"did not finish in {budget * 3 + 60:.0f} s"}
    lines = out.stdout.strip().splitlines()
    if not lines:
        return {"mode": mode, "started": 0, "error": f"failed: {out.stderr.strip()[-300:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    if out.returncode != 0:
        result["error"] += f" (exit code {out.returncode})"
    return result


def describe(result: dict[str, Any], actors: int) -> str:
    if "start_s" not in result:
        return f"{result['mode']}: {result['error']}"
    text = (
        f"{result['mode']}: started {result['started']:,}/{actors:,} in {result['start_s']:.1f} s "
        f"({result['started'] / result['start_s']:,.0f}/s), RSS {result['rss_mb']:,.0f} MB, "
        f"{result['answered']:,} asks answered in {result['ask_s']:.1f} s"
    )
    return text + (f" ({result['error']})" if result["error"] else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--actors", type=int, default=100_000)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--child", choices=["pooled", "threaded"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.actors, args.budget)))
        os._exit(0)  # daemon threads, pending timers: nothing to wait for
    pooled = run_child("pooled", args.actors, args.budget)
    threaded = run_child("threaded", args.actors, args.budget)
    print(describe(pooled, args.actors))
    print(describe(threaded, args.actors))
    if "start_s" in pooled:
        ok = pooled["start_s"] < 10 and pooled["rss_mb"] < 1024 and pooled["ask_s"] < 10
        print(f"pool targets (start < 10 s, RSS < 1 GB, asks < 10 s): {'met' if ok else 'MISSED'}")
    if "start_s" in pooled and threaded.get("started"):
        rate = (pooled["started"] / pooled["start_s"]) / (threaded["started"] / threaded["start_s"])
        per_actor = (pooled["rss_mb"] / pooled["started"]) / (
            threaded["rss_mb"] / threaded["started"]
        )
        print(f"ratios pooled / threaded: start rate {rate:.1f}x, RSS per actor {per_actor:.2f}x")


if __name__ == "__main__":
    main()
