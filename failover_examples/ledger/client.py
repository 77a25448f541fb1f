"""`LedgerClient`: a client of an account that may crash and be restarted at any moment.

The hand-written `LedgerDriver` halts the account itself and knows when to restart it and
check what survived. A client in production knows none of that: it sends its commands to
whichever `Account` is running (found in Pykka's registry: a restarted account is a new actor
with a new ref) and, when its patience runs out, sends every command not answered yet again
(the account recognises a retry, `Duplicate`, so each is applied once). When every command is
answered it asks for the account's state and reports it to `LedgerSafety`: every command,
acknowledged before a crash or after, must be in it exactly once.
"""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass
from typing import Any

import pykka

from failover_examples.actors import ExampleActor
from failover_examples.ledger.account import Account
from failover_examples.ledger.driver import (
    CLIENT,
    Acknowledged,
    Final,
    LedgerLiveness,
    LedgerSafety,
    _addressed,
    default_commands,
)
from failover_examples.ledger.messages import (
    Accepted,
    Command,
    Duplicate,
    GetState,
    Refused,
    StateIs,
)
from failover_examples.liveness import Busy, Idle
from fsm import FSM, Event, State

PATIENCE = 1.0
"""Seconds the client waits before sending its unanswered commands again."""


@dataclass(frozen=True)
class Patience:
    """The patience timer's tick."""


class ClientPhase(enum.Enum):
    SENDING = "Sending"
    CHECKING = "Checking"
    DONE = "Done"


class LedgerClient(FSM, ExampleActor):
    """Sends `commands` to the running account until each is answered, then checks the
    account's state (`expected_balance`); gives up after `attempts` ticks of patience.

    Example: `LedgerClient.start()` next to `Account.start("A", journal)`.
    """

    def __init__(
        self,
        commands: tuple[Command, ...] | None = None,
        expected_balance: int = 5,
        attempts: int = 20,
    ) -> None:
        super().__init__()
        self.commands = commands if commands is not None else default_commands()
        self.expected_balance = expected_balance
        self.attempts = attempts
        self.ticks = 0
        self.answered: set[int] = set()
        self.start_with(ClientPhase.SENDING, None)
        self.when(ClientPhase.SENDING, self.sending)
        self.when(ClientPhase.CHECKING, self.checking)
        self.when(ClientPhase.DONE, self.done)
        self.initialize()

    def on_start(self) -> None:
        self.monitor(LedgerLiveness, Busy())
        self.send_unanswered()
        self.start_single_timer("patience", Patience(), PATIENCE)

    def account(self) -> pykka.ActorRef[Any] | None:
        accounts = pykka.ActorRegistry.get_by_class(Account)
        return accounts[0] if accounts else None

    def send_unanswered(self) -> None:
        account = self.account()
        if account is None:
            self.log.warning("no account is running (restarting?)")
            return
        for command in self.commands:
            if command.seq not in self.answered:
                try:
                    account.tell(_addressed(command, self.actor_ref))
                except pykka.ActorDeadError:
                    return  # it crashed just now: the next tick finds its successor

    def sending(self, event: Event) -> State | None:
        match event.message:
            case Accepted() | Refused() | Duplicate() as answer:
                if isinstance(answer, Accepted | Refused):
                    self.monitor(LedgerSafety, Acknowledged(answer.seq))
                self.answered.add(answer.seq)
                if len(self.answered) < len(self.commands):
                    return self.stay()
                return self.check()
            case Patience():
                return self.tick(self.send_unanswered)
        return None

    def check(self) -> State:
        account = self.account()
        if account is not None:
            with contextlib.suppress(pykka.ActorDeadError):  # the next tick asks its successor
                account.tell(GetState(self.actor_ref))
        return self.goto(ClientPhase.CHECKING)

    def checking(self, event: Event) -> State | None:
        match event.message:
            case StateIs(_, balance, last_seq):
                final = Final(
                    balance, last_seq.get(CLIENT, 0), self.expected_balance, len(self.commands)
                )
                self.monitor(LedgerSafety, final)
                return self.finish()
            case Patience():
                return self.tick(self.check)
            case Accepted() | Refused() | Duplicate():
                return self.stay()  # a late answer to a retry
        return None

    def tick(self, again: Any) -> State:
        self.ticks += 1
        if self.ticks >= self.attempts:
            self.log.warning("giving up after %d ticks of patience", self.ticks)
            return self.finish()
        result = again()
        self.start_single_timer("patience", Patience(), PATIENCE)
        return result if isinstance(result, State) else self.stay()

    def done(self, event: Event) -> State | None:
        return self.stay()

    def finish(self) -> State:
        self.cancel_timer("patience")
        self.monitor(LedgerLiveness, Idle())
        return self.goto(ClientPhase.DONE)
