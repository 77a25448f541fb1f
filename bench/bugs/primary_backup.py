"""Primary/backup replication over a replication link, with a failure detector that promotes
the backup and a reader load on the backup. The seeded bug: the primary acks a write as soon as
it has handed it to the replication link, so when the link is slow and the primary crashes, the
backup is promoted (after the detector's timeout) without a write the client was told is
durable. It needs the link to hold an acked write from before the crash until after the
promotion, while the reads, the crash and the detector's timeout go on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.bugs._common import Link, Node, Ref
from fsm import Monitor, State
from testkit import Runtime

STORY = "primary/backup failover, acked write lost (slow replication link)"
WRITES = 12
READS = 60
MISSED = 2


@dataclass(frozen=True)
class Write:
    key: int


@dataclass(frozen=True)
class Ack:
    key: int


@dataclass(frozen=True)
class Replicate:
    key: int
    reply_to: Ref | None


@dataclass(frozen=True)
class Replicated:
    key: int


@dataclass(frozen=True)
class Read:
    reply_to: Ref


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
    """The primary (with a backup and a link to it) or the backup (without)."""

    def __init__(self, backup: Ref | None, link: Ref | None, client: list[Ref], sync: bool) -> None:
        self.backup = backup
        self.link = link
        self.client = client
        self.sync = sync
        self.store: set[int] = set()
        self.crashed = False
        super().__init__()

    def handle(self, message: Any) -> State | None:
        if self.crashed:
            return None
        match message:
            case Write(key):
                self.store.add(key)
                if self.backup is None or self.link is None:
                    self.client[0].tell(Ack(key))
                elif self.sync:
                    self.link.tell((self.backup, Replicate(key, self.actor_ref)))
                else:
                    self.link.tell((self.backup, Replicate(key, None)))
                    self.client[0].tell(Ack(key))  # the bug: acked before it is replicated
            case Replicate(key, reply_to):
                self.store.add(key)
                if reply_to is not None:
                    reply_to.tell(Replicated(key))
            case Replicated(key):
                self.client[0].tell(Ack(key))
            case Read(reply_to):
                reply_to.tell(len(self.store))
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


class Reader(Node):
    """Reads from the backup, one read per reply, `READS` times (the read load)."""

    def __init__(self, backup: Ref) -> None:
        self.backup = backup
        self.left = READS
        super().__init__()

    def handle(self, message: Any) -> State | None:
        self.left -= 1
        if self.left >= 0:
            self.backup.tell(Read(self.actor_ref))
        return None


class FailureDetector(Node):
    """Crashes the primary once, after a random delay; promotes the backup once the primary
    has missed `MISSED` heartbeat deadlines in a row (one timer each)."""

    def __init__(self, primary: Ref, backup: Ref, client: Ref) -> None:
        self.refs = (primary, backup, client)
        super().__init__()

    def handle(self, message: Any) -> State | None:
        primary, backup, client = self.refs
        if message == "go":
            self.start_single_timer("crash", "crash", 0.01 * (1 + self.random_int(4)))
        elif message == "crash":
            primary.tell("crash")
            self.start_single_timer("deadline", 1, 0.05)
        elif isinstance(message, int) and message < MISSED:
            self.start_single_timer("deadline", message + 1, 0.05)
        elif isinstance(message, int):
            backup.tell("promote")
            client.tell(NewPrimary(backup))
        return None


def _run(runtime: Runtime, sync: bool) -> None:
    runtime.register_monitor(Durability)
    client: list[Ref] = []
    backup = Server.start(None, None, client, sync)
    primary = Server.start(backup, Link.start(), client, sync)
    client.append(Client.start(primary))
    client[0].tell("go")
    Reader.start(backup).tell("go")
    FailureDetector.start(primary, backup, client[0]).tell("go")


def buggy(runtime: Runtime) -> None:
    _run(runtime, sync=False)


def fixed(runtime: Runtime) -> None:
    _run(runtime, sync=True)
