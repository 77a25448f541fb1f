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
