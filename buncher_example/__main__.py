"""`python -m buncher_example`: send bursts to a Buncher and print the batches it makes."""

from __future__ import annotations

import argparse
import logging
import queue
import time
from typing import Any

import pykka

from buncher_example import Batch, Buncher, Flush, Queue, SetTarget


class Printer(pykka.ThreadingActor):
    """Prints every batch it receives and hands it to the main thread."""

    def __init__(self, out: queue.Queue[Batch]) -> None:
        super().__init__()
        self.out = out

    def on_receive(self, message: Any) -> None:
        if isinstance(message, Batch):
            print(f"  batch received: {list(message.objs)}", flush=True)
            self.out.put(message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--burst-timeout", type=float, default=0.5, help="seconds of quiet that end a burst"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log the FSM's decisions")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s"
    )

    batches: queue.Queue[Batch] = queue.Queue()
    printer = Printer.start(batches)
    buncher = Buncher.start(burst_timeout=args.burst_timeout)
    try:
        buncher.tell(SetTarget(printer))
        print("burst of 1..5, ended by silence:", flush=True)
        for i in range(1, 6):
            buncher.tell(Queue(i))
        batches.get(timeout=10)
        print("burst of 6..8, ended by Flush, then 9 alone:", flush=True)
        for i in (6, 7, 8):
            buncher.tell(Queue(i))
        buncher.tell(Flush())
        buncher.tell(Queue(9))
        batches.get(timeout=10)
        started = time.monotonic()
        batches.get(timeout=10)
        print(f"the last batch came after {time.monotonic() - started:.2f}s of quiet", flush=True)
    finally:
        buncher.stop()
        printer.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
