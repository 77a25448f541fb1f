"""Who is sending right now: the FSM whose thread or scheduler step runs the current code.

A `TestProbe` asks this when a message arrives, so `probe.last_sender` can name the FSM that
told it something (Pykka's envelopes carry no sender).
"""

from __future__ import annotations

import threading
from typing import Any

import pykka

from fsm import _dispatch

_local = threading.local()


def bind_thread(ref: pykka.ActorRef[Any] | None) -> None:
    """The calling thread runs the actor `ref` from now on (a ThreadingActor's own thread, a
    pool worker during a turn); None: no actor."""
    _local.ref = ref


def current_sender() -> pykka.ActorRef[Any] | None:
    """The actor running the calling code, where that is known, else None."""
    running = getattr(_dispatch.current(), "running_actor", None)
    if running is not None:
        ref: pykka.ActorRef[Any] | None = running()
        return ref
    return getattr(_local, "ref", None)
