"""The ledger for real: accounts on an SQLite journal under load, and the check after a crash.

`serve` starts `--accounts` accounts and one client thread per account. Each client sends
deposits and withdrawals with `ask` and, for every answer, prints one line to stdout (flushed
at once):

    ACK <account> <client> <seq> accepted|refused <delta>

A line is printed only after the account answered, and the account answers only after the
journal confirmed the write; so after a `kill -9` every printed line must be in the journal.
Clients are named after `--run`, so a restarted server's clients are new ones.

`verify` reads such lines (files or stdin) and recovers every account named in them from the
journal, exactly as a restarted server does; it reports each acknowledged command that is
missing, or recorded with another outcome, and checks each balance against its events.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import threading
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import pykka

import fsm
from failover_examples.actors import use_pool
from failover_examples.ledger.account import Account, WriteBehindAccount
from failover_examples.ledger.messages import (
    Accepted,
    Deposit,
    Deposited,
    GetState,
    Refused,
    StateIs,
    Withdraw,
    WithdrawalRefused,
    Withdrawn,
)

_log = logging.getLogger("failover_examples.ledger")

VARIANTS: dict[str, type[Account]] = {"fixed": Account, "write-behind": WriteBehindAccount}
"""The accounts `serve --variant` runs. (`EagerAccount` errs only for commands with a
`reply_to`; these clients ask, so it would behave as `Account` here.)"""


class _Output:
    """Whole lines to stdout, flushed at once, from many client threads."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def line(self, text: str) -> None:
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()


def _client(
    account: pykka.ActorRef[Any],
    name: str,
    client: str,
    commands: int,
    seed: int,
    out: _Output,
    stop: threading.Event,
) -> None:
    """Send commands one at a time; print each acknowledgement."""
    rng = random.Random(seed)
    seq = 0
    while not stop.is_set() and (commands == 0 or seq < commands):
        seq += 1
        amount = rng.randint(1, 100)
        command: Deposit | Withdraw = (
            Deposit(client, seq, amount) if rng.random() < 0.6 else Withdraw(client, seq, amount)
        )
        try:
            answer = account.ask(command, timeout=60)
        except Exception as exc:  # the account stopped (a failed write): nothing acknowledged
            _log.error("client %s: command %d not acknowledged: %r", client, seq, exc)
            return
        if isinstance(answer, Accepted):
            delta = amount if isinstance(command, Deposit) else -amount
            out.line(f"ACK {name} {client} {seq} accepted {delta}")
        elif isinstance(answer, Refused):
            out.line(f"ACK {name} {client} {seq} refused {-amount}")
        else:
            _log.error("client %s: unexpected answer %r", client, answer)
            return


def state_of(account: pykka.ActorRef[Any]) -> StateIs:
    """The account's balance and last sequence numbers, asked."""
    answer = account.ask(GetState(), timeout=60)
    if not isinstance(answer, StateIs):
        raise TypeError(f"{account} answered GetState with {answer!r}")
    return answer


def serve(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Run the accounts and their clients until `--commands` each are done (0: forever)."""
    use_pool(args.pooled)
    journal = fsm.SQLiteJournal(args.journal, synchronous=args.synchronous)
    fsm.set_default_journal(journal)
    variant = VARIANTS[args.variant]
    output = _Output(out)
    names = [f"{index:03d}" for index in range(args.accounts)]
    extra: dict[str, Any] = {}
    if variant is WriteBehindAccount:
        extra["flush_after"] = args.flush_after
    accounts = {
        name: variant.start(name, snapshot_every=args.snapshot_every, **extra) for name in names
    }
    for name, ref in accounts.items():
        output.line(f"RECOVERED {name} balance {state_of(ref).balance}")
    stop = threading.Event()
    threads = []
    for name, ref in accounts.items():
        client = f"{args.run}-{name}"
        seed = zlib.crc32(client.encode())
        threads.append(
            threading.Thread(
                target=_client,
                args=(ref, name, client, args.commands, seed, output, stop),
                name=f"client-{name}",
                daemon=True,
            )
        )
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        stop.set()
    finally:
        pykka.ActorRegistry.stop_all()
        journal.close()
    output.line("DONE")
    return 0


# ---- verify ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    account: str
    client: str
    seq: int
    outcome: str
    delta: int


def parse_acks(lines: Iterable[str]) -> list[Ack]:
    """The complete `ACK` lines among `lines` (a line cut short by the kill is skipped)."""
    acks = []
    for line in lines:
        parts = line.split()
        if len(parts) != 6 or parts[0] != "ACK" or not line.endswith("\n"):
            continue
        _, account, client, seq, outcome, delta = parts
        acks.append(Ack(account, client, int(seq), outcome, int(delta)))
    return acks


def check(journal: fsm.Journal, acks: Sequence[Ack]) -> list[str]:
    """What is wrong with the recovered accounts given `acks` (empty: all is well)."""
    problems: list[str] = []
    for name in sorted({ack.account for ack in acks}):
        ref = Account.start(name, journal)
        try:
            state = state_of(ref)
        finally:
            ref.stop()
        recorded: dict[tuple[str, int], tuple[str, int]] = {}
        balance = 0
        for event in journal.events(f"account-{name}"):
            match event:
                case Deposited(client, seq, amount):
                    recorded[client, seq] = ("accepted", amount)
                    balance += amount
                case Withdrawn(client, seq, amount):
                    recorded[client, seq] = ("accepted", -amount)
                    balance -= amount
                case WithdrawalRefused(client, seq, amount):
                    recorded[client, seq] = ("refused", -amount)
        if balance != state.balance:
            problems.append(
                f"account {name}: recovered balance {state.balance}, its events sum to {balance}"
            )
        for ack in acks:
            if ack.account != name:
                continue
            found = recorded.get((ack.client, ack.seq))
            if found is None:
                problems.append(
                    f"account {name}: acknowledged command {ack.client}#{ack.seq} "
                    f"({ack.outcome} {ack.delta}) is not in the journal"
                )
            elif found != (ack.outcome, ack.delta):
                problems.append(
                    f"account {name}: command {ack.client}#{ack.seq} was acknowledged as "
                    f"{ack.outcome} {ack.delta} but recorded as {found[0]} {found[1]}"
                )
            elif state.last_seq.get(ack.client, 0) < ack.seq:
                problems.append(
                    f"account {name}: recovered up to {ack.client}#"
                    f"{state.last_seq.get(ack.client, 0)}, acknowledged #{ack.seq}"
                )
    return problems


def verify(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Check every acknowledgement in the given files against the recovered journal."""
    lines: list[str] = []
    for path in args.acks or ["-"]:
        if path == "-":
            lines.extend(sys.stdin)
        else:
            with open(path, encoding="utf-8") as handle:
                lines.extend(handle)
    acks = parse_acks(lines)
    journal = fsm.SQLiteJournal(args.journal)
    try:
        problems = check(journal, acks)
    finally:
        journal.close()
    accounts = len({ack.account for ack in acks})
    if problems:
        for problem in problems:
            print(f"LOST {problem}", file=out)
        print(f"FAILED: {len(problems)} problem(s) in {len(acks)} acknowledgements", file=out)
        return 1
    print(
        f"OK: all {len(acks)} acknowledged commands of {accounts} account(s) are in the "
        "recovered state",
        file=out,
    )
    return 0
