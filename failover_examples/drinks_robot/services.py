"""Mocks of the Navigator's back ends: a cognitive service and a route planner."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pykka

from failover_examples.actors import ExampleActor
from failover_examples.drinks_robot.model import (
    ClientDetails,
    Location,
    RoomPicture,
    random_location,
    random_person_type,
)
from failover_examples.messaging import tell
from fsm import FSM, Event, State

WORK_TIME = 1.5


@dataclass(frozen=True)
class RecognizeDrinksClient:
    client: pykka.ActorRef[Any]
    picture: RoomPicture


@dataclass(frozen=True)
class DrinksClientDetails:
    details: ClientDetails


@dataclass(frozen=True)
class RecognitionDone:
    client: pykka.ActorRef[Any]


@dataclass(frozen=True)
class GetRoute:
    client: pykka.ActorRef[Any]
    start: Location
    end: Location


@dataclass(frozen=True)
class DrivingInstructions:
    route: tuple[Location, ...]


class MockCognitiveService(FSM, ExampleActor):
    """Finds somebody who wants a drink in a picture; takes a while (a timer) to do it."""

    def __init__(self) -> None:
        super().__init__()
        self._jobs = itertools.count(1)
        self.start_with("active", None)
        self.when("active", self.active)
        self.initialize()

    def on_start(self) -> None:
        self.log.info("CognitiveService is starting.")

    def active(self, event: Event) -> State | None:
        match event.message:
            case RecognizeDrinksClient(client, _):
                # Recognition takes time: answer when the timer fires.
                self.set_timer(
                    f"recognition-{next(self._jobs)}", RecognitionDone(client), WORK_TIME
                )
                return self.stay()
            case RecognitionDone(client):
                location = random_location(self.random_int, 2, 2, 30, 30)
                person = random_person_type(self.random_int)
                tell(client, DrinksClientDetails(ClientDetails(person, location)))
                return self.stay()
        return None


class MockRoutePlanner(FSM, ExampleActor):
    """Plans a collision-free route: 0-2 random waypoints, then the destination."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("active", None)
        self.when("active", self.active)
        self.initialize()

    def active(self, event: Event) -> State | None:
        match event.message:
            case GetRoute(client, _, end):
                hops = self.random_int(3) + 1
                waypoints = [
                    random_location(self.random_int, 2, 2, 30, 30) for _ in range(hops - 1)
                ]
                tell(client, DrivingInstructions((*waypoints, end)))
                return self.stay()
        return None
