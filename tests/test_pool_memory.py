"""The pool keeps nothing of a turn once it is over: no handled message, no frame, no
traceback (issue 17, point 7: a reused control-flow exception kept every turn's frames)."""

from __future__ import annotations

import gc
import types
import weakref
from typing import Any

import pykka
import pytest

import fsm
from fsm import FSM, Event, State

pytestmark = pytest.mark.testkit(enabled=False, reason="measures the production pool itself")


class Payload:
    """A message that can be watched with a weak reference."""


class Echo(fsm.PooledActor):
    def on_receive(self, message: Any) -> Any:
        return "ok"


class EchoFSM(FSM, fsm.PooledActor):
    def __init__(self) -> None:
        super().__init__()
        self.start_with("on", None)
        self.when("on", self.on)
        self.initialize()

    def on(self, event: Event) -> State:
        return self.stay().replying("ok")


def _tracebacks() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, types.TracebackType))


def test_handled_messages_are_not_kept_alive_after_their_turn() -> None:
    for cls in (Echo, EchoFSM):
        ref = cls.start()
        watched = []
        for _ in range(50):
            payload = Payload()
            watched.append(weakref.ref(payload))
            assert ref.ask(payload, timeout=5) == "ok"  # one message, one turn
            del payload
        ref.stop()
        gc.collect()
        alive = sum(1 for w in watched if w() is not None)
        assert alive == 0, f"{cls.__name__}: {alive} of 50 handled messages are still alive"


def test_turns_leave_no_tracebacks_behind() -> None:
    ref = Echo.start()
    ref.ask("warm-up", timeout=5)
    before = _tracebacks()
    for _ in range(2000):
        ref.ask("x", timeout=5)
    grown = _tracebacks() - before
    pykka.ActorRegistry.stop_all()
    assert grown < 100, f"{grown} traceback objects are left over from 2,000 turns"
