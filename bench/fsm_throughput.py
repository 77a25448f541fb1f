"""Messages/s through an FSM actor vs a bare pykka.ThreadingActor, measured in the same run.

    python bench/fsm_throughput.py [--messages N] [--rounds R] [--actors A]

Four measures, each as paired rounds so machine load hits both alike:

- end to end (the target, at least 0.7): a sender tells N messages while the actor handles
  them, then asks for the count; what an application sees.
- drain only (for information): the actor is held until all N messages are queued, so only
  dequeue, dispatch and handling are timed; this isolates the FSM's own cost per message.
- pooled, end to end (target: at least 1.0): the same FSM on `fsm.PooledActor` vs on
  `ThreadingActor`.
- many busy actors (for information): A FSMs (default 1,000) on the pool vs A on threads;
  one sender tells N messages round-robin, then asks each for its count.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

import pykka

import fsm
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


class CountingFSM(FSM):
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


class FSMCounter(CountingFSM, pykka.ThreadingActor):
    pass


class PooledFSMCounter(CountingFSM, fsm.PooledActor):
    pass


def end_to_end(cls: type[pykka.Actor], messages: int) -> float:
    ref = cls.start()
    started = time.perf_counter()
    for i in range(messages):
        ref.tell(i)
    assert ref.ask("done") == messages
    elapsed = time.perf_counter() - started
    ref.stop()
    return messages / elapsed


def many_actors(cls: type[pykka.Actor], messages: int, actors: int) -> float:
    refs = [cls.start() for _ in range(actors)]
    per_actor = messages // actors
    started = time.perf_counter()
    for i in range(per_actor):
        for ref in refs:
            ref.tell(i)
    counts = pykka.get_all([ref.ask("done", block=False) for ref in refs])
    elapsed = time.perf_counter() - started
    assert counts == [per_actor] * actors
    for ref in refs:
        ref.stop(block=False)
    for ref in refs:
        ref.actor_stopped.wait()
    return per_actor * actors / elapsed


def drain_only(cls: type[pykka.Actor], messages: int) -> float:
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


def compare(
    name: str,
    measure: Any,
    rounds: int,
    target: str,
    base: tuple[str, type[pykka.Actor]] = ("pykka", BareCounter),
    new: tuple[str, type[pykka.Actor]] = ("FSM", FSMCounter),
) -> None:
    olds, news, ratios = [], [], []
    for _ in range(rounds):
        olds.append(measure(base[1]))
        news.append(measure(new[1]))
        ratios.append(news[-1] / olds[-1])
    print(
        f"{name}: {base[0]} {statistics.median(olds):,.0f} msg/s, {new[0]} "
        f"{statistics.median(news):,.0f} msg/s; ratio {new[0]} / {base[0]} "
        f"{statistics.median(ratios):.2f} (median of {rounds} paired rounds, range "
        f"{min(ratios):.2f}-{max(ratios):.2f}){target}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--actors", type=int, default=1_000)
    args = parser.parse_args()
    n = args.messages
    compare("end to end", lambda cls: end_to_end(cls, n), args.rounds, "; target >= 0.70")
    compare("drain only", lambda cls: drain_only(cls, n), args.rounds, "")
    threaded, pooled = ("threaded FSM", FSMCounter), ("pooled FSM", PooledFSMCounter)
    compare(
        "pooled, end to end",
        lambda cls: end_to_end(cls, n),
        args.rounds,
        "; target >= 1.00",
        threaded,
        pooled,
    )
    compare(
        f"{args.actors:,} busy actors",
        lambda cls: many_actors(cls, n, args.actors),
        args.rounds,
        "",
        (f"{args.actors:,} threaded FSMs", FSMCounter),
        (f"{args.actors:,} pooled FSMs", PooledFSMCounter),
    )


if __name__ == "__main__":
    main()
