"""The failover drinks-serving robot (after Coyote's sample): a service replaced mid-request.

`execute` is the systematic test of the shipped Robot (it has the seeded
`drink_order_pending` bug); `execute_fixed` tests `FixedRobot`:

    python -m testkit test failover_examples.drinks_robot:execute -i 100 --max-steps 2000

`python -m failover_examples.drinks_robot` runs it for real, on Pykka threads.
"""

from __future__ import annotations

from failover_examples.drinks_robot.driver import FailoverDriver
from failover_examples.drinks_robot.liveness import LivenessMonitor
from failover_examples.drinks_robot.navigator import Navigator
from failover_examples.drinks_robot.robot import FixedRobot, Robot
from failover_examples.drinks_robot.services import MockCognitiveService, MockRoutePlanner
from failover_examples.drinks_robot.storage import MockStorage
from testkit import Runtime


def execute(runtime: Runtime) -> None:
    """The systematic test: the Navigator fails over once while the Robot serves a drink."""
    runtime.register_monitor(LivenessMonitor)
    FailoverDriver.start(run_forever=False)


def execute_fixed(runtime: Runtime) -> None:
    """The same test with the Robot fixed."""
    runtime.register_monitor(LivenessMonitor)
    FailoverDriver.start(run_forever=False, robot_class=FixedRobot)


__all__ = [
    "FailoverDriver",
    "FixedRobot",
    "LivenessMonitor",
    "MockCognitiveService",
    "MockRoutePlanner",
    "MockStorage",
    "Navigator",
    "Robot",
    "execute",
    "execute_fixed",
]
