"""Pool memory over many turns: RSS before and after N asks to one PooledActor (each ask is a
turn of its own), on a baseline commit and on this tree, each in a fresh process.

    python bench/pool_memory.py [--messages 100000] [--baseline main]

Issue 17, point 7: a reused control-flow exception kept every turn's frames (21 -> 41 MB over
100k messages). Not part of CI.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _baseline import ROOT, export, run_probe

PROBE = """
import gc, json, sys
import pykka, fsm

class Echo(fsm.PooledActor):
    def on_receive(self, message):
        return None

def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

n = int(sys.argv[1])
ref = Echo.start()
ref.ask(0, timeout=5)
gc.collect()
before = rss_mb()
for i in range(n):
    ref.ask(i, timeout=5)
pykka.ActorRegistry.stop_all()
gc.collect()
print(json.dumps({"before": before, "after": rss_mb()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--baseline", default="main", help="git ref to compare with (main)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = export(args.baseline, Path(tmp))
        for label, tree in ((args.baseline, base), ("this tree", ROOT)):
            result = run_probe(tree, PROBE, args.messages)
            grown = result["after"] - result["before"]
            print(
                f"{label:>10}: RSS {result['before']:.1f} -> {result['after']:.1f} MB after "
                f"{args.messages:,} turns and stop_all() + gc ({grown:+.1f} MB)"
            )


if __name__ == "__main__":
    main()
