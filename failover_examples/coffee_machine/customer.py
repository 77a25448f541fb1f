"""`Customer`: orders a coffee from whichever `CoffeeMachine` is running, and is patient.

The customer of a machine that may reboot at any time (a crash and a restart, declared to the
tester as faults rather than written as a driver): it finds the machine through Pykka's
registry, since a restarted machine is a new actor with a new ref. When its patience runs out
(an order neither served nor refused, or refused: "needs a refill") it orders again, but only
from another instance than the one that has the order: the same instance is still brewing,
or still needs the refill, while a new one (after a reboot) lost the order with the old
one's mailbox, and may have been refilled. It gives up after `attempts` patience ticks,
and stops when it is served or gives up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import pykka

from failover_examples.actors import ExampleActor
from failover_examples.coffee_machine.events import CoffeeCompleted, MakeCoffee
from failover_examples.coffee_machine.machine import CoffeeMachine
from fsm import FSM, Event, State

PATIENCE = 5.0
"""Seconds the customer waits before looking again for a machine to order from."""


@dataclass(frozen=True)
class Patience:
    """The patience timer's tick."""


class CustomerState(enum.Enum):
    WAITING = "Waiting"


class Customer(FSM, ExampleActor):
    """Orders one coffee of `shots` shots, trying for at most `attempts` patience ticks.

    Example: `Customer.start(shots=2)` next to a running `CoffeeMachine`; the machine is
    started with the customer's ref as its client, so the answers come back here.
    """

    def __init__(self, shots: int = 2, attempts: int = 8) -> None:
        super().__init__()
        self.shots = shots
        self.attempts = attempts
        self.ticks = 0
        self.machine: pykka.ActorRef[Any] | None = None
        """The machine instance that has the order (None: nobody has it yet)."""
        self.start_with(CustomerState.WAITING, None)
        self.when(CustomerState.WAITING, self.waiting)
        self.initialize()

    def on_start(self) -> None:
        self.order()
        self.start_single_timer("patience", Patience(), PATIENCE)

    def waiting(self, event: Event) -> State | None:
        match event.message:
            case CoffeeCompleted(error=False):
                self.log.info("coffee served")
                return self.finish()
            case CoffeeCompleted(error=True):
                self.log.warning("the machine refused the order; trying another one later")
                self.machine = None  # refused: a new instance may take it
                return self.stay()
            case Patience():
                self.ticks += 1
                if self.ticks >= self.attempts:
                    self.log.warning("giving up after %d ticks of patience", self.ticks)
                    return self.finish()
                if self.machine is None or not self.machine.is_alive():
                    self.order()
                self.start_single_timer("patience", Patience(), PATIENCE)
                return self.stay()
        return None

    def order(self) -> None:
        machines = pykka.ActorRegistry.get_by_class(CoffeeMachine)
        if not machines:
            self.log.warning("no coffee machine is running (rebooting?)")
            return
        if machines[0] is self.machine:
            return
        self.machine = machines[0]
        self.log.info("ordering %d shots from %s", self.shots, self.machine)
        self.machine.tell(MakeCoffee(self.shots))

    def finish(self) -> State:
        return self.stop()
