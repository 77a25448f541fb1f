"""A shop charges orders at a bank: one `Charge` per order, each with the order's id. The seeded
bug: the bank applies every charge it receives, so a charge delivered twice (a retransmission:
`duplicate=Shop->Bank`) takes the money twice. The fix remembers the order ids it has charged
and applies each once. Without a declared duplicate every charge arrives exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.bugs._common import Node, Ref
from fsm import State
from testkit import Faults, Runtime

STORY = "a retransmitted charge is applied twice (no idempotency key)"
ORDERS = 4
FAULTS = Faults(duplicate=[("Shop", "Bank")], budget=1)
"""The fault this system's bug needs (and its fixed variant survives)."""


@dataclass(frozen=True)
class Charge:
    order: int
    amount: int


@dataclass(frozen=True)
class Charged:
    order: int


class Bank(Node):
    """Debits an account; with `idempotent`, each order id once."""

    def __init__(self, ledger: list[int], idempotent: bool) -> None:
        self.ledger = ledger
        self.idempotent = idempotent
        self.seen: set[int] = set()
        super().__init__()

    def handle(self, message: Any) -> State | None:
        if isinstance(message, tuple):
            charge, shop = message
            if not (self.idempotent and charge.order in self.seen):
                self.seen.add(charge.order)
                self.ledger.append(charge.amount)
            shop.tell(Charged(charge.order))
        return None


class Shop(Node):
    """Charges orders 1..ORDERS one after another, 10 each."""

    def __init__(self, bank: Ref) -> None:
        self.bank = bank
        self.order = 0
        super().__init__()

    def handle(self, message: Any) -> State | None:
        if message == "go" or (isinstance(message, Charged) and message.order == self.order):
            self.next_order()
        return None

    def next_order(self) -> None:
        if self.order < ORDERS:
            self.order += 1
            self.bank.tell((Charge(self.order, 10), self.actor_ref))


def _run(runtime: Runtime, idempotent: bool) -> None:
    ledger: list[int] = []
    Shop.start(Bank.start(ledger, idempotent)).tell("go")
    runtime.run()
    assert sum(ledger) <= 10 * ORDERS, f"charged {sum(ledger)} for {ORDERS} orders of 10"


def buggy(runtime: Runtime) -> None:
    _run(runtime, idempotent=False)


def fixed(runtime: Runtime) -> None:
    _run(runtime, idempotent=True)
