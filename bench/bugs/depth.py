"""Synthetic bugs of known depth for PCT's guarantee: three workers take `STEPS` steps each
(one message to themselves per step); the bug is an ordering of those steps with d ordering
constraints, which `pct:d` (d-1 change points) must hit with probability at least
1/(n*k^(d-1)) per iteration (n operations, k scheduling decisions)."""

from __future__ import annotations

from typing import Any

from bench.bugs._common import Node
from fsm import State
from testkit import Runtime

WORKERS = 3
STEPS = 4


class Worker(Node):
    def __init__(self, me: int, log: list[tuple[int, int]]) -> None:
        self.me = me
        self.events = log
        super().__init__()

    def handle(self, message: Any) -> State | None:
        step = int(message)
        self.events.append((self.me, step))
        if step + 1 < STEPS:
            self.actor_ref.tell(step + 1)
        return None


def _positions(log: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    return {event: i for i, event in enumerate(log)}


def _run(runtime: Runtime) -> list[tuple[int, int]]:
    log: list[tuple[int, int]] = []
    workers = [Worker.start(i, log) for i in range(WORKERS)]
    for worker in workers:
        worker.tell(0)
    runtime.run()
    return log


LAST = STEPS - 1


def depth1(runtime: Runtime) -> None:
    """Worker 1 finishes before worker 0 starts (1 constraint)."""
    at = _positions(_run(runtime))
    assert not at[(1, LAST)] < at[(0, 0)], "depth-1 ordering reached"


def depth2(runtime: Runtime) -> None:
    """Worker 1 runs entirely between worker 0's first and second steps (2 constraints)."""
    at = _positions(_run(runtime))
    assert not (at[(0, 0)] < at[(1, 0)] and at[(1, LAST)] < at[(0, 1)]), "depth-2 ordering"


def depth3(runtime: Runtime) -> None:
    """Worker 0 takes one step, then worker 2 runs entirely, then worker 1, then worker 0
    goes on (3 constraints: 0.0 < 2.0, 2.last < 1.0, 1.last < 0.1)."""
    at = _positions(_run(runtime))
    assert not (
        at[(0, 0)] < at[(2, 0)] and at[(2, LAST)] < at[(1, 0)] and at[(1, LAST)] < at[(0, 1)]
    ), "depth-3 ordering reached"
