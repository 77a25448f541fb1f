"""Small actors for the TestProbe tests: they stop, fail, tell and reply on request."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pykka

import testkit
from fsm import FSM, Event, LoggingFSM, State


class Worker(FSM, pykka.ThreadingActor):
    """ "stop" stops it, "boom" fails it, ("tell", ref, msg) tells, ("reply", x) replies x,
    ("count",) adds one to its data; anything else it keeps."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("idle", 0)
        self.when("idle", self.idle)
        self.initialize()

    def idle(self, event: Event) -> State | None:
        match event.message:
            case "stop":
                return self.stop()
            case "boom":
                raise ValueError("boom")
            case ("tell", ref, msg):
                ref.tell(msg)
            case ("reply", value):
                return self.stay().replying(value)
            case "count":
                return self.stay().using(event.data + 1)
        return self.stay()


class Logged(LoggingFSM, pykka.ThreadingActor):
    log_depth = 4

    def __init__(self) -> None:
        super().__init__()
        self.start_with("a", 0)
        self.when("a", lambda event: self.goto("b").using(event.data + 1))
        self.when("b", lambda event: self.goto("a").using(event.data + 1))
        self.initialize()


class Plain(pykka.ThreadingActor):
    """A plain Pykka actor: "boom" fails it."""

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise ValueError("boom")
        return message


@contextlib.contextmanager
def runtime(kind: str) -> Iterator[None]:
    """Real threads, or one schedule of the deterministic tester."""
    if kind == "threads":
        yield
    else:
        with testkit.deterministic(seed=1):
            yield


RUNTIMES = ["threads", "deterministic"]
