"""The parts of pykka we build on behave the same across the supported 4.x range.

CI runs the whole suite against the oldest and the newest pykka that setup.cfg allows; these
tests pin down `NotifyingFuture`, which once read pykka 4.3's private `_condition` and hung
every `ask` of a `TestFSMRef` under pykka 4.0-4.2.
"""

from __future__ import annotations

from typing import Any

import pykka
import pytest

from fsm._dispatch import NotifyingFuture


def test_callback_added_before_the_value_runs_when_it_is_set() -> None:
    future = NotifyingFuture()
    seen: list[Any] = []
    future.add_done_callback(lambda f: seen.append(f.get()))
    assert seen == []
    future.set(42)
    assert seen == [42]
    assert future.get(timeout=1) == 42


def test_callback_added_after_the_value_runs_at_once() -> None:
    future = NotifyingFuture()
    future.set("done")
    seen: list[Any] = []
    future.add_done_callback(lambda f: seen.append(f.get()))
    assert seen == ["done"]


def test_an_exception_reaches_the_callback_and_the_getter() -> None:
    future = NotifyingFuture()
    seen: list[Any] = []
    future.add_done_callback(seen.append)
    try:
        raise ValueError("boom")
    except ValueError:
        future.set_exception()
    assert seen == [future]
    with pytest.raises(ValueError, match="boom"):
        future.get(timeout=1)


def test_an_actor_answers_every_ask_through_the_future() -> None:
    class Echo(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> Any:
            return message

    ref = Echo.start()
    try:
        future = NotifyingFuture()
        seen: list[Any] = []
        future.add_done_callback(seen.append)  # one reader only: pykka < 4.3 allows no more
        ref.actor_inbox.put(pykka._envelope.Envelope("first", reply_to=future))
        assert ref.ask("second", timeout=5) == "second"  # the actor survived the first reply
        assert seen == [future]
        assert future.get(timeout=5) == "first"
    finally:
        ref.stop()
