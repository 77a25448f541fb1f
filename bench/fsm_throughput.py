"""Messages/s through an FSM actor vs a bare pykka.ThreadingActor, measured in the same run.

    python bench/fsm_throughput.py [--messages N] [--rounds R]

Prints both rates and the ratio FSM / Pykka (target: at least 0.7).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import pykka

from fsm import FSM, Event, State


class BareCounter(pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def on_receive(self, message: Any) -> Any:
        if message == "done":
            return self.count
        self.count += 1
        return None


class FSMCounter(FSM, pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.start_with("counting", 0)
        self.when("counting", self.counting)
        self.initialize()

    def counting(self, event: Event) -> State:
        if event.message == "done":
            return self.stay().replying(event.data)
        return self.stay().using(event.data + 1)


def rate(cls: type[pykka.ThreadingActor], messages: int) -> float:
    ref = cls.start()
    started = time.perf_counter()
    for i in range(messages):
        ref.tell(i)
    assert ref.ask("done") == messages
    elapsed = time.perf_counter() - started
    ref.stop()
    return messages / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bare, fsm = [], []
    for _ in range(args.rounds):  # interleaved so machine load hits both alike
        bare.append(rate(BareCounter, args.messages))
        fsm.append(rate(FSMCounter, args.messages))
    b, f = statistics.median(bare), statistics.median(fsm)
    print(f"bare pykka.ThreadingActor: {b:,.0f} msg/s (median of {args.rounds})")
    print(f"FSM mixin:                 {f:,.0f} msg/s (median of {args.rounds})")
    print(f"ratio FSM / Pykka: {f / b:.2f}  (target >= 0.70)")


if __name__ == "__main__":
    main()
