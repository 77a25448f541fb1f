"""`MockSensors`: the coffee machine's hardware, whose state outlives any machine instance.

The water tank, heater, grinder, hopper, porta filter and door are simple numbers driven by
timers. The `FailoverDriver` restarts the `CoffeeMachine` but never the sensors, so a new
machine instance must cope with whatever the previous one left behind. The safety
assertions here are the machine's contract with its hardware.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pykka

from failover_examples.actors import ExampleActor
from failover_examples.coffee_machine.events import (
    DoorOpen,
    DumpGrindsButton,
    GrinderButton,
    HopperEmpty,
    HopperLevel,
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
    WaterEmpty,
    WaterHeaterButton,
    WaterHot,
    WaterLevel,
    WaterTemperature,
)
from failover_examples.messaging import tell
from fsm import FSM, Event, State

HEATER_TICK = 0.1
GRINDER_TICK = 0.1
SHOT_TIME = 1.0


@dataclass(frozen=True)
class HeaterTick:
    pass


@dataclass(frozen=True)
class GrinderTick:
    pass


@dataclass(frozen=True)
class ShotTick:
    pass


class SensorOdometer:
    """Counts the events the sensors handled: the failover driver's notion of time.

    Timers in a systematic test fire whenever the tester likes, so "halt after N seconds"
    means nothing there; "halt after the sensors handled N events" does.
    """

    def __init__(self) -> None:
        self.steps = 0


class MockSensors(FSM, ExampleActor):
    """A mock of every sensor and switch in the machine, with random initial levels.

    `run_slowly=True` (production) heats and grinds in small real-time increments so it is
    fun to watch; `False` (tests) jumps straight to the boundary conditions.
    """

    def __init__(self, run_slowly: bool, odometer: SensorOdometer) -> None:
        super().__init__()
        self.run_slowly = run_slowly
        self.odometer = odometer
        self.client: pykka.ActorRef[Any] | None = None
        self.power_on = False
        self.water_heater_button = False
        self.grinder_button = False
        self.shot_button = False
        self.water_level = 0.0
        self.hopper_level = 0.0
        self.water_temperature = 0.0
        self.porta_filter_coffee_level = 0.0
        self.door_open = False
        self.start_with("on", None)
        self.when("on", self.on)
        self.initialize()

    def on_start(self) -> None:
        # Random initial conditions make the mock a more interesting test: the machine must
        # handle an empty tank, an empty hopper and an open door.
        self.water_level = float(self.random_int(100))
        self.hopper_level = float(self.random_int(100))
        self.water_temperature = float(self.random_int(50) + 30)
        self.door_open = self.random_int(5) == 0
        self.set_timer("heater", HeaterTick(), HEATER_TICK, repeat=True)

    def on(self, event: Event) -> State | None:
        self.odometer.steps += 1
        match event.message:
            case RegisterClient(client):
                self.client = client
            case ReadPowerButton():
                self._tell_client(PowerButton(self.power_on))
            case ReadWaterLevel():
                self._tell_client(WaterLevel(self.water_level))
            case ReadHopperLevel():
                self._tell_client(HopperLevel(self.hopper_level))
            case ReadWaterTemperature():
                self._tell_client(WaterTemperature(self.water_temperature))
            case ReadPortaFilterCoffeeLevel():
                self._tell_client(PortaFilterCoffeeLevel(self.porta_filter_coffee_level))
            case ReadDoorOpen():
                self._tell_client(DoorOpen(self.door_open))
            case PowerButton(power_on):
                self._power_button(power_on)
            case WaterHeaterButton(power_on):
                self.water_heater_button = power_on
                # Never heat an empty tank.
                assert not (power_on and self.water_level <= 0), (
                    "Please do not turn on heater if there is no water"
                )
            case GrinderButton(power_on):
                self.grinder_button = power_on
                self._grinder_button_changed()
            case ShotButton(power_on):
                self._shot_button(power_on)
            case DumpGrindsButton(power_on):
                if power_on:  # a toggle: the grinds are gone at once
                    self.porta_filter_coffee_level = 0.0
            case HeaterTick():
                self._heater_tick()
            case GrinderTick():
                self._grinder_tick()
            case ShotTick():
                self._shot_tick()
            case _:
                return None
        return self.stay()

    # ---- switches -------------------------------------------------------------------------

    def _power_button(self, power_on: bool) -> None:
        self.power_on = power_on
        if not power_on:  # the master switch turns everything else off, for safety
            self.water_heater_button = False
            self.grinder_button = False
            self.shot_button = False
            self.cancel_timer("grinder")
            self.cancel_timer("shot")

    def _grinder_button_changed(self) -> None:
        if self.grinder_button:
            # Never grind without beans.
            assert self.hopper_level > 0, (
                "Please do not turn on grinder if there are no beans in the hopper"
            )
            self.set_timer("grinder", GrinderTick(), GRINDER_TICK, repeat=True)
        else:
            self.cancel_timer("grinder")

    def _shot_button(self, power_on: bool) -> None:
        self.shot_button = power_on
        if power_on:
            # Never pour a shot without water.
            assert self.water_level > 0, "Please do not turn on shot maker if there is no water"
            self.set_timer("shot", ShotTick(), SHOT_TIME, repeat=True)
        else:
            self.cancel_timer("shot")

    # ---- the physics, one timer tick at a time ----------------------------------------------

    def _heater_tick(self) -> None:
        temperature = self.water_temperature
        if self.water_heater_button:
            if not self.run_slowly and temperature < 99:
                temperature = 99  # tests jump straight to the boundary
            if temperature < 100:
                self.water_temperature = float(int(temperature) + 10)
                self._tell_client(WaterTemperature(self.water_temperature))
            else:
                self._tell_client(WaterHot())
        elif temperature > 70:  # cooling down to room temperature, slowly
            self.water_temperature = temperature - 0.1

    def _grinder_tick(self) -> None:
        # Every tick fills the porta filter 10% and uses 1% of the beans; when the porta
        # filter is full the grinder switches off by itself.
        hopper = self.hopper_level
        if hopper > 0:
            level = self.porta_filter_coffee_level
            if not self.run_slowly and level < 99:
                hopper -= 98 - int(level)  # tests jump straight to the boundary
                level = 99
            if level < 100:
                level += 10
                self.porta_filter_coffee_level = level
                self._tell_client(PortaFilterCoffeeLevel(level))
                if level == 100:
                    self.grinder_button = False
                    self._grinder_button_changed()
            self.hopper_level = hopper - 1
        if self.hopper_level <= 0:
            self._tell_client(HopperEmpty())
            self.cancel_timer("grinder")

    def _shot_tick(self) -> None:
        # One second of running water makes one shot.
        self.water_level -= 1
        self._tell_client(ShotComplete() if self.water_level > 0 else WaterEmpty())
        self.cancel_timer("shot")
        self.shot_button = False

    def _tell_client(self, message: object) -> None:
        """Readings go to the registered machine; one that has halted just misses them."""
        tell(self.client, message)
