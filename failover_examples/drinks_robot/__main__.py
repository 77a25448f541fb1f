"""`python -m failover_examples.drinks_robot`: the drinks-serving robot on real threads.

The robot serves drink after drink while the failover driver replaces its Navigator at
random moments. Runs until Enter, Ctrl-C or `--duration` seconds. `--fixed` runs
`FixedRobot`; `--pooled` runs every actor on the shared pool of `fsm.PooledActor`.
"""

from __future__ import annotations

import argparse
from typing import Any

import pykka

from failover_examples.console import run_example
from failover_examples.drinks_robot import FailoverDriver, FixedRobot, Robot


def start(args: argparse.Namespace) -> pykka.ActorRef[Any]:
    robot: type[Robot] = FixedRobot if args.fixed else Robot
    return FailoverDriver.start(run_forever=True, robot_class=robot)


if __name__ == "__main__":
    raise SystemExit(run_example(__doc__ or "", start))
