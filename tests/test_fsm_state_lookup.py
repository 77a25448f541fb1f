"""The message path's shortcuts keep the DSL's meaning: states are found by equality even when
the name is another (equal) object, late `when` and `set_state_timeout` calls take effect, and
every outcome is a new `State` (the tester tells a handled message by `after is not before`)."""

from __future__ import annotations

import enum
from typing import Any

import pykka
import pytest

from fsm import FSM, Event, FSMError, State
from testkit import TestFSMRef


class Phase(enum.Enum):
    ONE = 1
    TWO = 2


def runtime_name(*parts: str) -> str:
    """An equal string that is a different object from the literal."""
    name = "".join(parts)
    assert name is not "".join(parts)
    return name


class Equal(FSM, pykka.ThreadingActor):
    """Declares "idle" and ("s", 1); moves with equal names that are other objects."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[Any, Any]] = []
        self.start_with(runtime_name("id", "le"), 0)
        self.set_state_timeout("idle", 3600)  # before its when: the when picks it up
        self.when("idle", self.idle)
        self.when(("s", 1), self.tuple_state, state_timeout=3600)
        self.on_transition(lambda a, b: self.seen.append((a, b)))
        self.initialize()

    def idle(self, event: Event) -> State:
        return self.goto(("s", int("1"))).using(event.data + 1)

    def tuple_state(self, event: Event) -> State:
        if event.message == "back":
            return self.goto(runtime_name("id", "le"))
        return self.stay().using(event.data + 10)


@pytest.mark.testkit(
    enabled=False,
    reason="reads TestFSMRef.state_name right after a tell, which only a thread's timing orders",
)
def test_state_names_are_found_by_equality_not_identity() -> None:
    ref = TestFSMRef(Equal)
    assert ref.state_name == "idle" and ref.is_state_timer_active()
    ref.ref.tell("go")
    ref.ref.tell("more")
    assert ref.state_name == ("s", 1) and ref.state_data == 11
    assert ref.is_state_timer_active()  # the timeout declared for the equal tuple
    ref.ref.tell("back")
    assert ref.state_name == "idle" and ref.is_state_timer_active()
    assert ref.underlying_actor.seen == [("idle", ("s", 1)), (("s", 1), "idle")]
    ref.ref.stop()


class Late(FSM, pykka.ThreadingActor):
    """Adds a handler to its current state and declares a new state after initialize()."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with(Phase.ONE, [])
        self.when(Phase.ONE, self.first)
        self.initialize()
        self.when(Phase.ONE, self.second)  # chained after the first, though late
        self.when(Phase.TWO, lambda event: self.stay().using([*event.data, "two"]))

    def first(self, event: Event) -> State | None:
        if event.message == "first":
            return self.stay().using([*event.data, "first"])
        return None

    def second(self, event: Event) -> State | None:
        if event.message == "second":
            return self.stay().using([*event.data, "second"])
        if event.message == "move":
            return self.goto(Phase.TWO)
        if event.message == "timeout":
            self.set_state_timeout(Phase.TWO, 3600)
            return self.stay()
        return None


@pytest.mark.testkit(
    enabled=False,
    reason="reads TestFSMRef.state_name right after a tell, which only a thread's timing orders",
)
def test_when_and_set_state_timeout_after_initialize_take_effect() -> None:
    ref = TestFSMRef(Late)
    for message in ("first", "second", "timeout", "move", "anything"):
        ref.ref.tell(message)
    assert ref.state_name is Phase.TWO
    assert ref.state_data == ["first", "second", "two"]
    assert ref.is_state_timer_active()  # set after initialize, for a state declared late
    ref.ref.stop()


class Outcomes(FSM, pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.outcomes: list[State] = []
        self.start_with("s", 0)
        self.when("s", self.handle)
        self.initialize()

    def handle(self, event: Event) -> State:
        stay = self.stay()
        one, two = stay.using(1), stay.using(2)
        moved = self.goto("s")
        self.outcomes += [stay, one, two, moved, moved.using(3)]
        return stay


def test_every_outcome_is_a_new_state_and_using_copies() -> None:
    ref = TestFSMRef(Outcomes)
    before = ref.underlying_actor._sm_current
    ref.ref.ask("go")
    actor = ref.underlying_actor
    stay, one, two, moved, moved3 = actor.outcomes
    assert (stay.state_data, one.state_data, two.state_data) == (0, 1, 2)
    assert (moved.state_data, moved3.state_data) == (0, 3)
    assert len({id(s) for s in (before, *actor.outcomes)}) == 6
    assert actor._sm_current is stay and stay is not before
    assert not stay.notifies and moved.notifies and moved3.notifies
    ref.ref.stop()


def test_when_reports_an_unhashable_state_before_a_bad_handler() -> None:
    class Bad(FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("a", None)
            self.set_state_timeout("a", 1.0)  # timeouts are looked up for new states too
            self.when(["a"], "not callable")  # type: ignore[arg-type]

    with pytest.raises(FSMError, match=r"when: state \['a'\] is not hashable"):
        Bad.start()

    class BadHandler(FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("a", None)
            self.set_state_timeout("a", 1.0)
            self.when(["a"], lambda event: None)

    with pytest.raises(FSMError, match=r"when: state \['a'\] is not hashable"):
        BadHandler.start()
