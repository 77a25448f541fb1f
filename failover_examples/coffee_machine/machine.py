"""`CoffeeMachine`: the firmware of an espresso machine that must survive a reboot at any time.

On start it knows nothing: it reads every sensor, dumps old grinds, heats the water, and only
then takes an order (orders that arrive earlier wait). A `Terminate` in any state switches
the hardware off and halts the machine; it answers with `Halted` so that the driver starts
a new instance only when the old one is really gone.

The shipped machine keeps the bug of the Coyote sample: it checks the hopper with `== 0`, so
a negative reading left behind by the previous instance goes unnoticed.
`FixedCoffeeMachine` checks `<= 0`.
"""

from __future__ import annotations

import enum
from typing import Any

import pykka

from failover_examples.actors import ExampleActor
from failover_examples.coffee_machine.events import (
    CoffeeCompleted,
    DoorOpen,
    DumpGrindsButton,
    GrinderButton,
    Halted,
    HopperEmpty,
    HopperLevel,
    MakeCoffee,
    PortaFilterCoffeeLevel,
    PowerButton,
    ReadDoorOpen,
    ReadHopperLevel,
    ReadPortaFilterCoffeeLevel,
    ReadPowerButton,
    ReadWaterLevel,
    ReadWaterTemperature,
    RegisterClient,
    ShotButton,
    ShotComplete,
    Terminate,
    WaterEmpty,
    WaterHeaterButton,
    WaterHot,
    WaterLevel,
    WaterTemperature,
)
from failover_examples.coffee_machine.liveness import Busy, Idle, LivenessMonitor
from failover_examples.messaging import tell
from fsm import FSM, Event, State, StopEvent


class MachineState(enum.Enum):
    CHECK_SENSORS = "CheckSensors"
    HEATING_WATER = "HeatingWater"
    READY = "Ready"
    GRINDING_BEANS = "GrindingBeans"
    MAKING_SHOTS = "MakingShots"
    REFILL_REQUIRED = "RefillRequired"
    ERROR = "Error"


S = MachineState


class CoffeeMachine(FSM, ExampleActor):
    """Makes espresso with the sensors at `sensors`; reports to `client` (the driver)."""

    def __init__(self, sensors: pykka.ActorRef[Any], client: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.sensors = sensors
        self.client = client
        self.heating = False
        self.water_level: float | None = None
        self.hopper_level: float | None = None
        self.door_open: bool | None = None
        self.porta_filter_coffee_level: float | None = None
        self.water_temperature: float | None = None
        self.shots_requested = 0
        self.shot_count = 0
        self.previous_coffee_level = 0.0
        self.order: MakeCoffee | None = None
        self.start_with(S.CHECK_SENSORS, None)
        self.when(S.CHECK_SENSORS, self.check_sensors)
        self.when(S.HEATING_WATER, self.heating_water)
        self.when(S.READY, self.ready)
        self.when(S.GRINDING_BEANS, self.grinding_beans)
        self.when(S.MAKING_SHOTS, self.making_shots)
        self.when(S.REFILL_REQUIRED, self.out_of_order)
        self.when(S.ERROR, self.out_of_order)
        self.when_unhandled(self.any_state)
        self.on_transition(self.entering)
        self.on_termination(self.halted)
        self.initialize()

    def on_start(self) -> None:
        self.log.info("initializing...")
        self.sensors.tell(RegisterClient(self.actor_ref))
        self.log.info("checking initial state of sensors...")
        self.sensors.tell(ReadPowerButton())

    def out_of_beans(self, hopper_level: float) -> bool:
        """The seeded bug: a negative reading (grinder left running) is not noticed."""
        return int(hopper_level) == 0

    # ---- states -------------------------------------------------------------------------

    def check_sensors(self, event: Event) -> State | None:
        match event.message:
            case PowerButton(power_on):
                if not power_on:
                    self.sensors.tell(PowerButton(True))
                # Make sure grinder, shot maker and heater are off, then read everything.
                for switch in (GrinderButton(False), ShotButton(False), WaterHeaterButton(False)):
                    self.sensors.tell(switch)
                for read in (
                    ReadWaterLevel(),
                    ReadHopperLevel(),
                    ReadDoorOpen(),
                    ReadPortaFilterCoffeeLevel(),
                ):
                    self.sensors.tell(read)
                return self.stay()
            case WaterLevel(level):
                self.water_level = level
                self.log.info("Water level is %d %%", int(level))
                if int(level) <= 0:
                    self.log.info("Coffee machine is out of water")
                    return self.goto(S.REFILL_REQUIRED)
                return self.check_initial_state()
            case HopperLevel(level):
                self.hopper_level = level
                self.log.info("Hopper level is %d %%", int(level))
                if self.out_of_beans(level):
                    self.log.error("Coffee machine is out of coffee beans")
                    return self.goto(S.REFILL_REQUIRED)
                return self.check_initial_state()
            case DoorOpen(is_open):
                self.door_open = is_open
                if is_open:
                    self.log.error("Cannot safely operate coffee machine with the door open!")
                    return self.goto(S.ERROR)
                return self.check_initial_state()
            case PortaFilterCoffeeLevel(level):
                self.porta_filter_coffee_level = level
                if level > 0:
                    # Old grinds: nobody knows how long the machine was off.
                    self.log.info("Dumping old smelly grinds!")
                    self.sensors.tell(DumpGrindsButton(True))
                return self.check_initial_state()
            case MakeCoffee() as order:
                self.order = order  # deferred until the machine is ready
                return self.stay()
        return None

    def check_initial_state(self) -> State:
        readings = (
            self.water_level,
            self.hopper_level,
            self.door_open,
            self.porta_filter_coffee_level,
        )
        if all(reading is not None for reading in readings):
            return self.goto(S.HEATING_WATER)
        return self.stay()

    def heating_water(self, event: Event) -> State | None:
        match event.message:
            case WaterTemperature(degrees):
                self.water_temperature = degrees
                if degrees >= 100:
                    return self.water_hot()
                if not self.heating:
                    self.heating = True
                    self.log.info("Turning on the water heater")
                    self.sensors.tell(WaterHeaterButton(True))
                self.log.info("Coffee machine is warming up (%d degrees)...", int(degrees))
                return self.stay()
            case WaterHot():
                return self.water_hot()
            case MakeCoffee() as order:
                self.order = order
                return self.stay()
        return None

    def water_hot(self) -> State:
        self.log.info("Coffee machine water temperature is now 100")
        if self.heating:
            self.heating = False
            self.log.info("Turning off the water heater")
            self.sensors.tell(WaterHeaterButton(False))
        return self.goto(S.READY)

    def ready(self, event: Event) -> State | None:
        match event.message:
            case MakeCoffee(shots):
                self.monitor(LivenessMonitor, Busy())
                self.log.info("Coffee requested, shots=%d", shots)
                self.shots_requested = shots
                self.shot_count = 0  # the user put a new cup in
                return self.goto(S.GRINDING_BEANS)
            case HopperEmpty():
                return self.hopper_empty()
            case WaterLevel() | WaterHot() | HopperLevel() | WaterTemperature():
                return self.stay()
        return None

    def grinding_beans(self, event: Event) -> State | None:
        match event.message:
            case PortaFilterCoffeeLevel(level):
                if level >= 100:
                    self.log.info("PortaFilter is full")
                    self.sensors.tell(GrinderButton(False))
                    return self.goto(S.MAKING_SHOTS)
                if level != self.previous_coffee_level:
                    self.previous_coffee_level = level
                    self.log.info("PortaFilter is %d %% full", int(level))
                return self.stay()
            case HopperLevel(level):
                if level <= 0:
                    return self.hopper_empty()
                self.sensors.tell(ReadHopperLevel())  # keep watching the beans
                return self.stay()
            case HopperEmpty():
                return self.hopper_empty()
            case WaterHot() | WaterTemperature():
                return self.stay()
        return None

    def hopper_empty(self) -> State:
        self.log.error("hopper is empty!")
        self.sensors.tell(GrinderButton(False))
        return self.goto(S.REFILL_REQUIRED)

    def making_shots(self, event: Event) -> State | None:
        match event.message:
            case WaterLevel(level):
                return self.water_empty() if level <= 0 else self.stay()
            case ShotComplete():
                self.shot_count += 1
                if self.shot_count < self.shots_requested:
                    self.log.info("Shot count is %d", self.shot_count)
                    self.sensors.tell(ShotButton(True))  # the next shot
                    return self.stay()
                self.log.info(
                    "%d shots completed and %d shots requested!",
                    self.shot_count,
                    self.shots_requested,
                )
                if self.shot_count > self.shots_requested:
                    self.log.error("Made the wrong number of shots!")
                    raise AssertionError("Made the wrong number of shots")
                self.log.info("Dumping the grinds!")
                self.sensors.tell(DumpGrindsButton(True))
                self._tell_client(CoffeeCompleted())
                return self.goto(S.READY)
            case WaterEmpty():
                return self.water_empty()
            case WaterHot() | WaterTemperature() | HopperLevel() | HopperEmpty():
                return self.stay()
        return None

    def water_empty(self) -> State:
        self.log.error("Water is empty!")
        self.sensors.tell(ShotButton(False))
        return self.goto(S.REFILL_REQUIRED)

    def out_of_order(self, event: Event) -> State | None:
        """RefillRequired and Error: nothing to do until someone fixes the machine."""
        if isinstance(event.message, Terminate):
            return None
        return self.stay()

    def any_state(self, event: Event) -> State:
        if isinstance(event.message, Terminate):
            self.log.info("Coffee Machine Terminating...")
            self.sensors.tell(PowerButton(False))  # better turn everything off then
            return self.stop()
        self.log.warning("### Unhandled event %r in state %s", event.message, self.state_name)
        return self.stay()

    # ---- entry actions and the halt ------------------------------------------------------

    def entering(self, previous: MachineState, state: MachineState) -> None:
        if state is S.HEATING_WATER:
            self.log.info("Warming the water to 100 degrees")
            self.monitor(LivenessMonitor, Busy())
            self.sensors.tell(ReadWaterTemperature())
        elif state is S.READY:
            self.monitor(LivenessMonitor, Idle())
            self.log.info("Coffee machine is ready to make coffee (green light is on)")
            if self.order is not None:  # an order that came while warming up
                self.actor_ref.tell(self.order)
                self.order = None
        elif state is S.GRINDING_BEANS:
            self.log.info("Grinding beans...")
            self.sensors.tell(GrinderButton(True))
            self.sensors.tell(ReadHopperLevel())
        elif state is S.MAKING_SHOTS:
            self.log.info("Making shots...")
            self.sensors.tell(ShotButton(True))
            self.sensors.tell(ReadWaterLevel())
        elif state is S.REFILL_REQUIRED:
            self._tell_client(CoffeeCompleted(error=True))
            self.monitor(LivenessMonitor, Idle())
            self.log.info("Coffee machine needs manual refilling of water and/or coffee beans!")
        elif state is S.ERROR:
            self._tell_client(CoffeeCompleted(error=True))
            self.monitor(LivenessMonitor, Idle())
            self.log.error("Coffee machine needs fixing!")

    def halted(self, stop: StopEvent) -> None:
        self.monitor(LivenessMonitor, Idle())
        self.log.warning("#################################################################")
        self.log.warning("# Coffee Machine Halted                                         #")
        self.log.warning("#################################################################")
        self._tell_client(Halted())

    def _tell_client(self, message: object) -> None:
        tell(self.client, message)


class FixedCoffeeMachine(CoffeeMachine):
    """The machine with the hopper check fixed: any reading at or below zero is empty."""

    def out_of_beans(self, hopper_level: float) -> bool:
        return hopper_level <= 0
