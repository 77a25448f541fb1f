"""A consumer that sleeps on an empty buffer and a producer that wakes it, next to a ticking
status reporter that runs until the work is done; the consumer talks to the buffer over a
network path, and the producer makes an item every third tick of its timer. The seeded bug: the
consumer checks the buffer and registers as sleeping in two messages, so an item put in between
sends no wake-up and the consumer sleeps forever (a liveness bug: only a fair strategy can call
it one). It needs the registration to stay on the path until the producer's next item, three
ticks later, has reached the buffer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.bugs._common import Link, Node, Ref
from fsm import Event, Monitor, State
from testkit import Runtime

STORY = "lost wake-up (liveness, needs fairness)"
ITEMS = 4
TICKS_PER_ITEM = 3  # the producer makes an item every third tick of its timer


@dataclass(frozen=True)
class Take:
    sleep_if_empty: bool


@dataclass(frozen=True)
class Item:
    n: int


class Pending(Monitor):
    """Hot while an item has been produced and not consumed."""

    hot_states = frozenset({"pending"})
    cold_states = frozenset({"idle"})

    def __init__(self) -> None:
        super().__init__()
        self.start_with("idle", 0)
        self.when("idle", self.track)
        self.when("pending", self.track)
        self.initialize()

    def track(self, event: Event) -> State:
        count = event.data + (1 if event.message == "produced" else -1)
        return self.goto("pending" if count else "idle").using(count)


class Buffer(Node):
    def __init__(self, consumer: list[Ref]) -> None:
        self.consumer = consumer
        self.items: list[int] = []
        self.sleeping = False
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case Item(n):
                self.items.append(n)
                if self.sleeping:
                    self.sleeping = False
                    self.consumer[0].tell("wake")
            case Take(sleep_if_empty):
                if self.items:
                    self.consumer[0].tell(Item(self.items.pop(0)))
                else:
                    self.sleeping = sleep_if_empty
                    self.consumer[0].tell("empty")
            case "sleeping":
                self.sleeping = True
        return None


class Consumer(Node):
    def __init__(self, buffer: Ref, ticker: Ref, atomic: bool) -> None:
        self.buffer = buffer
        self.ticker = ticker
        self.atomic = atomic
        self.consumed = 0
        self.path = Link.start()
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case "go" | "wake":
                self.path.tell((self.buffer, Take(self.atomic)))
            case Item():
                self.consumed += 1
                self.monitor(Pending, "consumed")
                if self.consumed == ITEMS:
                    self.ticker.tell("stop")
                else:
                    self.path.tell((self.buffer, Take(self.atomic)))
            case "empty" if not self.atomic:
                self.path.tell((self.buffer, "sleeping"))  # the bug: a second step after the check
        return None


class Producer(Node):
    def __init__(self, buffer: Ref) -> None:
        self.buffer = buffer
        self.n = 0
        self.ticks = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        if message == "produce" and self.n < ITEMS:
            self.ticks += 1
            if self.ticks % TICKS_PER_ITEM == 0:
                self.n += 1
                self.monitor(Pending, "produced")
                self.buffer.tell(Item(self.n))
            self.start_single_timer("next", "produce", 0.01)
        return None


class Ticker(Node):
    """Reports status every 10 ms until told to stop."""

    def handle(self, message: Any) -> State | None:
        match message:
            case "go":
                self.start_timer_with_fixed_delay("tick", "tick", 0.01)
            case "stop":
                self.cancel_timer("tick")
        return None


def _run(runtime: Runtime, atomic: bool) -> None:
    runtime.register_monitor(Pending)
    consumer: list[Ref] = []
    buffer = Buffer.start(consumer)
    ticker = Ticker.start()
    consumer.append(Consumer.start(buffer, ticker, atomic))
    producer = Producer.start(buffer)
    ticker.tell("go")
    consumer[0].tell("go")
    producer.tell("produce")


def buggy(runtime: Runtime) -> None:
    _run(runtime, atomic=False)


def fixed(runtime: Runtime) -> None:
    _run(runtime, atomic=True)
