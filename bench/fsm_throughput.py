"""Messages/s through an FSM actor vs a bare pykka.ThreadingActor, measured in the same run.

    python bench/fsm_throughput.py [--messages N] [--rounds R]

Two measures, each as paired rounds (bare, then FSM) so machine load hits both alike:

- end to end (the target, at least 0.7): a sender tells N messages while the actor handles
  them, then asks for the count; what an application sees.
- drain only (for information): the actor is held until all N messages are queued, so only
  dequeue, dispatch and handling are timed; this isolates the FSM's own cost per message.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

import pykka

from fsm import FSM, Event, State


class BareCounter(pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, threading.Event):
            message.wait()
            return None
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
        if isinstance(event.message, threading.Event):
            event.message.wait()
            return self.stay()
        if event.message == "done":
            return self.stay().replying(event.data)
        return self.stay().using(event.data + 1)


def end_to_end(cls: type[pykka.ThreadingActor], messages: int) -> float:
    ref = cls.start()
    started = time.perf_counter()
    for i in range(messages):
        ref.tell(i)
    assert ref.ask("done") == messages
    elapsed = time.perf_counter() - started
    ref.stop()
    return messages / elapsed


def drain_only(cls: type[pykka.ThreadingActor], messages: int) -> float:
    ref = cls.start()
    hold = threading.Event()
    ref.tell(hold)
    for i in range(messages):
        ref.tell(i)
    done = ref.ask("done", block=False)
    started = time.perf_counter()
    hold.set()
    assert done.get() == messages
    elapsed = time.perf_counter() - started
    ref.stop()
    return messages / elapsed


def compare(name: str, measure: Any, messages: int, rounds: int, target: str) -> None:
    bare, fsm, ratios = [], [], []
    for _ in range(rounds):
        bare.append(measure(BareCounter, messages))
        fsm.append(measure(FSMCounter, messages))
        ratios.append(fsm[-1] / bare[-1])
    print(
        f"{name}: pykka {statistics.median(bare):,.0f} msg/s, FSM "
        f"{statistics.median(fsm):,.0f} msg/s; ratio FSM / Pykka {statistics.median(ratios):.2f} "
        f"(median of {rounds} paired rounds, range {min(ratios):.2f}-{max(ratios):.2f}){target}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    compare("end to end", end_to_end, args.messages, args.rounds, "; target >= 0.70")
    compare("drain only", drain_only, args.messages, args.rounds, "")


if __name__ == "__main__":
    main()
