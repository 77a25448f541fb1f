"""`python -m failover_examples.ledger serve|verify`: the ledger on a real SQLite journal.

    python -m failover_examples.ledger serve --journal ledger.db --accounts 8 > acks.txt &
    kill -9 $!                                   # at any moment
    python -m failover_examples.ledger verify --journal ledger.db acks.txt

`serve` prints `ACK ...` lines to stdout (one per acknowledged command) and logs to stderr;
`verify` exits 0 when every acknowledged command is in the recovered accounts, 1 if not.
"""

from __future__ import annotations

import argparse
import logging
import sys

from failover_examples.ledger.production import VARIANTS, serve, verify


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m failover_examples.ledger",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run accounts and clients, print ACK lines")
    run.add_argument("--journal", required=True, help="the SQLite journal file")
    run.add_argument("--accounts", type=int, default=8, help="accounts (one client each)")
    run.add_argument(
        "--commands", type=int, default=0, help="commands per client (0: until killed)"
    )
    run.add_argument("--run", default="run1", help="names this run's clients")
    run.add_argument("--variant", choices=sorted(VARIANTS), default="fixed")
    run.add_argument("--snapshot-every", type=int, default=100)
    run.add_argument("--flush-after", type=float, default=0.05, help="write-behind delay")
    run.add_argument("--synchronous", choices=["full", "normal"], default="full")
    run.add_argument("--pooled", action="store_true", help="accounts on fsm.PooledActor's pool")
    check = commands.add_parser("verify", help="check ACK lines against the recovered state")
    check.add_argument("--journal", required=True)
    check.add_argument("acks", nargs="*", help="files of ACK lines (default: stdin)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    if args.command == "serve":
        if args.accounts < 1 or args.commands < 0:
            parser.error("--accounts must be >= 1 and --commands >= 0")
        return serve(args)
    return verify(args)


if __name__ == "__main__":
    raise SystemExit(main())
