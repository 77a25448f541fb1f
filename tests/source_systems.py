"""Programs that use the sources of nondeterminism Python programs commonly use: the `random`
module, `uuid`, `os.urandom`, `secrets`, the clock, and sets in messages."""

from __future__ import annotations

import datetime
import os
import random
import secrets
import time
import uuid
from dataclasses import dataclass
from random import choice  # bound by name before any sandbox: still controlled
from typing import Any

import pykka

from fsm import FSM, Event, State
from testkit import Runtime

DRAWN: list[Any] = []
"""What the dealers drew, in order (a test reads it after a run)."""


def draw() -> tuple[Any, ...]:
    cards = list(range(8))
    random.shuffle(cards)
    return (
        tuple(cards[:3]),
        random.randint(0, 10**6),
        choice("abcdefgh"),
        random.Random().random(),
        str(uuid.uuid4()),
        str(uuid.uuid1()),
        os.urandom(4).hex(),
        secrets.token_hex(4),
        random.SystemRandom().randint(0, 10**6),
    )


class Dealer(pykka.ThreadingActor):
    """Draws on every message; tells the table what it drew."""

    def __init__(self, table: pykka.ActorRef[Any] | None = None) -> None:
        super().__init__()
        self.table = table

    def on_receive(self, message: Any) -> Any:
        drawn = draw()
        DRAWN.append(drawn)
        if self.table is not None:
            self.table.tell(drawn)
        return drawn


class Table(pykka.ThreadingActor):
    """Fails on the third hand: its message names every value drawn (replay must match)."""

    def __init__(self) -> None:
        super().__init__()
        self.hands: list[Any] = []

    def on_receive(self, message: Any) -> None:
        self.hands.append(message)
        assert len(self.hands) < 3, f"three hands dealt: {self.hands}"


def dealing(runtime: Runtime) -> None:
    table = Table.start()
    first, second = Dealer.start(table), Dealer.start(table)
    DRAWN.append(("test", random.random()))
    first.tell("deal")
    second.tell("deal")
    first.tell("deal")


@dataclass(frozen=True)
class Tags:
    """A message with a set of strings: its repr lists them in the hash seed's order."""

    names: frozenset[str]
    by_kind: dict[str, set[str]]


class Tagger(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> None:
        assert len(message.names) < 5, f"too many tags: {sorted(message.names)}"


def tagging(runtime: Runtime) -> None:
    tagger = Tagger.start()
    names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    for count in range(3, 6):
        tagger.tell(Tags(frozenset(names[:count]), {"greek": set(names[:count])}))


class Fanout(pykka.ThreadingActor):
    """Tells each name of a set to an actor of its own, in the set's (hash seed's) order."""

    def on_receive(self, message: Any) -> None:
        for name in set(message):
            Named.start().tell(name)


class Named(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> None:
        assert message != "delta", "delta was told"


def fanning_out(runtime: Runtime) -> None:
    Fanout.start().tell(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])


class Clock(FSM, pykka.ThreadingActor):
    """Reads every clock at its start and again when its five-second timer fires."""

    def __init__(self, readings: list[dict[str, Any]]) -> None:
        super().__init__()
        self.readings = readings
        self.start_with("waiting", None)
        self.when("waiting", self.waiting, state_timeout=5.0)
        self.initialize()

    def on_start(self) -> None:
        self.readings.append(read_clocks())

    def waiting(self, event: Event) -> State | None:
        self.readings.append(read_clocks())
        return self.stay().for_max(None)


def read_clocks() -> dict[str, Any]:
    return {
        "time": time.time(),
        "time_ns": time.time_ns(),
        "monotonic": time.monotonic(),
        "monotonic_ns": time.monotonic_ns(),
        "perf_counter": time.perf_counter(),
        "now": datetime.datetime.now(),
        "utcnow": datetime.datetime.now(datetime.timezone.utc),
        "today": datetime.date.today(),
        "gmtime": time.gmtime()[:6],
    }
