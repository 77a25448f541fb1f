"""The failover ledger: acknowledgements that must survive a crash, on a real journal.

An `Account` is a `PersistentFSM`: every command becomes an event written to the journal
before the account answers, so an acknowledged command survives a crash, and a client's retry
is recognised instead of applied twice.

`execute` is the systematic test of `WriteBehindAccount` (the seeded bug: it answers first and
writes a little later); `execute_fixed` tests `Account`. Both use the hand-written crash
driver (`LedgerDriver`) and an `InMemoryJournal` that outlives the crashed instance:

    python -m testkit test failover_examples.ledger:execute -i 100 --max-steps 2000

`execute_declared` and `execute_declared_fixed` test the same accounts without the driver: a
`LedgerClient` retries what is unanswered, and the crash is a declared fault (`FAULTS`: the
account may crash once, at any moment, and is restarted on the same journal):

    python -m testkit test failover_examples.ledger:execute_declared -i 300 --max-steps 2000 \
        --faults 'crash=Account;restart=Account;budget=1'

`execute_eager` tests `EagerAccount` the same way: it tells its answer in the handler, just
before the write. Under the tester a journal write is a scheduling point and a declared crash
may strike while the account waits for the journal, so the acknowledged command is lost:

    python -m testkit test failover_examples.ledger:execute_eager \
        --faults 'crash=Account;restart=Account;budget=1'

`python -m failover_examples.ledger serve --journal ledger.db` runs accounts for real on an
SQLite journal and prints one `ACK` line per acknowledged command; `verify` checks, after a
`kill -9` and a restart, that every one of them is in the recovered state.
"""

from __future__ import annotations

from failover_examples.ledger.account import Account, EagerAccount, WriteBehindAccount
from failover_examples.ledger.client import LedgerClient
from failover_examples.ledger.driver import LedgerDriver, LedgerLiveness, LedgerSafety, StartTest
from fsm import InMemoryJournal
from testkit import Faults, Runtime

FAULTS = Faults(crash=Account, restart=Account, budget=1)
"""What the declared variants let go wrong: one crash of the account, at any moment, and a
restart on the same journal (it recovers)."""


def run_with(runtime: Runtime, account_class: type[Account]) -> None:
    """One crash and restart of an `account_class` account, checked by both monitors."""
    runtime.register_monitor(LedgerSafety)
    runtime.register_monitor(LedgerLiveness)
    journal = InMemoryJournal()  # the "disk": it outlives the crashed instance
    LedgerDriver.start(journal, account_class).tell(StartTest())


def execute(runtime: Runtime) -> None:
    """The systematic test of the write-behind account (it has the seeded bug)."""
    run_with(runtime, WriteBehindAccount)


def execute_fixed(runtime: Runtime) -> None:
    """The same test against `Account`, which answers only after the write."""
    run_with(runtime, Account)


def execute_declared(runtime: Runtime) -> None:
    """The crash declared, not driven, against the write-behind account: explore it with
    `FAULTS`.

        testkit.explore(execute_declared, 300, 2000, faults=ledger.FAULTS)
    """
    declared_with(runtime, WriteBehindAccount)


def execute_declared_fixed(runtime: Runtime) -> None:
    """`execute_declared` against `Account`."""
    declared_with(runtime, Account)


def execute_eager(runtime: Runtime) -> None:
    """The crash declared, against the account that answers just before its write (explore
    it with `FAULTS`): found once the crash lands between the answer and the write's
    confirmation.

        testkit.explore(execute_eager, faults=ledger.FAULTS)
    """
    declared_with(runtime, EagerAccount)


def declared_with(runtime: Runtime, account_class: type[Account]) -> None:
    """An `account_class` account and a retrying `LedgerClient`; the crash is a fault."""
    runtime.register_monitor(LedgerSafety)
    runtime.register_monitor(LedgerLiveness)
    journal = InMemoryJournal()  # the "disk": it outlives a crashed instance
    account_class.start("A", journal, snapshot_every=2)
    LedgerClient.start()


__all__ = [
    "FAULTS",
    "Account",
    "EagerAccount",
    "LedgerClient",
    "LedgerDriver",
    "LedgerLiveness",
    "LedgerSafety",
    "StartTest",
    "WriteBehindAccount",
    "declared_with",
    "execute",
    "execute_declared",
    "execute_declared_fixed",
    "execute_eager",
    "execute_fixed",
    "run_with",
]
