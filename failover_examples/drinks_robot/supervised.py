"""The drinks robot under a supervisor: a Navigator that is restarted, not replaced by hand.

The hand-written `FailoverDriver` fails the Navigator over with a handshake (`Terminate`,
`Halted`, a new Navigator, `WakeUp`), and only once the Navigator has recorded an order. A
supervisor that restarts a crashed Navigator (declared to the tester as a crash and a
restart) gives neither: the crash comes at any moment, and nobody wakes the new instance.
So a supervised deployment needs three things the driver's did not:

- `SupervisedNavigator` wakes itself on every start, finding the `Robot` in Pykka's
  registry (a process that comes back must find the parties it serves by itself);
- the Robot asks again for a drink order when a new Navigator registers while it waits for
  one that was never confirmed: the request died in the crashed Navigator's mailbox
  (`SupervisedRobot`, `SupervisedFixedRobot`); without this the Robot waits forever, a bug
  the declared crash finds at once and the driver never could;
- so a request may arrive twice (the one in storage, taken up by the new Navigator, and the
  Robot's new one): `SupervisedNavigator` treats a request already in storage as a retry,
  not as a lost one.

The seeded bug (`drink_order_pending` cleared too late) is untouched: `SupervisedRobot` has
it, `SupervisedFixedRobot` has the fix.
"""

from __future__ import annotations

from typing import Any

import pykka

from failover_examples.drinks_robot.navigator import (
    DRINK_ORDER_STORAGE_KEY,
    GetDrinkOrder,
    Navigator,
    WakeUp,
)
from failover_examples.drinks_robot.robot import FixedRobot, Robot, RobotState
from failover_examples.drinks_robot.storage import Confirmed
from fsm import Event, State


class SupervisedNavigator(Navigator):
    """A `Navigator` that wakes itself on start with the running `Robot`, and takes a request
    already in storage for a retry.

    Example: `SupervisedNavigator.start(None, storage, cognitive_service, route_planner)`
    next to a running Robot.
    """

    def on_start(self) -> None:
        robots = pykka.ActorRegistry.get_by_class(Robot)
        if robots:
            self.actor_ref.tell(WakeUp(robots[0]))
        else:
            self.log.error("no Robot is running: nothing to navigate for")

    def active(self, event: Event) -> State | None:
        match event.message:
            case Confirmed(key, _, True) if key == DRINK_ORDER_STORAGE_KEY:
                self.log.info("a retried drink order: the stored one is already being served")
                return self.stay()
        return super().active(event)


class _AsksAgain(Robot):
    """Asks a newly registered Navigator for the drink order that the crashed one never
    confirmed."""

    def set_navigator(self, navigator: pykka.ActorRef[Any]) -> State:
        replaced = self.navigator is not None and navigator is not self.navigator
        waiting = self.state_name is RobotState.ACTIVE and not self.drink_order_pending
        nxt = super().set_navigator(navigator)
        if replaced and waiting and self.current_order is None:
            self.log.info("asking the new Navigator again for the unconfirmed drink order")
            self._tell_navigator(GetDrinkOrder(self.get_picture()))
        return nxt


class SupervisedRobot(_AsksAgain):
    """The shipped Robot (seeded bug included), asking again after a Navigator crash."""


class SupervisedFixedRobot(_AsksAgain, FixedRobot):
    """`FixedRobot`, asking again after a Navigator crash."""
