"""`python -m failover_examples.coffee_machine`: the coffee machine on real threads and timers.

The failover driver makes coffee after coffee and kills the machine at random moments; the
sensors persist. Runs until Enter, Ctrl-C, `--duration` seconds, or the machine reports that
it needs a refill or fixing.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time

import pykka

from failover_examples.coffee_machine import FailoverDriver, FixedCoffeeMachine, StartTest
from failover_examples.coffee_machine.machine import CoffeeMachine


class ActorNameFormatter(logging.Formatter):
    """`<CoffeeMachine> message`, as the Coyote sample prints it."""

    def format(self, record: logging.LogRecord) -> str:
        return f"<{record.name.rsplit('.', 1)[-1]}> {record.getMessage()}"


def wait_for_enter(pressed: threading.Event) -> None:
    try:
        if sys.stdin.readline():
            pressed.set()
    except (OSError, ValueError):  # no usable stdin: rely on --duration or Ctrl-C
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    parser.add_argument("--fixed", action="store_true", help="run the fixed machine")
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(ActorNameFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])

    machine: type[CoffeeMachine] = FixedCoffeeMachine if args.fixed else CoffeeMachine
    driver = FailoverDriver.start(run_forever=True, machine_class=machine)
    driver.tell(StartTest())
    pressed = threading.Event()
    threading.Thread(target=wait_for_enter, args=(pressed,), daemon=True).start()
    deadline = None if args.duration is None else time.monotonic() + args.duration
    try:
        while not pressed.is_set() and driver.is_alive():
            if deadline is not None and time.monotonic() >= deadline:
                break
            pressed.wait(0.2)
    except KeyboardInterrupt:
        print("\ninterrupted")
    else:
        if pressed.is_set():
            print("User cancelled the test by pressing ENTER")
        elif not driver.is_alive():
            print("The failover driver finished.")
    finally:
        driver.stop()  # first, so that no new machine starts while the rest stops
        pykka.ActorRegistry.stop_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
