"""Two-phase commit with a coordinator timeout, five transactions in a row; each participant
votes over its own network path and serves a client's reads meanwhile. The seeded bug: the
coordinator counts a vote without checking its transaction, so a vote that arrives after its
transaction timed out is counted for the next one. It needs the last participant's vote on the
fourth transaction to stay on its path through the coordinator's whole timeout (three ticks)
and the start of the fifth, where that participant votes no."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.bugs._common import Link, Node, Ref
from fsm import State
from testkit import Runtime

STORY = "two-phase commit, late vote counted for the next transaction"
PARTICIPANTS = 3
TRANSACTIONS = 5
TIMEOUT_TICKS = 3  # the coordinator gives up on a transaction at its third tick
READS = 60


@dataclass(frozen=True)
class Prepare:
    txn: int


@dataclass(frozen=True)
class VoteMsg:
    txn: int
    voter: int
    yes: bool


@dataclass(frozen=True)
class Decision:
    txn: int
    commit: bool


@dataclass(frozen=True)
class Timeout:
    txn: int
    ticks: int


@dataclass(frozen=True)
class Read:
    reply_to: Ref


class Participant(Node):
    """Votes yes, except the last participant, which cannot take the last transaction."""

    def __init__(self, me: int, coordinator: list[Ref]) -> None:
        self.me = me
        self.coordinator = coordinator
        self.votes: dict[int, bool] = {}
        self.path = Link.start()
        super().__init__()

    def handle(self, message: Any) -> State | None:
        match message:
            case Prepare(txn):
                yes = not (self.me == PARTICIPANTS - 1 and txn == TRANSACTIONS)
                self.votes[txn] = yes
                self.path.tell((self.coordinator[0], VoteMsg(txn, self.me, yes)))
            case Decision(txn, True):
                vote = self.votes.get(txn)
                assert vote, f"participant {self.me} voted {vote} on txn {txn}, yet it committed"
            case Read(reply_to):
                reply_to.tell(len(self.votes))
        return None


class Coordinator(Node):
    def __init__(self, participants: list[Ref], checks_txn: bool) -> None:
        self.participants = participants
        self.checks_txn = checks_txn
        self.txn = 0
        self.yes: set[int] = set()
        super().__init__()

    def begin(self) -> None:
        self.txn += 1
        self.yes = set()
        if self.txn > TRANSACTIONS:
            return
        for p in self.participants:
            p.tell(Prepare(self.txn))
        self.start_single_timer("timeout", Timeout(self.txn, 1), 1.0)

    def decide(self, commit: bool) -> None:
        self.cancel_timer("timeout")
        for p in self.participants:
            p.tell(Decision(self.txn, commit))
        self.begin()

    def handle(self, message: Any) -> State | None:
        match message:
            case "begin":
                self.begin()
            case VoteMsg(txn, voter, yes) if self.txn <= TRANSACTIONS and (
                txn == self.txn or not self.checks_txn
            ):
                if not yes:
                    self.decide(False)
                else:
                    self.yes.add(voter)
                    if len(self.yes) == PARTICIPANTS:
                        self.decide(True)
            case Timeout(txn, ticks) if txn == self.txn and ticks < TIMEOUT_TICKS:
                self.start_single_timer("timeout", Timeout(txn, ticks + 1), 1.0)
            case Timeout(txn) if txn == self.txn:
                self.decide(False)
        return None


class Reader(Node):
    """A client reading from the participants in turn, one read per reply, `READS` times."""

    def __init__(self, participants: list[Ref]) -> None:
        self.participants = participants
        self.done = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        if self.done < READS:
            self.participants[self.done % PARTICIPANTS].tell(Read(self.actor_ref))
            self.done += 1
        return None


def _run(runtime: Runtime, checks_txn: bool) -> None:
    coordinator: list[Ref] = []
    participants = [Participant.start(i, coordinator) for i in range(PARTICIPANTS)]
    coordinator.append(Coordinator.start(participants, checks_txn))
    coordinator[0].tell("begin")
    Reader.start(participants).tell("go")


def buggy(runtime: Runtime) -> None:
    _run(runtime, checks_txn=False)


def fixed(runtime: Runtime) -> None:
    _run(runtime, checks_txn=True)
