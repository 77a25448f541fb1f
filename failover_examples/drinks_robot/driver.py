"""`FailoverDriver`: starts the system, then kills and replaces the Navigator at random times.

Once the Robot reports that the Navigator recorded an order (`RobotReady`), a timer of
0.5-1 s starts; when it fires the Navigator is told to `Terminate`, and after its `Halted`
a new Navigator (with new back ends, but the same storage) is started and woken up. In a
test this happens once; in production forever.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import pykka

from failover_examples.actors import ExampleActor
from failover_examples.drinks_robot.navigator import Halted, Navigator, Terminate, WakeUp
from failover_examples.drinks_robot.robot import NavigatorReset, Robot, RobotReady
from failover_examples.drinks_robot.services import MockCognitiveService, MockRoutePlanner
from failover_examples.drinks_robot.storage import MockStorage
from failover_examples.messaging import tell
from fsm import FSM, Event, State

NAVIGATOR_TIME_TO_LIVE = 500  # milliseconds


@dataclass(frozen=True)
class HaltTimerElapsed:
    pass


class DriverState(enum.Enum):
    ACTIVE = "Active"
    TERMINATING_NAVIGATOR = "TerminatingNavigator"


class FailoverDriver(FSM, ExampleActor):
    """Creates storage, Navigator and Robot, and fails the Navigator over."""

    def __init__(self, run_forever: bool, robot_class: type[Robot] = Robot) -> None:
        super().__init__()
        self.run_forever = run_forever
        self.robot_class = robot_class
        self.storage: pykka.ActorRef[Any] | None = None
        self.navigator: pykka.ActorRef[Any] | None = None
        self.robot: pykka.ActorRef[Any] | None = None
        self.failovers = 0
        self.robot_ready_deferred = False
        self.start_with(DriverState.ACTIVE, None)
        self.when(DriverState.ACTIVE, self.active)
        self.when(DriverState.TERMINATING_NAVIGATOR, self.terminating_navigator)
        self.on_transition(self.entering)
        self.initialize()

    def on_start(self) -> None:
        self.log.info("#################################################################")
        self.log.info("Starting the Robot.")
        self.storage = MockStorage.start()
        self.navigator = self.create_navigator()
        self.robot = self.robot_class.start(self.run_forever, self.actor_ref)
        self.navigator.tell(WakeUp(self.robot))

    def create_navigator(self) -> pykka.ActorRef[Any]:
        assert self.storage is not None
        return Navigator.start(
            self.actor_ref, self.storage, MockCognitiveService.start(), MockRoutePlanner.start()
        )

    def active(self, event: Event) -> State | None:
        match event.message:
            case RobotReady():
                # Killing the Navigator before the Robot has an order would test nothing.
                duration = self.random_int(NAVIGATOR_TIME_TO_LIVE) + NAVIGATOR_TIME_TO_LIVE
                self.set_timer("halt", HaltTimerElapsed(), duration / 1000)
                return self.stay()
            case HaltTimerElapsed():
                return self.goto(DriverState.TERMINATING_NAVIGATOR)
            case NavigatorReset():
                return self.stay()
        return None

    def entering(self, previous: DriverState, state: DriverState) -> None:
        if state is DriverState.TERMINATING_NAVIGATOR:
            self.cancel_timer("halt")
            self.log.info("#################################################################")
            self.log.info("#       Starting the fail over of the Navigator                 #")
            self.log.info("#################################################################")
            tell(self.navigator, Terminate())
        elif state is DriverState.ACTIVE and self.robot_ready_deferred:
            self.robot_ready_deferred = False
            self.actor_ref.tell(RobotReady())

    def terminating_navigator(self, event: Event) -> State | None:
        match event.message:
            case Halted():
                self.log.info("*****  The Navigator confirmed that it has terminated *****")
                self.log.info("*****   Created a new Navigator -- paused *****")
                self.navigator = self.create_navigator()
                self.log.info("*****   Waking up the new Navigator *****")
                assert self.robot is not None
                tell(self.navigator, WakeUp(self.robot))
                return self.stay()
            case NavigatorReset():
                self.log.info("*****   Robot confirmed it reset to the new Navigator *****")
                self.failovers += 1
                if self.failovers > 1 and not self.run_forever:
                    return self.halt_system()
                return self.goto(DriverState.ACTIVE)
            case RobotReady():
                self.robot_ready_deferred = True  # handled once active again
                return self.stay()
            case HaltTimerElapsed():
                return self.stay()
        return None

    def halt_system(self) -> State:
        for ref in (self.robot, self.navigator, self.storage):
            if ref is not None:
                ref.stop(block=False)
        return self.stop()
