"""Run as a child process by `test_a_ctrl_c_while_the_workers_start_is_not_lost`: a Ctrl-C
(SIGINT to itself) arrives in the very moment a worker process is started.

    python -m tests.ctrl_c_while_workers_start
"""

from __future__ import annotations

import multiprocessing.context as context
import os
import signal

import testkit
from testkit._exploration import workers
from tests import buggy_systems

_start = context.SpawnProcess.start


def _start_with_ctrl_c(process: context.SpawnProcess) -> None:
    os.kill(os.getpid(), signal.SIGINT)
    _start(process)


if __name__ == "__main__":
    workers.SPREAD_AFTER = workers.SPREAD_WORTH = 0.0
    context.SpawnProcess.start = _start_with_ctrl_c  # type: ignore[method-assign,assignment]
    try:
        testkit.explore(
            buggy_systems.lost_update_fixed, 10**8, 500, "random", 1, workers=2, progress=False
        )
    except testkit.Interrupted as stopped:
        print("interrupted after", stopped.report.iterations, flush=True)
