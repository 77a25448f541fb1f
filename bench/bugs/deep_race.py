"""A look-aside cache in front of a database, a reader that fills the cache on a miss and a
writer that warms it, updates the database and invalidates the entry, each sending over its own
network path, beside the cluster's background health checks. The seeded bug: the
cache takes any fill, so a stale value sticks when three races go one way: the reader's get
reaches the cache before the writer's warm-up, its database read comes before the writer's
update, and the writer's invalidation arrives before the reader's fill. (The fix is
memcache's lease: a miss hands out a lease, an invalidation revokes it, a fill needs it.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.bugs._common import Chatter, Link, Node, Ref
from fsm import State
from testkit import Runtime

STORY = "deep: look-aside cache stale fill, three ordered races among four actors"
THINK = 3  # local steps between a reply and the next request
CHATTER = 40  # background exchanges (the cluster's health checks)


@dataclass(frozen=True)
class Get:
    reply_to: Ref


@dataclass(frozen=True)
class Got:
    value: int | None
    lease: int


@dataclass(frozen=True)
class Fill:
    value: int
    lease: int


@dataclass(frozen=True)
class SetValue:
    value: int


@dataclass(frozen=True)
class Invalidate:
    pass


@dataclass(frozen=True)
class Read:
    reply_to: Ref


@dataclass(frozen=True)
class ReadReply:
    value: int


@dataclass(frozen=True)
class Update:
    value: int
    reply_to: Ref


class Cache(Node):
    def __init__(self, leases: bool) -> None:
        self.leases = leases
        self.value: int | None = None
        self.lease = 0
        self.valid_lease = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case Get(reply_to):
                if self.value is None:
                    self.lease += 1
                    self.valid_lease = self.lease
                reply_to.tell(Got(self.value, self.lease))
            case Fill(value, lease) if lease == self.valid_lease or not self.leases:
                self.value = value
                self.valid_lease = 0
            case SetValue(value):
                self.value = value
            case Invalidate():
                self.value = None
                self.valid_lease = 0
            case "peek":
                return self.stay().replying(self.value)
        return None


class Database(Node):
    def __init__(self) -> None:
        self.value = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case Read(reply_to):
                reply_to.tell(ReadReply(self.value))
            case Update(value, reply_to):
                self.value = value
                reply_to.tell("updated")
            case "peek":
                return self.stay().replying(self.value)
        return None


class Worker(Node):
    """The reader (get, on a miss read and fill) or the writer (warm, update, invalidate):
    one request per reply, with `THINK` local steps before each request."""

    def __init__(self, cache: Ref, db: Ref, reader: bool) -> None:
        self.cache = cache
        self.db = db
        self.reader = reader
        self.lease = 0
        self.next_request: Any = None
        self.path = Link.start()
        super().__init__()

    def after_thinking(self, request: Any) -> None:
        self.next_request = request
        self.actor_ref.tell(("think", THINK))

    def handle(self, message: Any) -> State | None:
        match message:
            case ("think", 0):
                target, payload = self.next_request
                if payload is not None:
                    self.path.tell((target, payload))
                if isinstance(payload, SetValue):  # warmed: now the update
                    self.after_thinking((self.db, Update(1, self.actor_ref)))
            case ("think", int(n)):
                self.actor_ref.tell(("think", n - 1))
            case "go" if self.reader:
                self.after_thinking((self.cache, Get(self.actor_ref)))
            case "go":
                self.after_thinking((self.cache, SetValue(0)))
            case Got(None, lease):
                self.lease = lease
                self.after_thinking((self.db, Read(self.actor_ref)))
            case Got(_, _):
                self.after_thinking((None, None))
            case ReadReply(value):
                self.after_thinking((self.cache, Fill(value, self.lease)))
            case "updated":
                self.after_thinking((self.cache, Invalidate()))
        return None


def _run(runtime: Runtime, leases: bool) -> None:
    cache = Cache.start(leases)
    db = Database.start()
    reader = Worker.start(cache, db, True)
    writer = Worker.start(cache, db, False)
    reader.tell("go")
    writer.tell("go")
    Chatter.start().tell(("ping", CHATTER, Chatter.start()))
    runtime.run()
    cached, stored = cache.ask("peek"), db.ask("peek")
    assert cached in (None, stored), f"the cache holds {cached} but the database {stored}"


def buggy(runtime: Runtime) -> None:
    _run(runtime, leases=False)


def fixed(runtime: Runtime) -> None:
    _run(runtime, leases=True)
