"""`python -m failover_examples.coffee_machine`: the coffee machine on real threads and timers.

The failover driver makes coffee after coffee and kills the machine at random moments; the
sensors persist. Runs until Enter, Ctrl-C, `--duration` seconds, or the machine reports that
it needs a refill or fixing. `--fixed` runs `FixedCoffeeMachine`; `--pooled` runs every actor
on the shared pool of `fsm.PooledActor` instead of a thread each.
"""

from __future__ import annotations

import argparse
from typing import Any

import pykka

from failover_examples.coffee_machine import FailoverDriver, FixedCoffeeMachine, StartTest
from failover_examples.coffee_machine.machine import CoffeeMachine
from failover_examples.console import run_example


def start(args: argparse.Namespace) -> pykka.ActorRef[Any]:
    machine: type[CoffeeMachine] = FixedCoffeeMachine if args.fixed else CoffeeMachine
    driver = FailoverDriver.start(run_forever=True, machine_class=machine)
    driver.tell(StartTest())
    return driver


if __name__ == "__main__":
    raise SystemExit(run_example(__doc__ or "", start))
