"""`LedgerDriver` and `LedgerSafety`: crash an account mid-stream, restart it, check what
survived. This is the hand-written crash driver of the systematic test.

The driver is the account's client. It sends its commands (numbered 1..n, answers to itself),
with a `Halt` (a crash) slipped in after a random number of them, and reports every
acknowledgement to the `LedgerSafety` monitor. When the account has halted, the driver starts
a new instance on the same journal (it recovers), asks for its state, and the monitor checks
that every acknowledged command is in it. Then the driver sends every command again, as a
client does after a crash, and the monitor checks that each was applied exactly once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import pykka

import fsm
from failover_examples.actors import ExampleActor
from failover_examples.ledger.account import Account
from failover_examples.ledger.messages import (
    Accepted,
    Command,
    Deposit,
    Duplicate,
    GetState,
    Halt,
    Halted,
    Refused,
    StateIs,
    Withdraw,
)
from failover_examples.liveness import Busy, BusyIdleMonitor, Idle
from failover_examples.messaging import tell
from fsm import FSM, Event, Monitor, State

CLIENT = "driver"
ACCOUNT = "A"


def default_commands() -> tuple[Command, ...]:
    """Deposits of 1, 2 and 4, a withdrawal of 2 in between: final balance 5."""
    return (
        Deposit(CLIENT, 1, 1),
        Deposit(CLIENT, 2, 2),
        Withdraw(CLIENT, 3, 2),
        Deposit(CLIENT, 4, 4),
    )


# ---- what the monitor hears -------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledged:
    """The account answered command `seq` with Accepted or Refused."""

    seq: int


@dataclass(frozen=True)
class Recovered:
    """A restarted account recovered; `last_seq` is the last command of the client in it."""

    last_seq: int


@dataclass(frozen=True)
class Final:
    """Every command was answered after the restart; the account's balance and last seq."""

    balance: int
    last_seq: int
    expected_balance: int
    commands: int


@dataclass(frozen=True)
class _Seen:
    acknowledged: frozenset[int] = field(default_factory=frozenset)


class LedgerSafety(Monitor):
    """Nothing acknowledged is lost in a crash, and every command is applied exactly once."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("Watching", _Seen())
        self.when("Watching", self.watching)
        self.initialize()

    def watching(self, event: Event) -> State | None:
        seen: _Seen = event.data
        match event.message:
            case Acknowledged(seq):
                return self.stay().using(_Seen(seen.acknowledged | {seq}))
            case Recovered(last_seq):
                lost = sorted(seq for seq in seen.acknowledged if seq > last_seq)
                assert not lost, (
                    f"acknowledged command(s) {lost} lost in the crash: the account recovered "
                    f"only up to command {last_seq}"
                )
                return self.stay()
            case Final(balance, last_seq, expected, commands):
                assert last_seq == commands, (
                    f"after the retries the account processed up to command {last_seq} of "
                    f"{commands}"
                )
                assert balance == expected, (
                    f"balance {balance} after every command exactly once should be {expected}"
                )
                return self.stay()
        return None


class LedgerLiveness(BusyIdleMonitor):
    """Busy (hot) from the driver's start until every command was answered and checked."""


# ---- the driver -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StartTest:
    pass


class Phase(enum.Enum):
    INIT = "Init"
    FIRST = "First"
    RECOVERING = "Recovering"
    RETRYING = "Retrying"
    CHECKING = "Checking"


class LedgerDriver(FSM, ExampleActor):
    """Sends `commands` to an `account_class` account on `journal`, crashes it once after a
    random number of them, restarts it, and has the monitors check what survived."""

    def __init__(
        self,
        journal: fsm.Journal,
        account_class: type[Account] = Account,
        commands: tuple[Command, ...] | None = None,
        expected_balance: int = 5,
    ) -> None:
        super().__init__()
        self.journal = journal
        self.account_class = account_class
        self.commands = commands if commands is not None else default_commands()
        self.expected_balance = expected_balance
        self.account: pykka.ActorRef[Any] | None = None
        self.answered: set[int] = set()
        self.start_with(Phase.INIT, None)
        self.when(Phase.INIT, self.init)
        self.when(Phase.FIRST, self.first)
        self.when(Phase.RECOVERING, self.recovering)
        self.when(Phase.RETRYING, self.retrying)
        self.when(Phase.CHECKING, self.checking)
        self.when_unhandled(self.late)
        self.initialize()

    def start_account(self) -> pykka.ActorRef[Any]:
        ref: pykka.ActorRef[Any] = self.account_class.start(
            ACCOUNT, self.journal, snapshot_every=2, supervisor=self.actor_ref
        )
        return ref

    def send(self, command: Command) -> None:
        tell(self.account, _addressed(command, self.actor_ref))

    def init(self, event: Event) -> State | None:
        if not isinstance(event.message, StartTest):
            return None
        self.monitor(LedgerLiveness, Busy())
        self.account = self.start_account()
        crash_after = self.random_int(len(self.commands) + 1)
        self.log.info("sending %d commands, a crash after %d", len(self.commands), crash_after)
        for index, command in enumerate(self.commands):
            if index == crash_after:
                tell(self.account, Halt())
            self.send(command)
        if crash_after == len(self.commands):
            tell(self.account, Halt())
        return self.goto(Phase.FIRST)

    def first(self, event: Event) -> State | None:
        if isinstance(event.message, Halted):
            self.log.info("the account halted; starting a new instance, which recovers")
            self.account = self.start_account()
            tell(self.account, GetState(self.actor_ref))
            return self.goto(Phase.RECOVERING)
        return None

    def recovering(self, event: Event) -> State | None:
        if isinstance(event.message, StateIs):
            self.monitor(LedgerSafety, Recovered(event.message.last_seq.get(CLIENT, 0)))
            for command in self.commands:  # a client retries whatever it sent
                self.send(command)
            return self.goto(Phase.RETRYING)
        return None

    def retrying(self, event: Event) -> State | None:
        message = event.message
        if isinstance(message, Accepted | Refused | Duplicate):
            self.acknowledge(message)
            self.answered.add(message.seq)
            if len(self.answered) == len(self.commands):
                tell(self.account, GetState(self.actor_ref))
                return self.goto(Phase.CHECKING)
            return self.stay()
        return None

    def checking(self, event: Event) -> State | None:
        if isinstance(event.message, StateIs):
            found = event.message
            final = Final(
                found.balance,
                found.last_seq.get(CLIENT, 0),
                self.expected_balance,
                len(self.commands),
            )
            self.monitor(LedgerSafety, final)
            self.monitor(LedgerLiveness, Idle())
            if self.account is not None:
                self.account.stop(block=False)
            return self.stop()
        return None

    def late(self, event: Event) -> State | None:
        message = event.message
        if isinstance(message, Accepted | Refused | Duplicate):
            self.acknowledge(message)
            return self.stay()
        self.log.warning("driver ignores %r in %s", message, self.state_name)
        return self.stay()

    def acknowledge(self, answer: Accepted | Refused | Duplicate) -> None:
        if isinstance(answer, Accepted | Refused):
            self.monitor(LedgerSafety, Acknowledged(answer.seq))


def _addressed(command: Command, reply_to: pykka.ActorRef[Any]) -> Command:
    if isinstance(command, Deposit):
        return Deposit(command.client, command.seq, command.amount, reply_to)
    return Withdraw(command.client, command.seq, command.amount, reply_to)
