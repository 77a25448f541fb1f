"""The failover ledger: acknowledgements that must survive a crash, on a real journal.

An `Account` is a `PersistentFSM`: every command becomes an event written to the journal
before the account answers, so an acknowledged command survives a crash, and a client's retry
is recognised instead of applied twice.

`execute` is the systematic test of `WriteBehindAccount` (the seeded bug: it answers first and
writes a little later); `execute_fixed` tests `Account`. Both use the hand-written crash
driver (`LedgerDriver`) and an `InMemoryJournal` that outlives the crashed instance:

    python -m testkit test failover_examples.ledger:execute -i 100 --max-steps 2000

`python -m failover_examples.ledger serve --journal ledger.db` runs accounts for real on an
SQLite journal and prints one `ACK` line per acknowledged command; `verify` checks, after a
`kill -9` and a restart, that every one of them is in the recovered state.
"""

from __future__ import annotations

from failover_examples.ledger.account import Account, EagerAccount, WriteBehindAccount
from failover_examples.ledger.driver import LedgerDriver, LedgerLiveness, LedgerSafety, StartTest
from fsm import InMemoryJournal
from testkit import Runtime


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


__all__ = [
    "Account",
    "EagerAccount",
    "LedgerDriver",
    "LedgerLiveness",
    "LedgerSafety",
    "StartTest",
    "WriteBehindAccount",
    "execute",
    "execute_fixed",
    "run_with",
]
