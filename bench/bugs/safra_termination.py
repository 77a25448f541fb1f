"""Safra's termination detection (EWD998) on a ring of five nodes doing diffusing work.
The seeded bug: a node is not blackened when it receives a message, so the token can come
back white with balanced counters while a node the token already passed is active again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.bugs._common import Node, Ref
from fsm import State
from testkit import Runtime

STORY = "Safra/EWD998 termination detection, node not blackened on receive"
NODES = 5


@dataclass
class Census:
    """The ground truth the detector must agree with (shared: the tester runs one step at a
    time)."""

    active: int = NODES
    in_flight: int = 0


@dataclass(frozen=True)
class Work:
    ttl: int


@dataclass(frozen=True)
class Token:
    q: int
    black: bool


class SafraNode(Node):
    def __init__(self, me: int, ring: list[Ref], census: Census, blackens: bool) -> None:
        self.me = me
        self.ring = ring
        self.census = census
        self.blackens = blackens
        self.active = True
        self.black = False
        self.count = 0
        self.token: Token | None = None
        self.jobs: list[int] = [2]
        self.probing = False
        super().__init__()

    def send_work(self, ttl: int) -> None:
        target = (self.me + 1 + self.random_int(NODES - 1)) % NODES
        self.count += 1
        self.census.in_flight += 1
        self.ring[target].tell(Work(ttl))

    def go_passive(self) -> None:
        self.active = False
        self.census.active -= 1
        if self.me == 0:
            token, self.token = self.token, None
            if token is not None:
                self.evaluate(token)
            elif not self.probing:
                self.probing = True
                self.probe()
        self.pass_token()

    def evaluate(self, token: Token) -> None:
        """Node 0, passive, holds the token back from its round."""
        if not token.black and not self.black and token.q + self.count == 0:
            census = self.census
            assert census.active == 0 and census.in_flight == 0, (
                f"termination announced with {census.active} active node(s) and "
                f"{census.in_flight} message(s) in flight"
            )
        else:
            self.probe()

    def probe(self) -> None:
        self.black = False
        self.ring[NODES - 1].tell(Token(0, False))

    def pass_token(self) -> None:
        token = self.token
        if token is None or self.active or self.me == 0:
            return
        self.token = None
        self.ring[self.me - 1].tell(Token(token.q + self.count, token.black or self.black))
        self.black = False

    def handle(self, message: Any) -> State | None:
        match message:
            case "go":
                self.actor_ref.tell("step")
            case "step" if self.jobs:
                ttl = self.jobs.pop()
                if ttl:  # a job with time to live fans out into two smaller ones
                    self.send_work(ttl - 1)
                    self.send_work(ttl - 1)
                if self.jobs:
                    self.actor_ref.tell("step")
                else:
                    self.go_passive()
            case Work(ttl):
                self.count -= 1
                self.census.in_flight -= 1
                if self.blackens:
                    self.black = True
                self.jobs.append(ttl)
                if not self.active:
                    self.active = True
                    self.census.active += 1
                    self.actor_ref.tell("step")
            case Token() if self.me == 0:
                if self.active:
                    self.token = message
                else:
                    self.evaluate(message)
            case Token():
                self.token = message
                self.pass_token()
        return None


def _run(runtime: Runtime, blackens: bool) -> None:
    ring: list[Ref] = []
    census = Census()
    ring.extend(SafraNode.start(i, ring, census, blackens) for i in range(NODES))
    for node in ring:
        node.tell("go")


def buggy(runtime: Runtime) -> None:
    _run(runtime, blackens=False)


def fixed(runtime: Runtime) -> None:
    _run(runtime, blackens=True)
