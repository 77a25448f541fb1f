"""The ledger's protocol: commands, their answers, and the events an account persists.

A command names its client and the client's sequence number for it; a client numbers its
commands 1, 2, 3, ... and sends the next one only after the previous was answered (or, after
a crash, sends the unanswered ones again). The account remembers the last sequence number it
processed per client, so a command sent twice is processed once: a repeat is answered
`Duplicate` instead of being applied again.

Events are registered with `fsm.register_event` under `ledger.*` names: that is what the
journal stores, so these names must never change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pykka

import fsm

# ---- commands (to an account) ---------------------------------------------------------------


@dataclass(frozen=True)
class Deposit:
    """Add `amount` (cents, > 0). `reply_to`: where the answer goes (None: the asker)."""

    client: str
    seq: int
    amount: int
    reply_to: pykka.ActorRef[Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Withdraw:
    """Take `amount` (cents, > 0) if the balance covers it, else refuse."""

    client: str
    seq: int
    amount: int
    reply_to: pykka.ActorRef[Any] | None = field(default=None, compare=False, repr=False)


Command = Deposit | Withdraw


@dataclass(frozen=True)
class GetState:
    """Ask for the account's `StateIs`."""

    reply_to: pykka.ActorRef[Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Halt:
    """Stand-in for a crash (kill -9, a power cut): the account stops at once, running
    nothing on the way out."""


@dataclass(frozen=True)
class Flush:
    """`WriteBehindAccount`'s timer: write what it has buffered."""


# ---- answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """The command was applied; `balance` is the balance after it."""

    account: str
    client: str
    seq: int
    balance: int


@dataclass(frozen=True)
class Refused:
    """The withdrawal was refused (insufficient funds); the refusal is recorded too."""

    account: str
    client: str
    seq: int
    balance: int


@dataclass(frozen=True)
class Duplicate:
    """The command was processed before (a retry); it was not applied again."""

    account: str
    client: str
    seq: int


Answer = Accepted | Refused | Duplicate


@dataclass(frozen=True)
class StateIs:
    """An account's state: its balance and, per client, the last sequence number processed."""

    account: str
    balance: int
    last_seq: dict[str, int]


@dataclass(frozen=True)
class Halted:
    """Told to the account's supervisor (the failover driver) just before it halts."""

    account: str


# ---- events (persisted) and state data (snapshotted) ------------------------------------------


@dataclass(frozen=True)
class Deposited:
    client: str
    seq: int
    amount: int


@dataclass(frozen=True)
class Withdrawn:
    client: str
    seq: int
    amount: int


@dataclass(frozen=True)
class WithdrawalRefused:
    client: str
    seq: int
    amount: int


LedgerEvent = Deposited | Withdrawn | WithdrawalRefused


@dataclass(frozen=True)
class AccountData:
    """An account's state data: the balance and the last sequence number per client."""

    balance: int = 0
    last_seq: dict[str, int] = field(default_factory=dict)

    def processed(self, client: str, seq: int) -> bool:
        """Whether the command `seq` of `client` was processed already."""
        return seq <= self.last_seq.get(client, 0)


fsm.register_event(Deposited, "ledger.Deposited")
fsm.register_event(Withdrawn, "ledger.Withdrawn")
fsm.register_event(WithdrawalRefused, "ledger.WithdrawalRefused")
fsm.register_event(AccountData, "ledger.AccountData")
