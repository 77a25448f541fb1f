"""Scheduler steps/s on a ping-pong of two FSMs vs a bare deque dispatch loop, same run.

    python bench/scheduler_steps.py [--steps N] [--rounds R]

The bare loop is the least any actor dispatcher must do: pop (handler, message) from a
deque, call the handler, which appends the reply. The target is a ratio of at least 1/20.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pykka

import testkit
from fsm import FSM, Event, State


class Player(FSM, pykka.ThreadingActor):
    """Returns every ball to its partner until the rally is over."""

    def __init__(self, rally: int) -> None:
        super().__init__()
        self.rally = rally
        self.partner: pykka.ActorRef[Any] | None = None
        self.start_with("playing", 0)
        self.when("playing", self.playing)
        self.initialize()

    def playing(self, event: Event) -> State | None:
        match event:
            case Event(int(ball), hits):
                if ball < self.rally and self.partner is not None:
                    self.partner.tell(ball + 1)
                return self.stay().using(hits + 1)
            case Event(("partner", ref), _):
                self.partner = ref
                return self.stay()
        return None


def ping_pong(rally: int) -> Callable[[testkit.Runtime], None]:
    def test(runtime: testkit.Runtime) -> None:
        a, b = Player.start(rally), Player.start(rally)
        a.tell(("partner", b))
        b.tell(("partner", a))
        a.tell(0)

    return test


def bare_loop(steps: int) -> float:
    """Messages/s of the bare deque loop between two handler objects."""

    class Bare:
        def __init__(self, queue: deque[tuple[Any, int]]) -> None:
            self.queue = queue
            self.partner: Bare | None = None
            self.hits = 0

        def on_receive(self, ball: int) -> None:
            self.hits += 1
            if ball < steps:
                self.queue.append((self.partner, ball + 1))

    queue: deque[tuple[Any, int]] = deque()
    a, b = Bare(queue), Bare(queue)
    a.partner, b.partner = b, a
    queue.append((a, 0))
    started = time.perf_counter()
    count = 0
    while queue:
        target, ball = queue.popleft()
        target.on_receive(ball)
        count += 1
    return count / (time.perf_counter() - started)


def scheduler(steps: int, strategy: str, coverage: bool = True) -> float:
    report = testkit.explore(
        ping_pong(steps),
        iterations=1,
        max_steps=steps + 100,
        strategy=strategy,
        seed=1,
        coverage=coverage,
    )
    assert report.bug is None, report.bug
    return report.steps_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--strategy", default="random")
    parser.add_argument(
        "--no-coverage", action="store_true", help="explore(coverage=False): no observer at all"
    )
    args = parser.parse_args()
    bare, sched = [], []
    for _ in range(args.rounds):  # interleaved so machine load hits both alike
        bare.append(bare_loop(args.steps))
        sched.append(scheduler(args.steps, args.strategy, not args.no_coverage))
    b, s = statistics.median(bare), statistics.median(sched)
    print(f"bare deque loop:          {b:,.0f} messages/s (median of {args.rounds})")
    print(f"scheduler ({args.strategy}):       {s:,.0f} steps/s (median of {args.rounds})")
    print(f"ratio scheduler / bare: 1/{b / s:.1f}  (target: at least 1/20)")


if __name__ == "__main__":
    main()
