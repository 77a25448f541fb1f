"""The messages of the coffee machine: its "async interface" to the sensors, and its own.

A client could be talking to the real machine's sensors or to `MockSensors`; the messages
are the same. Reads are answered with the matching value message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pykka


@dataclass(frozen=True)
class RegisterClient:
    """Tell the sensors whom to send readings and alarms to."""

    client: pykka.ActorRef[Any]


@dataclass(frozen=True)
class ReadPowerButton:
    pass


@dataclass(frozen=True)
class ReadWaterLevel:
    pass


@dataclass(frozen=True)
class ReadHopperLevel:
    pass


@dataclass(frozen=True)
class ReadWaterTemperature:
    pass


@dataclass(frozen=True)
class ReadPortaFilterCoffeeLevel:
    pass


@dataclass(frozen=True)
class ReadDoorOpen:
    pass


# ---- buttons: sent to switch things on or off; PowerButton is also a reading -------------


@dataclass(frozen=True)
class PowerButton:
    power_on: bool


@dataclass(frozen=True)
class WaterHeaterButton:
    power_on: bool


@dataclass(frozen=True)
class GrinderButton:
    power_on: bool


@dataclass(frozen=True)
class ShotButton:
    """One press pours one shot and switches off by itself (ShotComplete)."""

    power_on: bool


@dataclass(frozen=True)
class DumpGrindsButton:
    """Empties the porta filter at once."""

    power_on: bool


# ---- readings and alarms sent by the sensors --------------------------------------------


@dataclass(frozen=True)
class WaterLevel:
    percent: float


@dataclass(frozen=True)
class HopperLevel:
    percent: float


@dataclass(frozen=True)
class WaterTemperature:
    degrees: float


@dataclass(frozen=True)
class PortaFilterCoffeeLevel:
    percent: float


@dataclass(frozen=True)
class DoorOpen:
    open: bool


@dataclass(frozen=True)
class ShotComplete:
    pass


@dataclass(frozen=True)
class WaterHot:
    pass


@dataclass(frozen=True)
class WaterEmpty:
    pass


@dataclass(frozen=True)
class HopperEmpty:
    pass


# ---- the coffee machine's own messages --------------------------------------------------


@dataclass(frozen=True)
class MakeCoffee:
    shots: int


@dataclass(frozen=True)
class CoffeeCompleted:
    error: bool = False


@dataclass(frozen=True)
class Terminate:
    """Asks the machine to switch everything off and halt; it answers with `Halted`."""


@dataclass(frozen=True)
class Halted:
    pass
