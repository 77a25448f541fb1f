"""`Navigator`: finds the next client and a route for the Robot, and survives failover.

Every drink-order request is written to `MockStorage` before it is confirmed to the Robot
and deleted only when the Robot has its driving instructions; a new Navigator that finds a
pending request in storage restarts it. A `Terminate` (deferred while paused) halts the
Navigator and its back ends, after telling its creator `Halted`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import pykka

from failover_examples.actors import ExampleActor
from failover_examples.drinks_robot.model import DrinkOrder, Location, RoomPicture
from failover_examples.drinks_robot.services import (
    DrinksClientDetails,
    DrivingInstructions,
    GetRoute,
    RecognizeDrinksClient,
)
from failover_examples.drinks_robot.storage import Confirmed, DeleteKey, KeyValue, ReadKey
from failover_examples.messaging import tell
from fsm import FSM, Event, State

DRINK_ORDER_STORAGE_KEY = "DrinkOrderStorageKey"


@dataclass(frozen=True)
class WakeUp:
    robot: pykka.ActorRef[Any]


@dataclass(frozen=True)
class RegisterNavigator:
    navigator: pykka.ActorRef[Any]


@dataclass(frozen=True)
class GetDrinkOrder:
    picture: RoomPicture


@dataclass(frozen=True)
class DrinkOrderConfirmed:
    pass


@dataclass(frozen=True)
class DrinkOrderProduced:
    drink_order: DrinkOrder


@dataclass(frozen=True)
class GetDrivingInstructions:
    start: Location
    end: Location


@dataclass(frozen=True)
class Terminate:
    pass


@dataclass(frozen=True)
class Halted:
    pass


class NavigatorState(enum.Enum):
    PAUSED = "Paused"
    ACTIVE = "Active"


class Navigator(FSM, ExampleActor):
    """Serves the Robot's requests with the cognitive service and the route planner."""

    def __init__(
        self,
        creator: pykka.ActorRef[Any] | None,
        storage: pykka.ActorRef[Any],
        cognitive_service: pykka.ActorRef[Any],
        route_planner: pykka.ActorRef[Any],
    ) -> None:
        super().__init__()
        self.creator = creator
        self.storage = storage
        self.cognitive_service = cognitive_service
        self.route_planner = route_planner
        self.robot: pykka.ActorRef[Any] | None = None
        self.terminating = False
        self.deferred: list[Any] = []
        self.start_with(NavigatorState.PAUSED, None)
        self.when(NavigatorState.PAUSED, self.paused)
        self.when(NavigatorState.ACTIVE, self.active)
        self.on_transition(self.entering)
        self.initialize()

    def paused(self, event: Event) -> State | None:
        match event.message:
            case WakeUp(robot):
                self.log.info("Navigator starting")
                self.log.info("Got RobotId")
                self.robot = robot
                # Tell the robot about this new Navigator: after a failover it replaces the
                # old one.
                tell(robot, RegisterNavigator(self.actor_ref))
                # Is there a request the previous Navigator did not finish?
                self.storage.tell(ReadKey(self.actor_ref, DRINK_ORDER_STORAGE_KEY))
                return self.stay()
            case KeyValue(_, key, value):
                assert key is not None, "Error: KeyValueEvent contains a null key"
                if key == DRINK_ORDER_STORAGE_KEY:
                    self.restart_pending_request(value)
                return self.goto(NavigatorState.ACTIVE)
            case Terminate() | GetDrinkOrder() | GetDrivingInstructions():
                self.deferred.append(event.message)  # until the Navigator is active
                return self.stay()
        return None

    def restart_pending_request(self, request: GetDrinkOrder | None) -> None:
        if request is not None:
            self.process_drink_order(request)
            self.log.info("Restarting the pending Robot's request to find drink clients ...")
        else:
            self.log.info("There was no prior pending request to find drink clients ...")

    def entering(self, previous: NavigatorState, state: NavigatorState) -> None:
        if state is NavigatorState.ACTIVE:
            self.log.info("Navigator initialized.")
            for message in self.deferred:
                self.actor_ref.tell(message)
            self.deferred.clear()

    def active(self, event: Event) -> State | None:
        match event.message:
            case GetDrinkOrder() as request:
                # Persist the request first: a Navigator may die at any moment.
                self.storage.tell(KeyValue(self.actor_ref, DRINK_ORDER_STORAGE_KEY, request))
            case Confirmed(key, value, existing) if key == DRINK_ORDER_STORAGE_KEY:
                assert not existing, (
                    f"Error: The storage `{DRINK_ORDER_STORAGE_KEY}` was already set which "
                    "means we lost a GetDrinkOrderEvent"
                )
                self._tell_robot(DrinkOrderConfirmed())
                self.process_drink_order(value)
            case DrinksClientDetails(details):
                self._tell_robot(DrinkOrderProduced(DrinkOrder(details)))
            case GetDrivingInstructions(start, end):
                # Not restartable: after a failover the Robot asks again.
                self.route_planner.tell(GetRoute(self.actor_ref, start, end))
            case DrivingInstructions() as instructions:
                self._tell_robot(instructions)
                self.log.info("drink order is complete, deleting the job record.")
                self.storage.tell(DeleteKey(self.actor_ref, DRINK_ORDER_STORAGE_KEY))
            case KeyValue():
                pass
            case Terminate():
                return self.terminate_myself()
            case _:
                return None
        return self.stay()

    def process_drink_order(self, request: GetDrinkOrder) -> None:
        self.cognitive_service.tell(RecognizeDrinksClient(self.actor_ref, request.picture))

    def terminate_myself(self) -> State:
        if self.terminating:
            return self.stay()
        self.terminating = True
        self.log.info("Terminating as previously ordered ...")
        self.cognitive_service.stop(block=False)
        self.route_planner.stop(block=False)
        self.log.info("Sent Termination Confirmation to my Creator ...")
        tell(self.creator, Halted())
        self.log.info("Halting now ...")
        return self.stop()

    def _tell_robot(self, message: object) -> None:
        tell(self.robot, message)
