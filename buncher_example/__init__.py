"""The Buncher from Akka's FSM documentation: batches a burst of messages for a target.

It queues `Queue(obj)` messages while a burst lasts and sends them on as one `Batch` when
a `Flush` arrives or when no message came for one second (the Active state's timeout).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace
from typing import Any

import pykka

from fsm import FSM, Event, State, StateTimeout

__all__ = [
    "Batch",
    "Buncher",
    "BuncherFSM",
    "BuncherState",
    "Flush",
    "Queue",
    "SetTarget",
    "Todo",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SetTarget:
    """Received: where to send batches. Needed before anything is queued."""

    ref: pykka.ActorRef[Any]


@dataclass(frozen=True)
class Queue:
    """Received: add `obj` to the current batch."""

    obj: Any


@dataclass(frozen=True)
class Flush:
    """Received: the burst is over, send the batch now."""


@dataclass(frozen=True)
class Batch:
    """Sent to the target: the objects queued during one burst, in order."""

    objs: tuple[Any, ...]


class BuncherState(enum.Enum):
    IDLE = "Idle"
    ACTIVE = "Active"


@dataclass(frozen=True)
class Todo:
    """State data once a target is set: the target and the objects queued so far."""

    target: pykka.ActorRef[Any]
    queue: tuple[Any, ...] = ()


class BuncherFSM(FSM):
    """Idle until something is queued, Active while a burst lasts; flushes on leaving Active.

    The machine on no actor base yet: `Buncher` runs it on a thread of its own, and
    `class PooledBuncher(BuncherFSM, fsm.PooledActor)` would run it on the shared pool.
    """

    def __init__(self, burst_timeout: float = 1.0) -> None:
        super().__init__()
        self.start_with(BuncherState.IDLE, None)
        self.when(BuncherState.IDLE, self.idle)
        self.when(BuncherState.ACTIVE, self.active, state_timeout=burst_timeout)
        self.when_unhandled(self.unhandled)
        self.on_transition(self.flush)
        self.initialize()

    def idle(self, event: Event) -> State | None:
        match event:
            case Event(SetTarget(ref), None):
                return self.stay().using(Todo(ref))
        return None

    def active(self, event: Event) -> State | None:
        match event:
            case Event(Flush() | StateTimeout(), Todo() as todo):
                return self.goto(BuncherState.IDLE).using(replace(todo, queue=()))
        return None

    def unhandled(self, event: Event) -> State:
        """Queueing works the same in both states, once a target is set."""
        match event:
            case Event(Queue(obj), Todo() as todo):
                return self.goto(BuncherState.ACTIVE).using(replace(todo, queue=(*todo.queue, obj)))
            case _:
                self.log.warning(
                    "unhandled %r in state %s with data %r",
                    event.message,
                    self.state_name,
                    event.data,
                )
                return self.stay()

    def flush(self, prev: BuncherState, nxt: BuncherState) -> None:
        if (prev, nxt) == (BuncherState.ACTIVE, BuncherState.IDLE):
            todo = self.state_data
            log.info("flushing a batch of %d to %s", len(todo.queue), todo.target)
            todo.target.tell(Batch(todo.queue))


class Buncher(BuncherFSM, pykka.ThreadingActor):
    """The Buncher on a thread of its own (Pykka's `ThreadingActor`)."""
