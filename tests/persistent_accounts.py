"""A small event-sourced account the persistence tests share, and journals that misbehave.

`Account` is a mixin (`on(base, Account)` makes the actor class); its events are registered
under `test.*` names.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fsm
from fsm import FSM, Event, InMemoryJournal, PersistentFSM, PersistFailed, PersistRejected, State
from fsm._journal import AtomicWrite


class S(enum.Enum):
    OPEN = "Open"
    FROZEN = "Frozen"
    CLOSED = "Closed"


@dataclass(frozen=True)
class Deposit:
    amount: int


@dataclass(frozen=True)
class Withdraw:
    amount: int


@dataclass(frozen=True)
class Freeze:
    pass


@dataclass(frozen=True)
class Unfreeze:
    pass


@dataclass(frozen=True)
class Close:
    pass


@dataclass(frozen=True)
class GetBalance:
    pass


@dataclass(frozen=True)
class Deposited:
    amount: int


@dataclass(frozen=True)
class Withdrawn:
    amount: int


@dataclass(frozen=True)
class Balance:
    amount: int = 0
    history: tuple[int, ...] = ()


fsm.register_event(Deposited, "test.Deposited")
fsm.register_event(Withdrawn, "test.Withdrawn")
fsm.register_event(Balance, "test.Balance")


class Account(PersistentFSM, FSM):
    """Open accounts take deposits and withdrawals; frozen ones only unfreeze; closed ones
    only answer their balance. Every change is an event."""

    def __init__(
        self,
        pid: str,
        journal: fsm.Journal | None = None,
        snapshot_every: int | None = None,
        seen: list[Any] | None = None,
    ) -> None:
        super().__init__()
        self.persistence_id = pid
        if journal is not None:
            self.journal = journal
        if snapshot_every is not None:
            self.snapshot_every = snapshot_every
        self.seen = seen if seen is not None else []
        self.start_with(S.OPEN, Balance())
        self.when(S.OPEN, self.open)
        self.when(S.FROZEN, self.frozen)
        self.when(S.CLOSED, self.closed)
        self.when_unhandled(self.anywhere)
        self.on_transition(lambda a, b: self.seen.append(("transition", a, b)))
        self.initialize()

    def open(self, event: Event) -> State | None:
        match event:
            case Event(Deposit(n), _):
                return (
                    self.stay()
                    .applying(Deposited(n))
                    .and_then(lambda data: self.seen.append(("and_then", data.amount)))
                    .replying(("ok", n))
                )
            case Event(Withdraw(n), Balance(amount)) if n <= amount:
                return self.stay().applying(Withdrawn(n)).replying(("ok", -n))
            case Event(Withdraw(n), _):
                return self.stay().replying(("insufficient", n))
            case Event(Freeze(), _):
                return self.goto(S.FROZEN).replying("frozen")
            case Event(Close(), Balance(amount)):
                return self.goto(S.CLOSED).applying(Withdrawn(amount)).replying("closed")
        return None

    def frozen(self, event: Event) -> State | None:
        if isinstance(event.message, Unfreeze):
            return self.goto(S.OPEN).replying("open")
        return None

    def closed(self, event: Event) -> State | None:
        return None

    def anywhere(self, event: Event) -> State | None:
        if isinstance(event.message, GetBalance):
            return self.stay().replying((self.state_name, self.state_data.amount))
        return self.stay().replying(("refused", self.state_name))

    def apply_event(self, event: Any, data: Balance) -> Balance:
        match event:
            case Deposited(n):
                return Balance(data.amount + n, (*data.history, n))
            case Withdrawn(n):
                return Balance(data.amount - n, (*data.history, -n))
        raise AssertionError(f"unknown event {event!r}")

    def on_recovery_completed(self, state: Any, data: Any) -> None:
        self.seen.append(("recovered", state, data.amount, self.last_sequence_nr))


class FaultyJournal(InMemoryJournal):
    """An in-memory journal whose next writes fail or are rejected, and which can watch
    each write as it happens (`on_write(batch)` runs before the write is stored)."""

    def __init__(self, fail: int = 0, reject: int = 0) -> None:
        super().__init__()
        self.fail = fail
        self.reject = reject
        self.on_write: Callable[[AtomicWrite], None] | None = None
        self.writes: list[AtomicWrite] = []

    def write(self, batch: AtomicWrite) -> None:
        if self.on_write is not None:
            self.on_write(batch)
        if self.reject:
            self.reject -= 1
            raise PersistRejected(f"{self}: rejected by the test")
        if self.fail:
            self.fail -= 1
            raise PersistFailed(f"{self}: failed by the test")
        super().write(batch)
        self.writes.append(batch)


class GatedJournal(InMemoryJournal):
    """An in-memory journal whose writes wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.arrived = threading.Event()

    def write(self, batch: AtomicWrite) -> None:
        self.arrived.set()
        if not self.gate.wait(30):
            raise PersistFailed("the test never opened the gate")
        super().write(batch)
