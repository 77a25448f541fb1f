"""The failover coffee machine (after Coyote's sample): firmware that must survive reboots.

`execute` is the systematic test of the shipped machine (it has the seeded hopper bug);
`execute_fixed` tests `FixedCoffeeMachine`:

    python -m testkit test failover_examples.coffee_machine:execute -i 100 --max-steps 2000

`execute_declared` and `execute_declared_fixed` test the same machines without the
hand-written `FailoverDriver`: a `Customer` orders coffee, and the reboot is a declared
fault (`FAULTS`: the machine may crash once and is restarted with the same arguments):

    python -m testkit test failover_examples.coffee_machine:execute_declared -i 500 \
        --max-steps 2000 \
        --faults 'crash=CoffeeMachine;restart=CoffeeMachine;budget=1;heal_after=300'

`python -m failover_examples.coffee_machine` runs it for real, on Pykka threads.
"""

from __future__ import annotations

from failover_examples.coffee_machine.customer import Customer
from failover_examples.coffee_machine.driver import FailoverDriver, StartTest
from failover_examples.coffee_machine.liveness import LivenessMonitor
from failover_examples.coffee_machine.machine import CoffeeMachine, FixedCoffeeMachine
from failover_examples.coffee_machine.sensors import MockSensors, SensorOdometer
from testkit import Faults, Runtime

FAULTS = Faults(crash=CoffeeMachine, restart=CoffeeMachine, budget=1, heal_after=300)
"""What the declared variants let go wrong: one reboot of the machine (a crash, and a new
instance started as the first was) within the first 300 steps, the span of a coffee and of
the customer's patience."""


def execute(runtime: Runtime) -> None:
    """The systematic test: one driver, two machine instances, failover in between."""
    runtime.register_monitor(LivenessMonitor)
    FailoverDriver.start(run_forever=False).tell(StartTest())


def execute_fixed(runtime: Runtime) -> None:
    """The same test against the machine with the hopper check fixed."""
    runtime.register_monitor(LivenessMonitor)
    FailoverDriver.start(run_forever=False, machine_class=FixedCoffeeMachine).tell(StartTest())


def execute_declared(runtime: Runtime) -> None:
    """The failover test with the reboot declared, not driven: explore it with `FAULTS`.

    testkit.explore(execute_declared, 500, 2000, faults=coffee_machine.FAULTS)
    """
    _declared(runtime, CoffeeMachine)


def execute_declared_fixed(runtime: Runtime) -> None:
    """`execute_declared` against the machine with the hopper check fixed."""
    _declared(runtime, FixedCoffeeMachine)


def _declared(runtime: Runtime, machine: type[CoffeeMachine]) -> None:
    runtime.register_monitor(LivenessMonitor)
    sensors = MockSensors.start(run_slowly=False, odometer=SensorOdometer())
    customer = Customer.start()
    machine.start(sensors, customer)
    # The sensors' heater ticks forever, so these runs go on to max_steps: a declared reboot
    # can come at any moment (and its restart later still), so there is no moment at which
    # the hardware could safely be switched off, as the hand-written driver does after its
    # Terminate/Halted handshake.


__all__ = [
    "FAULTS",
    "CoffeeMachine",
    "Customer",
    "FailoverDriver",
    "FixedCoffeeMachine",
    "LivenessMonitor",
    "MockSensors",
    "SensorOdometer",
    "StartTest",
    "execute",
    "execute_declared",
    "execute_declared_fixed",
    "execute_fixed",
]
