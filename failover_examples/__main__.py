"""`python -m failover_examples`: the tester finds the coffee machine's failover bug, shrinks
its trace, explains it (the steps that matter and the change that makes the run pass), draws
it as a sequence diagram (HTML), then replays the shrunk trace. The same as

    python -m testkit test failover_examples.coffee_machine:execute \\
        -i 100 --max-steps 2000 --seed 3

followed by the printed replay command, except that finding the bug is success here (exit 0)
and missing it is the failure (exit 1). The seed is fixed (3, the run the README shows) so
that the demonstration prints the same every time; `--seed N` explores another run.
"""

from __future__ import annotations

import argparse
import logging
import shlex

import testkit
from failover_examples import coffee_machine

TARGET = "failover_examples.coffee_machine:execute"
SEED = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-i", "--iterations", type=int, default=100)
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help=f"the exploration's seed (default: {SEED}, the run the README shows)",
    )
    parser.add_argument("--trace-out", default="testkit-traces/coffee_machine.trace")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # the actors' logs would drown the report

    print(f"testing {TARGET}: {args.iterations} iterations of up to {args.max_steps} steps")
    report = testkit.explore(
        coffee_machine.execute,
        iterations=args.iterations,
        max_steps=args.max_steps,
        seed=args.seed,
        name=TARGET,
    )
    print(report.summary())
    if report.bug is None:
        print("the tester did not find the bug this time; try more iterations")
        return 1
    bug = report.bug
    path = bug.trace.save(args.trace_out)
    original = bug.original_trace.save(path.with_suffix(".original.trace"))
    print(f"\nshrunk from {len(bug.original_trace)} to {len(bug.trace)} steps")
    print(f"original trace written to {original}")
    print(f"trace written to {path}")
    print(f"replay it with: python -m testkit replay {TARGET} {shlex.quote(str(path))}")
    why = bug.explain(coffee_machine.execute)
    print("why:")
    for line in why.story.splitlines():
        print(f"  {line}")
    page = path.with_suffix(".html")
    page.write_text(
        testkit.sequence_diagram(coffee_machine.execute, path, explanation=why), encoding="utf-8"
    )
    print(f"sequence diagram written to {page} (open it in a browser)")
    again = testkit.replay(coffee_machine.execute, path)
    assert again.bug is not None
    print(f"replayed: {again.bug.headline()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
