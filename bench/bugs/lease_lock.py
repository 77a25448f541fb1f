"""A lock service with expiring leases, two clients and a store. The seeded bug: the store
takes writes without checking the lease's fencing token, so a client whose lease expired
while it was still working overwrites the next holder's write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.bugs._common import Node, Ref
from fsm import Monitor, State
from testkit import Runtime

STORY = "distributed lock with lease expiry, stale holder writes (no fencing)"
CLIENTS = 2
ROUNDS = 4


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


@dataclass(frozen=True)
class Put:
    token: int
    value: str


@dataclass(frozen=True)
class Applied:
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
            self.start_single_timer("lease", Expire(self.token), 1.0)

    def handle(self, message: Any) -> State | None:
        match message:
            case Acquire(client):
                self.queue.append(client)
                if self.holder is None:
                    self.grant_next()
            case Release(token) | Expire(token) if token == self.token and self.holder:
                self.cancel_timer("lease")
                self.grant_next()
        return None


class Store(Node):
    def __init__(self, fenced: bool) -> None:
        self.fenced = fenced
        self.highest = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case Put(token, _) if token >= self.highest or not self.fenced:
                self.highest = max(self.highest, token)
                self.monitor(Fencing, Applied(token))
        return None


class Client(Node):
    def __init__(self, name: str, lock: Ref, store: Ref) -> None:
        self.name = name
        self.lock = lock
        self.store = store
        self.rounds = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case "go":
                self.lock.tell(Acquire(self.actor_ref))
            case Granted(token):
                self.actor_ref.tell(("work", token))  # compute before writing
            case ("work", int(token)):
                self.store.tell(Put(token, self.name))
                self.lock.tell(Release(token))
                self.rounds += 1
                if self.rounds < ROUNDS:
                    self.lock.tell(Acquire(self.actor_ref))
        return None


def _run(runtime: Runtime, fenced: bool) -> None:
    runtime.register_monitor(Fencing)
    lock = LockServer.start()
    store = Store.start(fenced)
    for i in range(CLIENTS):
        Client.start(f"c{i}", lock, store).tell("go")


def buggy(runtime: Runtime) -> None:
    _run(runtime, fenced=False)


def fixed(runtime: Runtime) -> None:
    _run(runtime, fenced=True)
