"""A 5-node Raft leader election with randomized election timers, each node answering over its
own network path. The seeded bug: a candidate counts a granted vote whatever its term, so a
vote held up on a slow path from a term that ended without a leader counts in the candidate's
next term, where the voter has since voted for another candidate: two leaders of one term
(Raft's election safety, checked by a monitor). It needs a term without a leader, the vote
staying on its path through the candidate's next election timeout, and the voter's new vote
going to a rival of the same term."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.bugs._common import Link, Node, Ref
from fsm import Monitor, State
from testkit import Runtime

STORY = "5-node Raft election, late vote of an earlier term counted: two leaders"
NODES = 5
MAX_TERM = 4  # a node gives up after this term, so every run ends


@dataclass(frozen=True)
class RequestVote:
    term: int
    candidate: int


@dataclass(frozen=True)
class Vote:
    term: int
    voter: int
    granted: bool


@dataclass(frozen=True)
class Heartbeat:
    term: int
    leader: int
    last: bool


@dataclass(frozen=True)
class Elected:
    term: int
    leader: int


CANDIDATES: dict[int, set[int]] = {}
"""Who stood in each term of the last run (read by bench/strategies.py for its evidence)."""


class ElectionSafety(Monitor):
    """At most one leader per term."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("watching", {})
        self.when("watching", self.watch)
        self.initialize()

    def watch(self, event: Any) -> State:
        leaders: dict[int, int] = event.data
        e = event.message
        earlier = leaders.setdefault(e.term, e.leader)
        assert earlier == e.leader, f"nodes {earlier} and {e.leader} both lead term {e.term}"
        return self.stay()


class RaftNode(Node):
    def __init__(self, me: int, peers: list[Ref], checks_term: bool) -> None:
        self.me = me
        self.checks_term = checks_term
        self.peers = peers
        self.term = 0
        self.voted_for: int | None = None
        self.votes: set[int] = set()
        self.role = "follower"
        self.path = Link.start()
        super().__init__()

    def reset_election_timer(self) -> None:
        self.start_single_timer("election", "timeout", 0.15 + 0.03 * self.random_int(6))

    def handle(self, message: Any) -> State | None:
        match message:
            case "go":
                self.reset_election_timer()
            case "timeout" if self.role in ("follower", "candidate"):
                if self.term >= MAX_TERM:
                    self.role = "gave up"
                    return None
                self.term += 1
                self.role, self.voted_for, self.votes = "candidate", self.me, {self.me}
                CANDIDATES.setdefault(self.term, set()).add(self.me)
                for i, peer in enumerate(self.peers):
                    if i != self.me:
                        peer.tell(RequestVote(self.term, self.me))
                self.reset_election_timer()
            case RequestVote(term, candidate) if self.role != "done":
                if term > self.term:
                    self.term, self.role, self.voted_for = term, "follower", None
                free = self.voted_for in (None, candidate)
                granted = term == self.term and free
                if granted:
                    self.voted_for = candidate
                    self.reset_election_timer()
                self.path.tell((self.peers[candidate], Vote(self.term, self.me, granted)))
            case Vote(term, voter, granted) if self.role == "candidate" and (
                term == self.term or not self.checks_term
            ):
                if granted:
                    self.votes.add(voter)
                if len(self.votes) * 2 > NODES:
                    self.role = "leader"
                    self.monitor(ElectionSafety, Elected(self.term, self.me))
                    self.cancel_timer("election")
                    self.start_single_timer("beat", 1, 0.05)
            case int(beat) if self.role == "leader":
                for i, peer in enumerate(self.peers):
                    if i != self.me:
                        peer.tell(Heartbeat(self.term, self.me, beat == 3))
                if beat == 3:
                    self.role = "done"
                    return None
                self.start_single_timer("beat", beat + 1, 0.05)
            case Heartbeat(term, _, last) if term >= self.term and self.role != "done":
                self.term, self.role = term, "done" if last else "follower"
                if last:
                    self.cancel_timer("election")
                else:
                    self.reset_election_timer()
        return None


def _election(runtime: Runtime, checks_term: bool) -> None:
    CANDIDATES.clear()
    runtime.register_monitor(ElectionSafety)
    peers: list[Ref] = []
    peers.extend(RaftNode.start(i, peers, checks_term) for i in range(NODES))
    for node in peers:
        node.tell("go")


def buggy(runtime: Runtime) -> None:
    _election(runtime, checks_term=False)


def fixed(runtime: Runtime) -> None:
    _election(runtime, checks_term=True)
