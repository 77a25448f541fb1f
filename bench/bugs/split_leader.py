"""A leader and a standby: clients write to the leader, which replicates each write to the
standby; the standby checks now and then that the leader is alive by asking it (`Ping`, with a
timeout) and takes over when it is not. The seeded bug: the standby takes a timed-out ping for
a dead leader and promotes itself; when a partition cut it off from a leader that is alive and
still leading, there are two leaders (split brain). The fix promotes only on a leader known to
be dead (`ActorDeadError`) and keeps pinging on a timeout. It needs a declared partition:
without one every ping is answered, however late (`partition=Leader|Standby`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pykka

from bench.bugs._common import Node, Ref
from fsm import Monitor, State
from testkit import Faults, Runtime

STORY = "standby takes a ping timeout for a dead leader: split brain under a partition"
WRITES = 4
CHECKS = 3
FAULTS = Faults(partition=[("Leader", "Client"), ("Standby",)], budget=1)
"""The fault this system's bug needs (and its fixed variant survives)."""


@dataclass(frozen=True)
class Write:
    key: int
    reply_to: Ref


@dataclass(frozen=True)
class Ack:
    key: int


@dataclass(frozen=True)
class Replicate:
    key: int


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Led:
    """Monitor event: `who` became leader (True) or stopped leading (False)."""

    who: str
    leading: bool


class OneLeader(Monitor):
    """At most one actor leads at any time."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("watching", set())
        self.when("watching", self.watch)
        self.initialize()

    def watch(self, event: Any) -> State:
        leaders: set[str] = event.data
        match event.message:
            case Led(who, True):
                leaders.add(who)
                assert len(leaders) <= 1, f"two leaders at once: {sorted(leaders)}"
            case Led(who, False):
                leaders.discard(who)
        return self.stay()


class Leader(Node):
    """Serves writes and replicates each to the standby."""

    def __init__(self, standby: Ref) -> None:
        self.standby = standby
        self.log_: list[int] = []
        super().__init__()

    def on_start(self) -> None:
        self.monitor(OneLeader, Led("Leader", True))

    def handle(self, message: Any) -> State | None:
        match message:
            case Write(key, reply_to):
                self.log_.append(key)
                self.standby.tell(Replicate(key))
                reply_to.tell(Ack(key))
            case Ping():
                return self.stay().replying("pong")
        return None


class Standby(Node):
    """Keeps a copy of the log; checks the leader `CHECKS` times, once per timer tick."""

    def __init__(self, promote_on_timeout: bool) -> None:
        self.promote_on_timeout = promote_on_timeout
        self.copy: list[int] = []
        self.checks = 0
        self.leading = False
        self.leader: Ref | None = None
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case ("watch", leader):
                self.leader = leader
                self.start_single_timer("check", "check", 0.5)
            case Replicate(key):
                self.copy.append(key)
            case "check" if not self.leading:
                self.checks += 1
                self.check_leader()
                if self.checks < CHECKS and not self.leading:
                    self.start_single_timer("check", "check", 0.5)
        return None

    def check_leader(self) -> None:
        assert self.leader is not None
        try:
            self.leader.ask(Ping(), timeout=1.0)
        except pykka.ActorDeadError:
            self.promote()
        except pykka.Timeout:
            if self.promote_on_timeout:
                self.promote()  # the bug: no answer is not a dead leader

    def promote(self) -> None:
        self.leading = True
        self.monitor(OneLeader, Led("Standby", True))


class Client(Node):
    """Writes keys 1..WRITES to the leader, one after each acknowledgement."""

    def __init__(self, leader: Ref) -> None:
        self.leader = leader
        self.key = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        answered = message == "go" or (isinstance(message, Ack) and message.key == self.key)
        if answered and self.key < WRITES:
            self.key += 1
            self.leader.tell(Write(self.key, self.actor_ref))
        return None


def _run(runtime: Runtime, promote_on_timeout: bool) -> None:
    runtime.register_monitor(OneLeader)
    standby = Standby.start(promote_on_timeout)
    leader = Leader.start(standby)
    standby.tell(("watch", leader))
    Client.start(leader).tell("go")


def buggy(runtime: Runtime) -> None:
    _run(runtime, promote_on_timeout=True)


def fixed(runtime: Runtime) -> None:
    _run(runtime, promote_on_timeout=False)
