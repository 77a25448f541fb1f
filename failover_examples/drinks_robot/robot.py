"""`Robot`: asks the Navigator for a client and a route, drives there, serves a drink.

It must keep working when its Navigator is replaced: a `RegisterNavigator` from a new
Navigator, in any state, switches to it, and if a drink order was pending the Robot stops
driving and waits for the new Navigator to restart that order.

The shipped Robot has the bug of the Coyote sample: it clears `drink_order_pending` only at
its first move, although the Navigator forgets the order as soon as it sends the route. A
failover in between leaves the Robot waiting forever for an order nobody will produce.
`FixedRobot` clears the flag when the route arrives.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from typing import Any

import pykka

from failover_examples.actors import ExampleActor
from failover_examples.drinks_robot.liveness import Busy, Idle, LivenessMonitor
from failover_examples.drinks_robot.model import (
    DRINKS_FOR_ADULTS,
    DRINKS_FOR_MINORS,
    DrinkOrder,
    Glass,
    Location,
    PersonType,
    RoomPicture,
)
from failover_examples.drinks_robot.navigator import (
    DrinkOrderConfirmed,
    DrinkOrderProduced,
    GetDrinkOrder,
    GetDrivingInstructions,
    RegisterNavigator,
)
from failover_examples.drinks_robot.services import DrivingInstructions
from failover_examples.messaging import tell
from fsm import FSM, Event, State

STARTING_LOCATION = Location(1, 1)
MOVE_DURATION = 0.5


@dataclass(frozen=True)
class RobotReady:
    """To the driver: the Navigator has recorded an order, so a failover is interesting now."""


@dataclass(frozen=True)
class NavigatorReset:
    """To the driver: the Robot now works with the new Navigator."""


@dataclass(frozen=True)
class MoveTimerElapsed:
    pass


@dataclass(frozen=True)
class Halt:
    pass


class RobotState(enum.Enum):
    INIT = "Init"
    ACTIVE = "Active"
    EXECUTING_ORDER = "ExecutingOrder"
    MOVING_ON_ROUTE = "MovingOnRoute"
    FINISHED = "FinishState"


class Robot(FSM, ExampleActor):
    """Serves drinks forever (`run_forever`) or once; reports to `creator` (the driver)."""

    def __init__(self, run_forever: bool, creator: pykka.ActorRef[Any] | None) -> None:
        super().__init__()
        self.run_forever = run_forever
        self.creator = creator
        self.navigator: pykka.ActorRef[Any] | None = None
        self.coordinates = STARTING_LOCATION
        self.route: list[Location] | None = None
        self.current_order: DrinkOrder | None = None
        self.drink_order_pending = False
        self.deferred: DrinkOrderProduced | None = None
        self.start_with(RobotState.INIT, None)
        self.when(RobotState.INIT, self.init)
        self.when(RobotState.ACTIVE, self.active)
        self.when(RobotState.EXECUTING_ORDER, self.executing_order)
        self.when(RobotState.MOVING_ON_ROUTE, self.moving_on_route)
        self.when(RobotState.FINISHED, self.finished)
        self.when_unhandled(self.any_state)
        self.on_transition(self.entering)
        self.initialize()

    # ---- the Navigator, in any state --------------------------------------------------------

    def any_state(self, event: Event) -> State:
        if isinstance(event.message, RegisterNavigator):
            return self.set_navigator(event.message.navigator)
        self.log.debug("ignored %r in state %s", event.message, self.state_name)
        return self.stay()

    def set_navigator(self, navigator: pykka.ActorRef[Any]) -> State:
        # The point of the sample: the Robot carries on with whichever Navigator is current.
        nxt = self.stay()
        if self.navigator is None:
            self.navigator = navigator
            nxt = self.goto(RobotState.ACTIVE)
        else:
            self.log.info(
                "received a new Navigator, and pending drink order=%s!!!", self.drink_order_pending
            )
            self.navigator = navigator
            if self.drink_order_pending:
                # Stop driving and wait for the new Navigator to restart the pending order.
                self.stop_moving()
                nxt = self.goto(RobotState.ACTIVE)
                self.monitor(LivenessMonitor, Idle())
        tell(self.creator, NavigatorReset())
        return nxt

    # ---- states -----------------------------------------------------------------------------

    def init(self, event: Event) -> State | None:
        if isinstance(event.message, DrinkOrderProduced):
            self.deferred = event.message  # until a Navigator is registered
            return self.stay()
        return None

    def active(self, event: Event) -> State | None:
        match event.message:
            case DrinkOrderProduced(order):
                self.current_order = order
                return self.goto(RobotState.EXECUTING_ORDER)
            case DrinkOrderConfirmed():
                self.drink_order_pending = True
                tell(self.creator, RobotReady())
                return self.stay()
        return None

    def executing_order(self, event: Event) -> State | None:
        match event.message:
            case DrivingInstructions(route):
                return self.reach_client(list(route))
        return None

    def reach_client(self, route: list[Location]) -> State:
        self.route = route
        self.set_timer("MoveTimer", MoveTimerElapsed(), MOVE_DURATION)
        return self.goto(RobotState.MOVING_ON_ROUTE)

    def moving_on_route(self, event: Event) -> State | None:
        match event.message:
            case MoveTimerElapsed():
                return self.next_move()
            case DrinkOrderProduced():
                return self.stay()
        return None

    def next_move(self) -> State:
        self.drink_order_pending = False  # the seeded bug: too late, see FixedRobot
        if self.route is None:
            return self.stay()
        if not self.route:
            self.stop_moving()
            self.log.info("Reached Client.")
            assert self.current_order is not None
            assert self.coordinates == self.current_order.client_details.coordinates, (
                "Having reached the Client the Robot's coordinates must be the same as the "
                "Client's, but they aren't"
            )
            return self.serve_client()
        self.move_to(self.route.pop(0))
        self.set_timer("MoveTimer", MoveTimerElapsed(), MOVE_DURATION)
        return self.stay()

    def serve_client(self) -> State:
        assert self.current_order is not None
        self.log.info("Serving order")
        person = self.current_order.client_details.person_type
        drinks = DRINKS_FOR_ADULTS if person is PersonType.ADULT else DRINKS_FOR_MINORS
        drink = drinks[self.random_int(len(drinks))]
        self.log.info('Selected "%s" for %s client', drink, person)
        glass = Glass(drink, 100)
        self.log.info("Filled a new glass of %s to %d%% level", glass.drink, glass.fill_level)
        return self.finish_order()

    def finish_order(self) -> State:
        self.log.info("Finished serving the order. Retreating.")
        self.log.info("==================================================")
        self.move_to(STARTING_LOCATION)
        self.current_order = None
        self.monitor(LivenessMonitor, Idle())
        return self.goto(RobotState.ACTIVE if self.run_forever else RobotState.FINISHED)

    def finished(self, event: Event) -> State | None:
        if isinstance(event.message, Halt):
            return self.stop()
        return None

    # ---- entry actions --------------------------------------------------------------------

    def entering(self, previous: RobotState, state: RobotState) -> None:
        if state is RobotState.ACTIVE:
            if not self.drink_order_pending:
                self._tell_navigator(GetDrinkOrder(self.get_picture()))
                self.log.info("Asked for a new Drink Order")
            self.monitor(LivenessMonitor, Busy())
            if self.deferred is not None:
                self.actor_ref.tell(self.deferred)
                self.deferred = None
        elif state is RobotState.EXECUTING_ORDER:
            assert self.current_order is not None
            self.log.info("Received new Drink Order. Executing ...")
            client = self.current_order.client_details.coordinates
            self.log.info("Asked for driving instructions from %s to %s", self.coordinates, client)
            self._tell_navigator(GetDrivingInstructions(self.coordinates, client))
            self.monitor(LivenessMonitor, Busy())
        elif state is RobotState.FINISHED:
            self.monitor(LivenessMonitor, Idle())
            self.actor_ref.tell(Halt())

    # ---- helpers --------------------------------------------------------------------------

    def get_picture(self) -> RoomPicture:
        now = datetime.datetime.now(datetime.timezone.utc)
        self.log.info("Obtained a Room Picture at %s UTC", now.strftime("%Y-%m-%d %H:%M:%S"))
        return RoomPicture(now)

    def stop_moving(self) -> None:
        self.route = None
        self.cancel_timer("MoveTimer")

    def move_to(self, there: Location) -> None:
        self.log.info("Moving from %s to %s", self.coordinates, there)
        self.coordinates = there

    def _tell_navigator(self, message: object) -> None:
        tell(self.navigator, message)  # if it is gone, a failover will re-register


class FixedRobot(Robot):
    """The Robot with the fix: the order stops being pending when the route arrives, which
    is when the Navigator deletes it from storage."""

    def reach_client(self, route: list[Location]) -> State:
        self.drink_order_pending = False
        return super().reach_client(route)
