"""Running an example for real: console logging like Coyote's, and a clean way to stop.

Both examples run on Pykka threads (or, with `--pooled`, on the shared pool of
`fsm.PooledActor`) and real timers until Enter, Ctrl-C, `--duration`
seconds, or their driver stops by itself; then every actor is stopped.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pykka

from failover_examples.actors import use_pool


class ActorNameFormatter(logging.Formatter):
    """`<CoffeeMachine> message`: the logger's last name component, then the message."""

    def format(self, record: logging.LogRecord) -> str:
        return f"<{record.name.rsplit('.', 1)[-1]}> {record.getMessage()}"


def _wait_for_enter(pressed: threading.Event) -> None:
    try:
        if sys.stdin.readline():
            pressed.set()
    except (OSError, ValueError):  # no usable stdin: --duration or Ctrl-C will end it
        pass


def run_example(
    description: str,
    start: Callable[[argparse.Namespace], pykka.ActorRef[Any]],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse `--duration`/`--fixed`/`--pooled`, start the driver with `start(args)`, wait, stop."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    parser.add_argument("--fixed", action="store_true", help="run the fixed variant")
    parser.add_argument(
        "--pooled", action="store_true", help="run the actors on fsm.PooledActor's shared pool"
    )
    args = parser.parse_args(argv)
    use_pool(args.pooled)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(ActorNameFormatter())
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)  # given back afterwards: callers keep their logging
    root.handlers[:] = [handler]  # the actors' log lines are this program's output
    root.setLevel(logging.INFO)

    driver = start(args)
    pressed = threading.Event()
    threading.Thread(target=_wait_for_enter, args=(pressed,), daemon=True).start()
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
        driver.stop()  # first, so that it starts nothing new while the rest stops
        pykka.ActorRegistry.stop_all()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    return 0
