"""A write service in front of a durable disk, with retrying clients. The server keeps the
writes whose disk write it has not seen confirmed in an in-flight table and re-sends them
until the disk answers; the client re-sends a write until the server acknowledges it. The
seeded bug: a client's retry of a write still in flight is acknowledged at once ("it is on
its way to disk"). When the disk write was lost and the server then crashes, the in-flight
table dies with it: the client holds an acknowledgement for a write no disk has. It needs two
declared faults: the lost disk write (`drop=Server->Disk`) and the crash after the early ack
(`crash=Server`); the server is restarted and the client retries its unacknowledged writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pykka

from bench.bugs._common import Node, Ref
from failover_examples.messaging import tell
from fsm import State
from testkit import Faults, Runtime

STORY = "write acked from the retry path while its disk write was lost; the crash forgets it"
WRITES = 3
RETRIES = 4
FAULTS = Faults(crash="Server", restart="Server", drop=[("Server", "Disk")], budget=2)
"""The faults this system's bug needs (and its fixed variant survives)."""


@dataclass(frozen=True)
class Write:
    key: int
    reply_to: Ref


@dataclass(frozen=True)
class Ack:
    key: int


@dataclass(frozen=True)
class Persist:
    key: int
    reply_to: Ref


@dataclass(frozen=True)
class Persisted:
    key: int


@dataclass(frozen=True)
class Resend:
    key: int


class Disk(Node):
    """The durable store: what it holds survives every crash of the server."""

    def __init__(self, stored: set[int]) -> None:
        self.stored = stored
        super().__init__()

    def handle(self, message: Any) -> State | None:
        if isinstance(message, Persist):
            self.stored.add(message.key)
            tell(message.reply_to, Persisted(message.key))  # a crashed server misses it
        return None


class Server(Node):
    """Acknowledges a write once the disk has it (and, with `early_ack`, a retry at once)."""

    def __init__(self, disk: Ref, early_ack: bool) -> None:
        self.disk = disk
        self.early_ack = early_ack
        self.in_flight: dict[int, list[Ref]] = {}
        self.resends: dict[int, int] = {}
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case Write(key, reply_to) if key in self.in_flight:
                if self.early_ack:
                    tell(reply_to, Ack(key))  # the bug: acked before the disk has it
                else:
                    self.in_flight[key].append(reply_to)
            case Write(key, reply_to):
                self.in_flight[key] = [reply_to]
                self.resends[key] = 0
                self.disk.tell(Persist(key, self.actor_ref))
                self.start_single_timer(f"resend {key}", Resend(key), 0.1)
            case Resend(key) if key in self.in_flight and self.resends[key] < RETRIES:
                self.resends[key] += 1
                self.disk.tell(Persist(key, self.actor_ref))
                self.start_single_timer(f"resend {key}", Resend(key), 0.1)
            case Persisted(key) if key in self.in_flight:
                self.cancel_timer(f"resend {key}")
                for client in self.in_flight.pop(key):
                    tell(client, Ack(key))
        return None


class Client(Node):
    """Writes keys 1..WRITES one after another, re-sending each until it is acknowledged
    (finding the server through the registry: a restarted server has a new ref)."""

    def __init__(self, acked: set[int]) -> None:
        self.acked = acked
        self.key = 0
        self.tries = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case "go":
                self.next_write()
            case Ack(key) if key == self.key:
                self.acked.add(key)
                self.cancel_timer("retry")
                self.next_write()
            case "retry" if self.tries < RETRIES:
                self.send()
        return None

    def next_write(self) -> None:
        if self.key < WRITES:
            self.key += 1
            self.tries = 0
            self.send()

    def send(self) -> None:
        self.tries += 1
        servers = pykka.ActorRegistry.get_by_class(Server)
        if servers:
            servers[0].tell(Write(self.key, self.actor_ref))
        self.start_single_timer("retry", "retry", 0.5)


def _run(runtime: Runtime, early_ack: bool) -> None:
    stored: set[int] = set()
    acked: set[int] = set()
    disk = Disk.start(stored)
    Server.start(disk, early_ack)
    Client.start(acked).tell("go")
    runtime.run()
    lost = sorted(acked - stored)
    assert not lost, f"acknowledged writes {lost} are on no disk"


def buggy(runtime: Runtime) -> None:
    _run(runtime, early_ack=True)


def fixed(runtime: Runtime) -> None:
    _run(runtime, early_ack=False)
