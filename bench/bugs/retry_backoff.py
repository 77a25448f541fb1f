"""A client that retries over a lossy network with exponential backoff, up to four attempts
per request, each attempt on a new connection (two paths to the server). The seeded bug: the
server deduplicates by the last request id it applied instead of a table of applied ids, so a
retry overtaken by the client's next request is applied again. It needs a retry sent before
the reply arrives, the reply, and the next request overtaking the retry on the other path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.bugs._common import Node, Ref
from fsm import Monitor, State
from testkit import Runtime

STORY = "bounded retry with backoff, overtaken retry applied twice (last-id dedup)"
REQUESTS = 4
ATTEMPTS = 4


@dataclass(frozen=True)
class Deposit:
    rid: int
    reply_to: Ref
    net: Ref


@dataclass(frozen=True)
class Done:
    rid: int


@dataclass(frozen=True)
class Retry:
    rid: int
    attempt: int


@dataclass(frozen=True)
class Applied:
    rid: int


class ExactlyOnce(Monitor):
    """Each request id is applied at most once."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("watching", set())
        self.when("watching", self.watch)
        self.initialize()

    def watch(self, event: Any) -> State:
        seen: set[int] = event.data
        rid = event.message.rid
        assert rid not in seen, f"request {rid} was applied twice"
        seen.add(rid)
        return self.stay()


class Network(Node):
    """Delivers a message, or drops it one time in four."""

    def handle(self, message: Any) -> State | None:
        target, payload = message
        if self.random_int(4):
            target.tell(payload)
        return None


class Server(Node):
    def __init__(self, dedupes: bool) -> None:
        self.dedupes = dedupes
        self.applied: set[int] = set()
        self.last = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case Deposit(rid, reply_to, net):
                seen = rid in self.applied if self.dedupes else rid == self.last
                if not seen:
                    self.applied.add(rid)
                    self.last = rid
                    self.monitor(ExactlyOnce, Applied(rid))
                net.tell((reply_to, Done(rid)))
        return None


class Client(Node):
    def __init__(self, paths: list[Ref], server: Ref) -> None:
        self.paths = paths
        self.server = server
        self.rid = 0
        super().__init__()

    def send(self, attempt: int) -> None:
        net = self.paths[attempt % len(self.paths)]  # a new connection per attempt
        net.tell((self.server, Deposit(self.rid, self.actor_ref, net)))
        self.start_single_timer("retry", Retry(self.rid, attempt + 1), 0.1 * 2**attempt)

    def handle(self, message: Any) -> State | None:
        match message:
            case "next":
                self.rid += 1
                if self.rid <= REQUESTS:
                    self.send(0)
            case Done(rid) if rid == self.rid:
                self.cancel_timer("retry")
                self.actor_ref.tell("next")
            case Retry(rid, attempt) if rid == self.rid:
                if attempt < ATTEMPTS:
                    self.send(attempt)
                else:
                    self.actor_ref.tell("next")  # give up on this one
        return None


def _run(runtime: Runtime, dedupes: bool) -> None:
    runtime.register_monitor(ExactlyOnce)
    paths = [Network.start(), Network.start()]
    server = Server.start(dedupes)
    Client.start(paths, server).tell("next")


def buggy(runtime: Runtime) -> None:
    _run(runtime, dedupes=False)


def fixed(runtime: Runtime) -> None:
    _run(runtime, dedupes=True)
