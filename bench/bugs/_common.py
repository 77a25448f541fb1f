"""The one-state actor the benchmark's systems are written with."""

from __future__ import annotations

from typing import Any

import pykka

from fsm import FSM, Event, State


class Node(FSM, pykka.ThreadingActor):
    """An FSM with a single state `up`: every message goes to `handle(message)`, which returns
    nothing (stay) or a `State` (e.g. `self.stop()`)."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("up", None)
        self.when("up", self._dispatch)
        self.initialize()

    def _dispatch(self, event: Event) -> State | None:
        return self.handle(event.message) or self.stay()

    def handle(self, message: Any) -> State | None:
        raise NotImplementedError


Ref = pykka.ActorRef[Any]


class Link(Node):
    """A network path: forwards each `(target, message)` it is told, in order. A strategy that
    holds a link back models a slow link (a congested replication stream, a long GC pause on
    the sender's socket): what it carries arrives late, after everything else has happened."""

    def handle(self, message: Any) -> State | None:
        target, payload = message
        target.tell(payload)
        return None


class Chatter(Node):
    """Background traffic: `rounds` request/response exchanges with a peer (health checks,
    metrics, client reads), so a run has other work going on while a message is in flight.
    Start two and tell one `("ping", rounds, peer)`."""

    def handle(self, message: Any) -> State | None:
        match message:
            case ("ping", int(left), peer) if left > 0:
                peer.tell(("ping", left - 1, self.actor_ref))
        return None
