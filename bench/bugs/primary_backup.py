"""Primary/backup replication with a failover driver. The seeded bug: the primary acks a
write at once and replicates it on its next flush, so a crash before the flush loses a write
the client was told is durable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.bugs._common import Node, Ref
from fsm import Monitor, State
from testkit import Runtime

STORY = "primary/backup failover, acked write lost"
WRITES = 12


@dataclass(frozen=True)
class Write:
    key: int


@dataclass(frozen=True)
class Ack:
    key: int


@dataclass(frozen=True)
class Replicate:
    keys: tuple[int, ...]
    reply_to: Ref | None


@dataclass(frozen=True)
class Replicated:
    keys: tuple[int, ...]


@dataclass(frozen=True)
class NewPrimary:
    ref: Ref


@dataclass(frozen=True)
class Promoted:
    store: frozenset[int]


class Durability(Monitor):
    """Every write acked to the client is in the store of the promoted backup."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("watching", set())
        self.when("watching", self.watch)
        self.initialize()

    def watch(self, event: Any) -> State:
        acked: set[int] = event.data
        match event.message:
            case Ack(key):
                acked.add(key)
            case Promoted(store):
                lost = acked - store
                assert not lost, f"acked writes {sorted(lost)} lost in the failover"
        return self.stay()


class Server(Node):
    def __init__(self, backup: Ref | None, client: list[Ref], sync: bool) -> None:
        self.backup = backup
        self.client = client
        self.sync = sync
        self.store: set[int] = set()
        self.pending: list[int] = []
        self.crashed = False
        super().__init__()

    def handle(self, message: Any) -> State | None:
        if self.crashed:
            return None
        match message:
            case Write(key):
                self.store.add(key)
                if self.backup is None:
                    self.client[0].tell(Ack(key))
                elif self.sync:
                    self.backup.tell(Replicate((key,), self.actor_ref))
                else:
                    self.client[0].tell(Ack(key))
                    self.pending.append(key)
                    if not self.is_timer_active("flush"):
                        self.start_single_timer("flush", "flush", 0.01)
            case "flush" if self.backup is not None and self.pending:
                self.backup.tell(Replicate(tuple(self.pending), None))
                self.pending = []
            case Replicate(keys, reply_to):
                self.store.update(keys)
                if reply_to is not None:
                    reply_to.tell(Replicated(keys))
            case Replicated(keys):
                for key in keys:
                    self.client[0].tell(Ack(key))
            case "crash":
                self.crashed = True
            case "promote":
                self.backup = None
                self.monitor(Durability, Promoted(frozenset(self.store)))
        return None


class Client(Node):
    def __init__(self, primary: Ref) -> None:
        self.primary = primary
        self.next = 1
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case "go":
                self.primary.tell(Write(self.next))
            case Ack(key) if key == self.next:
                self.monitor(Durability, Ack(key))
                self.next += 1
                if self.next <= WRITES:
                    self.primary.tell(Write(self.next))
            case NewPrimary(ref):
                self.primary = ref
                if self.next <= WRITES:
                    ref.tell(Write(self.next))  # the unacked write, again
        return None


class FailoverDriver(Node):
    """Crashes the primary once, after a random delay, and promotes the backup."""

    def __init__(self, primary: Ref, backup: Ref, client: Ref) -> None:
        self.refs = (primary, backup, client)
        super().__init__()

    def handle(self, message: Any) -> State | None:
        if message == "go":
            self.start_single_timer("crash", "crash", 0.01 * (1 + self.random_int(4)))
        elif message == "crash":
            primary, backup, client = self.refs
            primary.tell("crash")
            backup.tell("promote")
            client.tell(NewPrimary(backup))
        return None


def _run(runtime: Runtime, sync: bool) -> None:
    runtime.register_monitor(Durability)
    client: list[Ref] = []
    backup = Server.start(None, client, sync)
    primary = Server.start(backup, client, sync)
    client.append(Client.start(primary))
    client[0].tell("go")
    FailoverDriver.start(primary, backup, client[0]).tell("go")


def buggy(runtime: Runtime) -> None:
    _run(runtime, sync=False)


def fixed(runtime: Runtime) -> None:
    _run(runtime, sync=True)
