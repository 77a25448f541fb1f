"""The failover drinks-serving robot (after Coyote's sample): a service replaced mid-request.

`execute` is the systematic test of the shipped Robot (it has the seeded
`drink_order_pending` bug); `execute_fixed` tests `FixedRobot`:

    python -m testkit test failover_examples.drinks_robot:execute -i 100 --max-steps 2000

`execute_declared` and `execute_declared_fixed` test the same Robots without the hand-written
`FailoverDriver`: the Navigator's failover is a declared fault (`FAULTS`: it may crash once,
at any moment, and a supervisor restarts it; see `supervised` for what that asks of the
Robot and the Navigator):

    python -m testkit test failover_examples.drinks_robot:execute_declared -i 500 \
        --max-steps 2000 --faults 'crash=Navigator;restart=Navigator;budget=1'

`python -m failover_examples.drinks_robot` runs it for real, on Pykka threads.
"""

from __future__ import annotations

from failover_examples.drinks_robot.driver import FailoverDriver
from failover_examples.drinks_robot.liveness import LivenessMonitor
from failover_examples.drinks_robot.navigator import Navigator
from failover_examples.drinks_robot.robot import FixedRobot, Robot
from failover_examples.drinks_robot.services import MockCognitiveService, MockRoutePlanner
from failover_examples.drinks_robot.storage import MockStorage
from failover_examples.drinks_robot.supervised import (
    SupervisedFixedRobot,
    SupervisedNavigator,
    SupervisedRobot,
)
from testkit import Faults, Runtime

FAULTS = Faults(crash=Navigator, restart=Navigator, budget=1)
"""What the declared variants let go wrong: one crash of the Navigator, which a supervisor
restarts with the same storage and back ends (a new instance, a new ref)."""


def execute(runtime: Runtime) -> None:
    """The systematic test: the Navigator fails over once while the Robot serves a drink."""
    runtime.register_monitor(LivenessMonitor)
    FailoverDriver.start(run_forever=False)


def execute_fixed(runtime: Runtime) -> None:
    """The same test with the Robot fixed."""
    runtime.register_monitor(LivenessMonitor)
    FailoverDriver.start(run_forever=False, robot_class=FixedRobot)


def execute_declared(runtime: Runtime) -> None:
    """The failover test with the Navigator's crash declared, not driven: explore it with
    `FAULTS`.

        testkit.explore(execute_declared, 500, 2000, faults=drinks_robot.FAULTS)
    """
    _declared(runtime, SupervisedRobot)


def execute_declared_fixed(runtime: Runtime) -> None:
    """`execute_declared` with the Robot fixed."""
    _declared(runtime, SupervisedFixedRobot)


def _declared(runtime: Runtime, robot: type[Robot]) -> None:
    runtime.register_monitor(LivenessMonitor)
    storage = MockStorage.start()
    robot.start(False, None)
    SupervisedNavigator.start(None, storage, MockCognitiveService.start(), MockRoutePlanner.start())


__all__ = [
    "FAULTS",
    "FailoverDriver",
    "FixedRobot",
    "LivenessMonitor",
    "MockCognitiveService",
    "MockRoutePlanner",
    "MockStorage",
    "Navigator",
    "Robot",
    "SupervisedFixedRobot",
    "SupervisedNavigator",
    "SupervisedRobot",
    "execute",
    "execute_declared",
    "execute_declared_fixed",
    "execute_fixed",
]
