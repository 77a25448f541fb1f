"""A lock service with expiring leases, two clients and a store, each client writing over its
own network path and releasing the lock once the store has confirmed its write. The seeded bug:
the store takes writes without checking the lease's fencing token, so a holder whose write is
held up on a slow path while its lease expires overwrites the next holder's write. It needs the
write to stay on the path while the lease expires, the next holder is granted, works and
writes over its own path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.bugs._common import Link, Node, Ref
from fsm import Monitor, State
from testkit import Runtime

STORY = "distributed lock with lease expiry, delayed write of an expired holder (no fencing)"
CLIENTS = 2
ROUNDS = 4
WORK = 3  # local steps between the grant and the write
LEASE_TICKS = 2  # the lease runs out on the lock server's second tick after the grant


@dataclass(frozen=True)
class Acquire:
    client: Ref


@dataclass(frozen=True)
class Granted:
    token: int


@dataclass(frozen=True)
class Release:
    token: int


@dataclass(frozen=True)
class Expire:
    token: int
    ticks: int


@dataclass(frozen=True)
class Put:
    token: int
    value: str


@dataclass(frozen=True)
class Applied:
    token: int


@dataclass(frozen=True)
class Stored:
    token: int


class Fencing(Monitor):
    """Writes are applied in lease order: never one of an older lease after a newer one."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("watching", 0)
        self.when("watching", self.watch)
        self.initialize()

    def watch(self, event: Any) -> State:
        token = event.message.token
        assert token >= event.data, f"write of lease {token} applied after lease {event.data}"
        return self.stay().using(token)


class LockServer(Node):
    def __init__(self) -> None:
        self.queue: list[Ref] = []
        self.holder: Ref | None = None
        self.token = 0
        super().__init__()

    def grant_next(self) -> None:
        self.holder = None
        if self.queue:
            self.holder = self.queue.pop(0)
            self.token += 1
            self.holder.tell(Granted(self.token))
            self.start_single_timer("lease", Expire(self.token, 1), 1.0)

    def handle(self, message: Any) -> State | None:
        match message:
            case Acquire(client):
                self.queue.append(client)
                if self.holder is None:
                    self.grant_next()
            case Expire(token, ticks) if ticks < LEASE_TICKS and token == self.token:
                self.start_single_timer("lease", Expire(token, ticks + 1), 1.0)
            case Release(token) | Expire(token) if token == self.token and self.holder:
                self.cancel_timer("lease")
                self.grant_next()
        return None


class Store(Node):
    def __init__(self, fenced: bool, clients: dict[str, Ref]) -> None:
        self.fenced = fenced
        self.clients = clients
        self.highest = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case Put(token, name):
                if token >= self.highest or not self.fenced:
                    self.highest = max(self.highest, token)
                    self.monitor(Fencing, Applied(token))
                self.clients[name].tell(Stored(token))  # applied or refused: done either way
        return None


class Client(Node):
    """Takes the lock `ROUNDS` times; each time works, writes over its path, and releases
    the lock when the store confirms."""

    def __init__(self, name: str, lock: Ref, store: Ref) -> None:
        self.name = name
        self.lock = lock
        self.store = store
        self.path = Link.start()
        self.rounds = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case "go":
                self.lock.tell(Acquire(self.actor_ref))
            case Granted(token):
                self.actor_ref.tell(("work", token, WORK))
            case ("work", int(token), int(left)) if left > 0:
                self.actor_ref.tell(("work", token, left - 1))
            case ("work", int(token), _):
                self.path.tell((self.store, Put(token, self.name)))
            case Stored(token):
                self.lock.tell(Release(token))
                self.rounds += 1
                if self.rounds < ROUNDS:
                    self.lock.tell(Acquire(self.actor_ref))
        return None


def _run(runtime: Runtime, fenced: bool) -> None:
    runtime.register_monitor(Fencing)
    lock = LockServer.start()
    clients: dict[str, Ref] = {}
    store = Store.start(fenced, clients)
    for i in range(CLIENTS):
        clients[f"c{i}"] = Client.start(f"c{i}", lock, store)
    for client in clients.values():
        client.tell("go")


def buggy(runtime: Runtime) -> None:
    _run(runtime, fenced=False)


def fixed(runtime: Runtime) -> None:
    _run(runtime, fenced=True)
