"""The examples' actor base: a thread per actor by default, or the shared pool (`--pooled`).

Every example FSM is `class X(FSM, ExampleActor)`; `use_pool(True)` before the first actor
starts moves them all onto `fsm.PooledActor`'s shared pool. Under the deterministic tester
either way runs on the tester's scheduler.
"""

from __future__ import annotations

import fsm


class ExampleActor(fsm.PooledActor):
    """A `PooledActor` that runs on a thread of its own unless `use_pool(True)` was called."""

    pooled = False


def use_pool(pooled: bool) -> None:
    """Run the examples' actors on the shared pool (True) or a thread each (False).

    Example: `use_pool(True); FailoverDriver.start(run_forever=True)`
    """
    ExampleActor.pooled = pooled
