"""The failover coffee machine (after Coyote's sample): firmware that must survive reboots.

`execute` is the systematic test of the shipped machine (it has the seeded hopper bug);
`execute_fixed` tests `FixedCoffeeMachine`:

    python -m testkit test failover_examples.coffee_machine:execute -i 100 --max-steps 2000

`python -m failover_examples.coffee_machine` runs it for real, on Pykka threads.
"""

from __future__ import annotations

from failover_examples.coffee_machine.driver import FailoverDriver, StartTest
from failover_examples.coffee_machine.liveness import LivenessMonitor
from failover_examples.coffee_machine.machine import CoffeeMachine, FixedCoffeeMachine
from failover_examples.coffee_machine.sensors import MockSensors, SensorOdometer
from testkit import Runtime


def execute(runtime: Runtime) -> None:
    """The systematic test: one driver, two machine instances, failover in between."""
    runtime.register_monitor(LivenessMonitor)
    FailoverDriver.start(run_forever=False).tell(StartTest())


def execute_fixed(runtime: Runtime) -> None:
    """The same test against the machine with the hopper check fixed."""
    runtime.register_monitor(LivenessMonitor)
    FailoverDriver.start(run_forever=False, machine_class=FixedCoffeeMachine).tell(StartTest())


__all__ = [
    "CoffeeMachine",
    "FailoverDriver",
    "FixedCoffeeMachine",
    "LivenessMonitor",
    "MockSensors",
    "SensorOdometer",
    "StartTest",
    "execute",
    "execute_fixed",
]
