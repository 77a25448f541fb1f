"""`Account`: a ledger account whose every answer is backed by what it persisted.

Each command becomes one event (`Deposited`, `Withdrawn` or `WithdrawalRefused`), written to
the journal before the account answers: `.applying(event)` and then the answer, via
`.replying(...)` for an `ask` or `.and_then(...)` for a command that names `reply_to`. After
a crash the account recovers its balance, its state and the last sequence number of every
client from the journal, so whatever it acknowledged is still there and a retried command is
recognised instead of applied twice.

States: `EMPTY` (balance 0: withdrawals are refused) and `FUNDED`; the state is persisted with
the events, not recomputed.

`WriteBehindAccount` is the seeded bug: it answers at once and writes its events a little later
in one batch (a tempting optimisation), so a crash in between loses acknowledged commands.
`EagerAccount` answers in the handler, just before the write: the window is one fsync long.
"""

from __future__ import annotations

import enum
from typing import Any

import pykka

import fsm
from failover_examples.actors import ExampleActor
from failover_examples.ledger.messages import (
    Accepted,
    AccountData,
    Answer,
    Command,
    Deposit,
    Deposited,
    Duplicate,
    Flush,
    GetState,
    Halt,
    Halted,
    LedgerEvent,
    Refused,
    StateIs,
    Withdraw,
    WithdrawalRefused,
    Withdrawn,
)
from failover_examples.messaging import tell
from fsm import FSM, Event, PersistentFSM, State


class AccountState(enum.Enum):
    EMPTY = "Empty"
    FUNDED = "Funded"


S = AccountState


def next_state(data: AccountData) -> AccountState:
    return S.FUNDED if data.balance > 0 else S.EMPTY


class Account(PersistentFSM, FSM, ExampleActor):
    """The ledger account `account`, persisted under `account-<account>` in `journal`
    (default: `fsm.default_journal()`), with a snapshot every `snapshot_every` events.
    `supervisor` is told `Halted` when a `Halt` stops it."""

    def __init__(
        self,
        account: str,
        journal: fsm.Journal | None = None,
        snapshot_every: int | None = 100,
        supervisor: pykka.ActorRef[Any] | None = None,
    ) -> None:
        super().__init__()
        self.account = account
        self.supervisor = supervisor
        self.persistence_id = f"account-{account}"
        if journal is not None:
            self.journal = journal
        self.snapshot_every = snapshot_every
        self.start_with(S.EMPTY, AccountData())
        self.when(S.EMPTY, self.commands)
        self.when(S.FUNDED, self.commands)
        self.when_unhandled(self.anywhere)
        self.initialize()  # recovers from the journal

    def on_recovery_completed(self, state: Any, data: AccountData) -> None:
        if self.last_sequence_nr:
            self.log.info(
                "account %s recovered: %s, balance %d, %d entries",
                self.account,
                state.value,
                data.balance,
                self.last_sequence_nr,
            )

    # ---- commands ------------------------------------------------------------------------

    def view(self) -> AccountData:
        """The data commands are decided on."""
        data: AccountData = self.state_data
        return data

    def commands(self, event: Event) -> State | None:
        command = event.message
        if not isinstance(command, Deposit | Withdraw):
            return None
        data = self.view()
        if data.processed(command.client, command.seq):
            return None  # a repeat: `anywhere` answers it
        change: LedgerEvent
        if isinstance(command, Deposit):
            change = Deposited(command.client, command.seq, command.amount)
            answer: Answer = Accepted(
                self.account, command.client, command.seq, data.balance + command.amount
            )
        elif command.amount <= data.balance:
            change = Withdrawn(command.client, command.seq, command.amount)
            answer = Accepted(
                self.account, command.client, command.seq, data.balance - command.amount
            )
        else:
            change = WithdrawalRefused(command.client, command.seq, command.amount)
            answer = Refused(self.account, command.client, command.seq, data.balance)
        return self.process(command, change, answer)

    def process(self, command: Command, change: LedgerEvent, answer: Answer) -> State:
        """Persist `change`; answer once it is written."""
        return self.answer(self.persisting(change), command.reply_to, answer)

    def persisting(self, *changes: LedgerEvent) -> State:
        """Apply and persist `changes`, moving to the state their balance calls for."""
        data = self.state_data
        for change in changes:
            data = self.apply_event(change, data)
        target = next_state(data)
        state = self.goto(target) if target is not self.state_name else self.stay()
        return state.applying(*changes)

    def answer(self, state: State, reply_to: pykka.ActorRef[Any] | None, answer: Any) -> State:
        """`state` answering `answer`: to `reply_to` if given, else to the asker."""
        if reply_to is None:
            return state.replying(answer)
        return state.and_then(lambda _data: tell(reply_to, answer))

    def anywhere(self, event: Event) -> State | None:
        match event.message:
            case Deposit() | Withdraw() as command:
                duplicate = Duplicate(self.account, command.client, command.seq)
                return self.answer(self.stay(), command.reply_to, duplicate)
            case GetState(reply_to):
                data = self.view()
                found = StateIs(self.account, data.balance, dict(data.last_seq))
                return self.answer(self.stay(), reply_to, found)
            case Halt():
                self.log.info("account %s halts (a crash: nothing more is written)", self.account)
                tell(self.supervisor, Halted(self.account))
                return self.stop()
        self.log.warning("account %s ignores %r", self.account, event.message)
        return self.stay()

    # ---- events --------------------------------------------------------------------------

    def apply_event(self, event: Any, data: AccountData) -> AccountData:
        match event:
            case Deposited(client, seq, amount):
                balance = data.balance + amount
            case Withdrawn(client, seq, amount):
                balance = data.balance - amount
            case WithdrawalRefused(client, seq, _):
                balance = data.balance
            case _:
                raise ValueError(f"account {self.account}: unknown event {event!r}")
        return AccountData(balance, {**data.last_seq, client: seq})


class WriteBehindAccount(Account):
    """The seeded bug: answers at once, writes the buffered events `flush_after` seconds
    later in one batch. A crash before the flush loses commands it acknowledged."""

    def __init__(self, *args: Any, flush_after: float = 0.05, **kwargs: Any) -> None:
        self.pending: list[LedgerEvent] = []
        self.flush_after = flush_after
        super().__init__(*args, **kwargs)

    def view(self) -> AccountData:
        data: AccountData = self.state_data
        for change in self.pending:
            data = self.apply_event(change, data)
        return data

    def process(self, command: Command, change: LedgerEvent, answer: Answer) -> State:
        self.pending.append(change)
        if not self.is_timer_active("flush"):
            self.start_single_timer("flush", Flush(), self.flush_after)
        # BUG: the answer goes out before the event is written
        return self.answer(self.stay(), command.reply_to, answer)

    def anywhere(self, event: Event) -> State | None:
        if isinstance(event.message, Flush):
            changes, self.pending = tuple(self.pending), []
            return self.persisting(*changes) if changes else self.stay()
        return super().anywhere(event)


class EagerAccount(Account):
    """A subtler seeded bug: answers in the handler, just before the journal writes. The
    window between answer and write is one fsync long; a `kill -9` there (under the tester, a
    declared crash while the account waits for its journal write, a scheduling point) loses
    the acknowledged command: `ledger.execute_eager` finds it."""

    def process(self, command: Command, change: LedgerEvent, answer: Answer) -> State:
        if command.reply_to is None:  # an ask is answered by its return value: no way to err
            return super().process(command, change, answer)
        tell(command.reply_to, answer)  # BUG: told now, not in and_then after the write
        return self.persisting(change)
