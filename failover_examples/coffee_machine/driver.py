"""`FailoverDriver`: orders coffee, kills the machine at a random moment, starts a new one.

The sensors are created once and persist; each round starts a fresh `CoffeeMachine`, orders
1-3 shots, and (from the second round on) halts the machine after a random number of sensor
events, up to 9/8 of what a whole coffee took in the first round. Halting goes through the
`Terminate` -> `Halted` handshake so two machines never drive the sensors at once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import pykka

from failover_examples.actors import ExampleActor
from failover_examples.coffee_machine.events import CoffeeCompleted, Halted, MakeCoffee, Terminate
from failover_examples.coffee_machine.machine import CoffeeMachine
from failover_examples.coffee_machine.sensors import MockSensors, SensorOdometer
from failover_examples.messaging import tell
from fsm import FSM, Event, State

HALT_CHECK = 0.1


@dataclass(frozen=True)
class StartTest:
    pass


@dataclass(frozen=True)
class HaltCheck:
    pass


class DriverState(enum.Enum):
    INIT = "Init"
    TEST = "Test"
    STOP = "Stop"


class FailoverDriver(FSM, ExampleActor):
    """Runs rounds of "make a coffee, maybe die half-way"; forever when `run_forever`."""

    def __init__(
        self, run_forever: bool, machine_class: type[CoffeeMachine] = CoffeeMachine
    ) -> None:
        super().__init__()
        self.run_forever = run_forever
        self.machine_class = machine_class
        self.odometer = SensorOdometer()
        self.sensors: pykka.ActorRef[Any] | None = None
        self.machine: pykka.ActorRef[Any] | None = None
        self.rounds = 0
        self.max_steps = 0
        self.halt_steps = 0
        self.start_with(DriverState.INIT, None)
        self.when(DriverState.INIT, self.init)
        self.when(DriverState.TEST, self.test)
        self.when(DriverState.STOP, self.stopping)
        self.on_transition(self.entering)
        self.initialize()

    def on_start(self) -> None:
        # The persistent hardware: it survives every machine instance.
        self.sensors = MockSensors.start(run_slowly=self.run_forever, odometer=self.odometer)

    def init(self, event: Event) -> State | None:
        if isinstance(event.message, StartTest):
            return self.goto(DriverState.TEST)
        return None

    def entering(self, previous: DriverState, state: DriverState) -> None:
        if state is DriverState.TEST:
            self.start_round()

    def start_round(self) -> None:
        self.log.info("#################################################################")
        self.log.info("starting new CoffeeMachine.")
        assert self.sensors is not None
        self.machine = self.machine_class.start(self.sensors, self.actor_ref)
        shots = self.random_int(3) + 1
        self.machine.tell(MakeCoffee(shots))
        if self.max_steps > 0:
            self.halt_steps = self.random_int(self.max_steps * 9 // 8)
            self.odometer.steps = 0
            self.log.info("Test will halt in %d steps", self.halt_steps)
            self.set_timer("halt", HaltCheck(), HALT_CHECK, repeat=True)

    def test(self, event: Event) -> State | None:
        match event.message:
            case HaltCheck():
                if self.halt_steps < self.odometer.steps:
                    return self.force_termination()
                return self.stay()
            case CoffeeCompleted(error):
                self.cancel_timer("halt")
                self.max_steps = self.odometer.steps
                self.odometer.steps = 0
                if error:
                    self.log.warning("CoffeeMachine reported an error.")
                    if self.run_forever:  # no point trying to make more coffee
                        self.log.warning("Test is complete, press ENTER to continue...")
                        self.run_forever = False
                else:
                    self.log.info("Coffee completed in %d steps", self.max_steps)
                return self.next_round()
        return None

    def force_termination(self) -> State:
        # Terminate, and wait for Halted before starting another machine: two machines
        # driving one set of sensors would confuse them.
        self.cancel_timer("halt")
        self.log.info("forcing termination of CoffeeMachine.")
        assert self.machine is not None
        tell(self.machine, Terminate())
        return self.goto(DriverState.STOP)

    def stopping(self, event: Event) -> State | None:
        match event.message:
            case Halted():
                return self.next_round()
            case CoffeeCompleted() | HaltCheck():
                return self.stay()
        return None

    def next_round(self) -> State:
        if self.run_forever or self.rounds == 0:
            self.rounds += 1
            return self.goto(DriverState.TEST)
        self.log.info("test is done, halting the mock sensors")
        if self.sensors is not None:
            self.sensors.stop(block=False)
        return self.stop()
