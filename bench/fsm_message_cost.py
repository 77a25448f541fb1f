"""The FSM mixin's own cost per message: this tree vs a baseline commit, in the same run.

    python bench/fsm_message_cost.py [--baseline-ref 79ccb0f] [--rounds 5] [--messages N]

Two handlers, each measured two ways, in a fresh process per tree and round (the baseline is
`git archive`d to a temporary directory, as bench/handoff.py does):
- (a) `stay().using(data + 1)`, one state, no timeout;
- (b) `goto(other state).using(data + 1)` between two enum states that both have a state
  timeout, with an `on_transition` handler;
- directly: `actor.on_receive(i)` called in a loop on an actor object that was never
  started (no threads, no mailbox; production timers): µs per message;
- under the tester: two such FSMs play ping-pong (`explore`, `random`, seed 1, coverage on):
  µs per step, scheduler included;
- for scale, µs per step of the failover coffee machine's fixed variant under the tester
  (300 iterations, `random`, seed 1), the case issues 10 and 13 time.

Both trees must take the same number of tester steps (the same behaviour, seed for seed).

Each figure is the process's CPU time (less sensitive to other jobs than wall time), the best
of 3 repeats in the process.

Reported: the median µs of each tree and the median of the per-round ratios baseline / this
tree (above 1: this tree is cheaper).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _baseline import ROOT, export, run_probe

PROBE = r"""
import enum, json, sys, time
from typing import Any
import pykka
import testkit
from fsm import FSM, Event, State
from failover_examples import coffee_machine

class S(enum.Enum):
    PING = "ping"
    PONG = "pong"

class Stays(FSM, pykka.ThreadingActor):
    def __init__(self, rally: int = 0) -> None:
        super().__init__()
        self.rally, self.partner = rally, None
        self.start_with(S.PING, 0)
        self.when(S.PING, self.counting)
        self.initialize()

    def counting(self, event: Event) -> State:
        ball = event.message
        if ball.__class__ is int:
            if ball < self.rally:
                self.partner.tell(ball + 1)
            return self.stay().using(event.data + 1)
        self.partner = ball[1]
        return self.stay()

class Moves(FSM, pykka.ThreadingActor):
    def __init__(self, rally: int = 0) -> None:
        super().__init__()
        self.rally, self.partner, self.moves = rally, None, 0
        self.start_with(S.PING, 0)
        self.when(S.PING, self.ping, state_timeout=60.0)
        self.when(S.PONG, self.pong, state_timeout=60.0)
        self.on_transition(self.moved)
        self.initialize()

    def hit(self, event: Event) -> None:
        ball = event.message
        if ball.__class__ is int and ball < self.rally:
            self.partner.tell(ball + 1)

    def ping(self, event: Event) -> State:
        if event.message.__class__ is tuple:
            self.partner = event.message[1]
            return self.stay()
        self.hit(event)
        return self.goto(S.PONG).using(event.data + 1)

    def pong(self, event: Event) -> State:
        self.hit(event)
        return self.goto(S.PING).using(event.data + 1)

    def moved(self, source: Any, target: Any) -> None:
        self.moves += 1

def direct(cls: Any, messages: int) -> float:
    actor = cls()
    receive = actor.on_receive
    started = time.process_time()
    for i in range(messages):
        receive(i)
    elapsed = time.process_time() - started
    assert actor.state_data == messages, actor.state_data
    actor._sm_cancel_timers()
    return elapsed / messages * 1e6

def ping_pong(cls: Any, rally: int) -> Any:
    def test(runtime: Any) -> None:
        a, b = cls.start(rally), cls.start(rally)
        a.tell(("partner", b))
        b.tell(("partner", a))
        a.tell(0)
    return test

def tester(cls: Any, rally: int) -> tuple[float, int]:
    started = time.process_time()
    report = testkit.explore(ping_pong(cls, rally), iterations=1, max_steps=rally * 2 + 100,
                             strategy="random", seed=1, watchdog=None, workers=1)
    elapsed = time.process_time() - started
    assert report.bug is None, report.bug
    return elapsed / report.steps * 1e6, report.steps

def failover(test: Any) -> tuple[float, int]:
    started = time.process_time()
    report = testkit.explore(test, iterations=300, max_steps=2000, strategy="random", seed=1,
                             watchdog=None, workers=1)
    elapsed = time.process_time() - started
    assert report.bug is None, report.bug
    return elapsed / report.steps * 1e6, report.steps

messages, repeats = int(sys.argv[1]), 3
stay_us, stay_steps = min(tester(Stays, messages // 10) for _ in range(repeats))
goto_us, goto_steps = min(tester(Moves, messages // 10) for _ in range(repeats))
coffee_us, coffee_steps = min(failover(coffee_machine.execute_fixed) for _ in range(repeats))
print(json.dumps({
    "direct stay().using()": min(direct(Stays, messages) for _ in range(repeats)),
    "direct goto+transition+timeout": min(direct(Moves, messages) for _ in range(repeats)),
    "tester stay().using()": stay_us,
    "tester goto+transition+timeout": goto_us,
    "tester coffee machine (fixed)": coffee_us,
    "steps": [stay_steps, goto_steps, coffee_steps],
}))
"""


def measure(tree: Path, messages: int) -> dict[str, object]:
    return run_probe(tree, PROBE, messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="79ccb0f")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    befores: dict[str, list[float]] = {}
    afters: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        baseline = export(args.baseline_ref, Path(tmp))
        for round_ in range(args.rounds):  # alternated so machine load hits both alike
            before = measure(baseline, args.messages)
            after = measure(ROOT, args.messages)
            if before.pop("steps") != after.pop("steps"):
                raise SystemExit("the trees took different numbers of tester steps")
            for key, old in before.items():
                new = after[key]
                assert isinstance(old, float) and isinstance(new, float)
                befores.setdefault(key, []).append(old)
                afters.setdefault(key, []).append(new)
                ratios.setdefault(key, []).append(old / new)
            print(f"round {round_ + 1} done", file=sys.stderr)
    print(f"µs per message, {args.baseline_ref} -> this tree (median of {args.rounds} rounds):")
    for key, values in ratios.items():
        print(
            f"  {key:32} {statistics.median(befores[key]):6.2f} -> "
            f"{statistics.median(afters[key]):6.2f} µs: {statistics.median(values):.2f}x "
            f"(rounds {min(values):.2f}-{max(values):.2f})"
        )


if __name__ == "__main__":
    main()
