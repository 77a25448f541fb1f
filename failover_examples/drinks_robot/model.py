"""The robot's world: locations, clients, drink orders, pictures and drinks."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A point on the room's grid."""

    x: int
    y: int

    def __str__(self) -> str:
        return f"( {self.x}, {self.y} )"


class PersonType(enum.Enum):
    ADULT = "Adult"
    MINOR = "Minor"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ClientDetails:
    person_type: PersonType
    coordinates: Location


@dataclass(frozen=True)
class DrinkOrder:
    client_details: ClientDetails


@dataclass(frozen=True)
class RoomPicture:
    time_taken: datetime.datetime
    image: bytes = b"\0"


@dataclass(frozen=True)
class Glass:
    drink: str
    fill_level: int


DRINKS_FOR_ADULTS = (
    "Absinth",
    "Beer",
    "Champagne",
    "Gin",
    "Gin_And_Tonic",
    "Margarita",
    "Pina_Colada",
    "Rum",
    "Rum_And_Coke",
    "Sparkling_Wine",
    "Tequila",
    "Vodka",
    "Vodka_And_Orange",
    "Whiskey_With_Ice",
    "Wine",
)

DRINKS_FOR_MINORS = (
    "Arctic_Shark_Glacier_Punch",
    "Banana_Berry_Smoothie",
    "Candy_Apple_Punch",
    "Coke",
    "Fresca",
    "Frostie_Orange_Smoothie",
    "Frozen_Hot_Chocolate",
    "Ginger_Ale",
    "Hawaiian_Punch_Summer_Drink",
    "Lemonade",
    "Sprite",
    "Swamp_Juice",
    "Tonic_Water",
    "Water",
    "WaterMelonLemonade",
)


def random_location(
    random_int: Callable[[int], int], min_x: int, min_y: int, max_x: int, max_y: int
) -> Location:
    """A location in [min, max) on both axes, drawn with the caller's controlled randomness."""
    return Location(random_int(max_x - min_x) + min_x, random_int(max_y - min_y) + min_y)


def random_person_type(random_int: Callable[[int], int]) -> PersonType:
    kinds = list(PersonType)
    return kinds[random_int(len(kinds))]
