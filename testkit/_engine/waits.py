"""Handlers that wait: a suspended handler's record, and the wait-for graph of a deadlock.

A handler that blocks on a future (an `ask`, a proxy call's `.get()`, `ref.stop()`) is
parked on its greenlet until the future is set; its actor handles nothing meanwhile, as in
Pykka. Who waits for whom follows from each future's owner (the mailbox its request went to),
so a cycle of waits is a deadlock that can be named, with the step each wait began.
"""

from __future__ import annotations

from typing import Any

from testkit._engine.bug import Bug, actor_text
from testkit._engine.payloads import request_text


class Waiter:
    """A handler parked on `future` since `step`, on its greenlet `glet`; with a timeout, it
    gives up at virtual time `deadline` if nothing else can run by then."""

    __slots__ = (
        "deadline",
        "future",
        "glet",
        "op",
        "ready",
        "step",
        "target",
        "timed_out",
        "timeout",
        "what",
    )

    def __init__(
        self, op: Any, glet: Any, future: Any, step: int, timeout: float | None, now: float = 0.0
    ) -> None:
        self.op = op
        self.glet = glet
        self.future = future
        self.step = step
        self.timeout = timeout
        self.deadline = None if timeout is None else now + max(timeout, 0.0)
        self.ready = False
        self.timed_out = False
        self.target = owner_id(future)
        self.what = request_of(future)


def owner_id(future: Any) -> str:
    """The id of whoever will set `future` (`B#1`, `TestProbe('probe')`), what a wait that
    no actor answers is on (`threading`, `clock`), or `future`."""
    owner = getattr(future, "owner", None)
    if owner is None:
        return str(getattr(future, "waits_on", "future"))
    return str(getattr(owner, "id", "future"))


def request_of(future: Any) -> str:
    """What the wait on `future` is for: `ask:Foo`, `call:play`, `Event.wait`, `sleep`, `get`."""
    text: str | None = getattr(future, "wait_text", None)  # a journal write: `write:3`
    if text is not None:
        return text
    owner = getattr(future, "owner", None)
    if owner is None:
        return str(getattr(future, "waits_for", "get"))
    return request_text(getattr(future, "request", None))


def _edge(waiter_id: str, future: Any) -> str:
    what = request_of(future).replace(":", " ", 1)
    return f"{waiter_id} waits for {owner_id(future)} ({what})"


def find_cycle(start: Any) -> list[Any] | None:
    """The mailboxes of a cycle of waits through `start` (a mailbox with a waiter), if any.

    Waits with a timeout end by themselves (pykka.Timeout), so they break a cycle."""
    chain = [start]
    node = start
    while True:
        waiter = node.waiter
        if waiter is None or waiter.ready or waiter.timeout is not None:
            return None
        owner = getattr(waiter.future, "owner", None)
        if owner is None or getattr(owner, "waiter", None) is None:
            return None
        if owner is start:
            return chain
        if owner in chain:
            return None  # a cycle that `start` only leads into: found from its own members
        chain.append(owner)
        node = owner


def cycle_bug(cycle: list[Any]) -> Bug:
    """`A#1 waits for B#1 (ask Foo), B#1 waits for A#1 (ask Bar)`, and when each wait began."""
    edges = ", ".join(_edge(op.id, op.waiter.future) for op in cycle)
    began = ", ".join(f"{op.id} at step {op.waiter.step}" for op in cycle)
    first = cycle[0]
    state = getattr(getattr(first.actor, "_sm_current", None), "state_name", None)
    return Bug(
        "deadlock",
        f"ask cycle: {edges}; none can go on, as an actor waiting for a reply handles no "
        f"other message (the waits began: {began}). Break the cycle: tell() and handle the "
        "reply as a message, or ask(..., block=False) and continue in a callback",
        first.id,
        state,
    )


def stuck_bug(waiters: list[Any], body: Any) -> Bug:
    """Nothing can run, and handlers (maybe the test function too) wait for replies that
    can never come: name each wait, and the test function's if it is part of it."""
    parts = []
    through_test = False
    future = getattr(body, "waiting_for", None)
    if future is not None:
        parts.append(_edge("the test function", future) + " since it asked")
    for waiter in waiters:
        owner = getattr(waiter.future, "owner", None)
        text = f"{_edge(waiter.op.id, waiter.future)} since step {waiter.step}"
        if getattr(owner, "answered_by_test", False):
            through_test = future is not None or body.state != "finished"
            text += ", which only the test function can answer"
        parts.append(text)
    cycle = "a cycle through the test function: " if through_test else ""
    first = waiters[0].op if waiters else None
    actor = first.id if first is not None else "test"
    state = getattr(getattr(getattr(first, "actor", None), "_sm_current", None), "state_name", None)
    return Bug(
        "deadlock",
        f"{cycle}{'; '.join(parts)}; no actor can run any more, so these waits never end "
        f"({actor_text(first) if first is not None else 'the test function'} is stuck)",
        actor,
        state,
    )
