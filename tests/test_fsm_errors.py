"""Bad definitions and bad input: each a clear FSMError naming what is wrong."""

from __future__ import annotations

from typing import Any

import pykka
import pytest

import testkit
from fsm import FSM, Event, FSMError, LoggingFSM, State, StopEvent
from testkit import TestFSMRef, TestProbe


def make(setup: Any) -> type[FSM]:
    class Machine(FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            setup(self)

    return Machine


def test_initialize_without_start_with() -> None:
    def setup(fsm: Any) -> None:
        fsm.when("a", lambda ev: fsm.stay())
        fsm.initialize()

    with pytest.raises(FSMError, match=r"without start_with\(state, data\)"):
        make(setup).start()


@pytest.mark.testkit(
    enabled=False, reason="checks an FSM's definition error, which the tester reports as a bug"
)
def test_initialize_forgotten_is_an_error_on_the_first_message() -> None:
    def setup(fsm: Any) -> None:
        fsm.start_with("a", None)
        fsm.when("a", lambda ev: fsm.stay())

    ref = make(setup).start()
    with pytest.raises(FSMError, match=r"initialize\(\) was never called"):
        ref.ask("hello", timeout=3)
    assert ref.actor_stopped.wait(3)


def test_initial_state_without_when() -> None:
    def setup(fsm: Any) -> None:
        fsm.start_with("missing", None)
        fsm.when("a", lambda ev: fsm.stay())
        fsm.initialize()

    with pytest.raises(FSMError, match=r"initial state 'missing' has no when\('missing'"):
        make(setup).start()


@pytest.mark.testkit(
    enabled=False, reason="checks an FSM's definition error, which the tester reports as a bug"
)
def test_goto_a_state_without_when_stops_with_failure(probe: TestProbe) -> None:
    def setup(fsm: Any) -> None:
        fsm.start_with("a", None)
        fsm.when("a", lambda ev: fsm.goto("nowhere"))
        fsm.on_termination(probe.ref.tell)
        fsm.initialize()

    ref = make(setup).start()
    with pytest.raises(FSMError, match=r"goto\('nowhere'\), but 'nowhere' has no when"):
        ref.ask("go", timeout=3)
    stop = probe.expect_msg_type(StopEvent)
    assert isinstance(stop.reason.cause, FSMError)  # type: ignore[attr-defined]


@pytest.mark.testkit(
    enabled=False, reason="checks an FSM's definition error, which the tester reports as a bug"
)
@pytest.mark.parametrize("where", ["start_with", "when", "goto"])
def test_non_hashable_state(where: str) -> None:
    def setup(fsm: Any) -> None:
        if where == "start_with":
            fsm.start_with(["a"], None)
        fsm.start_with("a", None)
        if where == "when":
            fsm.when(["a"], lambda ev: fsm.stay())
        fsm.when("a", lambda ev: fsm.goto({"a": 1}))
        fsm.initialize()

    if where == "goto":
        ref = make(setup).start()
        with pytest.raises(FSMError, match=r"goto: state \{'a': 1\} is not hashable"):
            ref.ask("go", timeout=3)
    else:
        with pytest.raises(FSMError, match=rf"{where}: state \['a'\] is not hashable"):
            make(setup).start()


@pytest.mark.testkit(
    enabled=False, reason="checks an FSM's definition error, which the tester reports as a bug"
)
def test_handler_returning_something_else() -> None:
    def setup(fsm: Any) -> None:
        fsm.start_with("a", None)
        fsm.when("a", lambda ev: "b")
        fsm.initialize()

    ref = make(setup).start()
    with pytest.raises(FSMError, match=r"in state 'a' returned 'b'; a handler must return goto"):
        ref.ask("go", timeout=3)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda fsm: fsm.when("b", lambda ev: None, state_timeout=-1), "must not be negative"),
        (lambda fsm: fsm.start_with("a", None, timeout=-0.5), "must not be negative"),
        (lambda fsm: fsm.set_state_timeout("a", -2), "must not be negative"),
        (lambda fsm: fsm.set_timer("t", "x", -1), "must not be negative"),
        (lambda fsm: fsm.set_timer("t", "x", None), "must be finite"),
        (lambda fsm: fsm.set_timer("t", "x", 0, repeat=True), "must be > 0"),
        (lambda fsm: fsm.stay().for_max(-1), "must not be negative"),
        (lambda fsm: fsm.stay().for_max("soon"), "number of seconds or a datetime.timedelta"),
        (lambda fsm: fsm.stop("because"), "reason must be Normal, Shutdown or Failure"),
        (lambda fsm: fsm.when("a", "not callable"), "handler must be callable"),
        (lambda fsm: fsm.random_int(0), "needs an integer n >= 1"),
    ],
)
def test_bad_arguments(call: Any, message: str) -> None:
    def setup(fsm: Any) -> None:
        fsm.start_with("a", None)
        fsm.when("a", lambda ev: fsm.stay())
        call(fsm)

    with pytest.raises(FSMError, match=message):
        make(setup).start()


def test_start_with_after_initialize() -> None:
    def setup(fsm: Any) -> None:
        fsm.start_with("a", None)
        fsm.when("a", lambda ev: fsm.stay())
        fsm.initialize()
        fsm.start_with("a", None)

    with pytest.raises(FSMError, match=r"start_with\(\) was called after initialize\(\)"):
        make(setup).start()


@pytest.mark.testkit(
    enabled=False, reason="checks an FSM's definition error, which the tester reports as a bug"
)
def test_next_state_data_outside_a_transition() -> None:
    def setup(fsm: Any) -> None:
        fsm.start_with("a", None)
        fsm.when("a", lambda ev: fsm.stay().using(fsm.next_state_data))
        fsm.initialize()

    with pytest.raises(FSMError, match="only available inside an on_transition handler"):
        make(setup).start().ask("x", timeout=3)


def test_test_fsm_ref_needs_an_fsm() -> None:
    with pytest.raises(FSMError, match="TestFSMRef needs an FSM subclass"):
        TestFSMRef(pykka.ThreadingActor)  # type: ignore[type-var]


class _Greeter:
    """A mixin of the user's own, beside FSM."""

    def greet(self) -> str:
        return "hello"


def test_actor_class_before_fsm_is_an_error_at_class_definition() -> None:
    with pytest.raises(FSMError, match=r"FSM must come before ThreadingActor.*class Wrong\(FSM, "):

        class Wrong(pykka.ThreadingActor, FSM):  # type: ignore[misc]
            pass


def test_actor_class_before_logging_fsm_names_logging_fsm() -> None:
    with pytest.raises(FSMError, match=r"LoggingFSM must come before ThreadingActor"):

        class Wrong(pykka.ThreadingActor, LoggingFSM):  # type: ignore[misc]
            pass


def test_actor_class_before_fsm_is_an_error_under_the_tester_too() -> None:
    with testkit.deterministic(seed=1), pytest.raises(FSMError, match="must come before"):

        class Wrong(_Greeter, pykka.ThreadingActor, FSM):  # type: ignore[misc]
            pass


def test_fsm_first_with_other_mixins_and_subclasses_is_accepted(probe: TestProbe) -> None:
    class Base(FSM, _Greeter, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("a", None)
            self.when("a", self.answer)
            self.initialize()

        def answer(self, event: Event) -> State:
            return self.stay().replying(self.greet())

    class Polite:
        def greet(self) -> str:
            return "good morning"

    class Sub(Polite, Base):
        pass

    class Logged(LoggingFSM, _Greeter, pykka.ThreadingActor):
        pass

    ref = Sub.start()
    try:
        assert ref.ask("hi", timeout=5) == "good morning"
    finally:
        ref.stop()
    assert issubclass(Logged, FSM)
