"""Systems for the tester's inputs and outputs: a test made by a factory, a message whose
repr is hostile HTML, and one race whose message names an id that changes from run to run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pykka

from fsm import FSM, Event, State
from testkit import Runtime

from . import buggy_systems

# ---- a test made by a factory -------------------------------------------------------------


def make(atomic: bool = False) -> Callable[[Runtime], None]:
    """A lost-update test (the fixed one with `atomic=True`), made by a factory."""

    def made_test(runtime: Runtime) -> None:
        if atomic:
            buggy_systems.lost_update_fixed(runtime)
        else:
            buggy_systems.lost_update(runtime)

    return made_test


made = make()
"""A factory's result bound to a module-level name: `tests.io_systems:made`."""


# ---- a message whose repr would end an HTML page's script ---------------------------------


@dataclass(frozen=True)
class Shout:
    text: str


class Parrot(FSM, pykka.ThreadingActor):
    """Cannot repeat what it hears."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("listening", None)
        self.when("listening", self.listening)
        self.initialize()

    def listening(self, event: Event) -> State | None:
        match event:
            case Event(Shout(text), _):
                raise AssertionError(f"cannot repeat {text}")
        return None


HOSTILE = "<!--<script>document.body.innerHTML='gone'</script><script>"


def hostile_html(runtime: Runtime) -> None:
    Parrot.start().tell(Shout(HOSTILE))


# ---- one race, a different id in its message each time -----------------------------------


@dataclass(frozen=True)
class Withdraw:
    request: int
    amount: int


@dataclass(frozen=True)
class Deposit:
    amount: int


class Account(FSM, pykka.ThreadingActor):
    """Refuses to go below zero: a withdrawal that arrives before the deposit fails."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("open", 0)
        self.when("open", self.open)
        self.initialize()

    def open(self, event: Event) -> State | None:
        match event:
            case Event(Deposit(amount), balance):
                return self.stay().using(balance + amount)
            case Event(Withdraw(request, amount), balance):
                if request % 7 == 0:
                    raise KeyError(f"unknown request {request}")  # another handler line
                assert balance >= amount, f"overdraft by request {request}"
                return self.stay().using(balance - amount)
        return None


class Client(FSM, pykka.ThreadingActor):
    """Withdraws once, with a request id of its own choosing."""

    def __init__(self, account: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.account = account
        self.start_with("idle", None)
        self.when("idle", self.idle)
        self.initialize()

    def on_start(self) -> None:
        self.account.tell(Withdraw(self.random_int(1000), 10))

    def idle(self, event: Event) -> State | None:
        return None


def overdraft(runtime: Runtime) -> None:
    """A withdrawal can overtake the deposit: one race, its message names the request."""
    account = Account.start()
    Client.start(account)
    account.tell(Deposit(10))
