"""A system whose last message reaches an actor that has already stopped (a dead letter)."""

from __future__ import annotations

from typing import Any

import pykka

import fsm
from fsm import FSM, Event, State
from testkit import Runtime, TestProbe


class Sink(FSM, pykka.ThreadingActor):
    """Takes anything; stops on "stop", so what is queued behind it is never handled."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("open", 0)
        self.when("open", self.open)
        self.initialize()

    def open(self, event: Event) -> State | None:
        match event:
            case Event("stop", _):
                return self.stop()
            case Event(_, count):
                return self.stay().using(count + 1)
        return None


def late_message(runtime: Runtime) -> None:
    """ "late" is queued behind "stop": it becomes a dead letter, and the test fails after."""
    probe = TestProbe("letters")
    fsm.dead_letters.subscribe(probe.ref)
    try:
        sink = Sink.start()
        sink.tell("stop")
        sink.tell("late")
        letter: Any = probe.expect_dead_letter("late")
        assert letter.recipient == sink
        raise AssertionError("the test ends here, with a trace")
    finally:
        fsm.dead_letters.unsubscribe(probe.ref)
