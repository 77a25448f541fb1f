"""FSMTransitionSpec: on_transition handlers and transition subscribers."""

from __future__ import annotations

from typing import Any

import pykka

from fsm import (
    FSM,
    CurrentState,
    Event,
    State,
    SubscribeTransitionCallBack,
    Transition,
    UnsubscribeTransitionCallBack,
)
from testkit import TestFSMRef, TestProbe
from tests.bases import on


class Switch(FSM):
    """Goes 0 -> 1 -> 0 on "tick"; "same" is goto(current); "stay" is stay()."""

    def __init__(self, target: pykka.ActorRef[Any] | None = None) -> None:
        super().__init__()
        self.target = target
        self.start_with(0, 0)
        self.when(0, self.handle)
        self.when(1, self.handle)
        self.on_transition(self.report)
        self.initialize()

    def handle(self, event: Event) -> State | None:
        match event.message:
            case "tick":
                return self.goto(1 - self.state_name).using(event.data + 1)
            case "same":
                return self.goto(self.state_name).using(event.data + 1)
            case "stay":
                return self.stay().using(event.data + 1)
        return None

    def report(self, from_state: Any, to_state: Any) -> None:
        if self.target is not None:
            self.target.tell(("transition", from_state, to_state))


def test_notify_listeners(actor_base: type[pykka.Actor], probe: TestProbe) -> None:
    fsm = on(actor_base, Switch).start()
    fsm.tell(SubscribeTransitionCallBack(probe.ref))
    probe.expect_msg(CurrentState(fsm, 0))
    fsm.tell("tick")
    probe.expect_msg(Transition(fsm, 0, 1))
    fsm.tell("tick")
    probe.expect_msg(Transition(fsm, 1, 0))


def test_not_fail_when_listener_goes_away(actor_base: type[pykka.Actor], probe: TestProbe) -> None:
    forward = TestProbe("forward")
    fsm = on(actor_base, Switch).start()
    fsm.tell(SubscribeTransitionCallBack(forward.ref))
    fsm.tell(SubscribeTransitionCallBack(probe.ref))
    forward.expect_msg(CurrentState(fsm, 0))
    probe.expect_msg(CurrentState(fsm, 0))
    forward._actor.actor_stopped.set()  # the first subscriber dies without unsubscribing
    fsm.tell("tick")
    probe.expect_msg(Transition(fsm, 0, 1))
    fsm.tell("tick")
    probe.expect_msg(Transition(fsm, 1, 0))
    assert fsm.is_alive()
    forward.expect_no_msg(0.1)


def test_unsubscribe(actor_base: type[pykka.Actor], probe: TestProbe) -> None:
    fsm = on(actor_base, Switch).start()
    fsm.tell(SubscribeTransitionCallBack(probe.ref))
    probe.expect_msg(CurrentState(fsm, 0))
    fsm.tell(UnsubscribeTransitionCallBack(probe.ref))
    fsm.tell("tick")
    probe.expect_no_msg(0.2)


def test_subscribing_a_stopped_listener_warns_and_is_ignored(
    actor_base: type[pykka.Actor], probe: TestProbe
) -> None:
    dead = TestProbe("dead")
    dead._actor.actor_stopped.set()
    fsm = on(actor_base, Switch).start()
    fsm.tell(SubscribeTransitionCallBack(dead.ref))
    fsm.tell(SubscribeTransitionCallBack(probe.ref))
    probe.expect_msg(CurrentState(fsm, 0))
    fsm.tell("tick")
    probe.expect_msg(Transition(fsm, 0, 1))


def test_trigger_transition_event_when_goto_the_same_state(
    actor_base: type[pykka.Actor], probe: TestProbe
) -> None:
    fsm = on(actor_base, Switch).start(probe.ref)
    fsm.tell(SubscribeTransitionCallBack(probe.ref))
    probe.expect_msg(CurrentState(fsm, 0))
    fsm.tell("same")
    probe.expect_msg_all_of(("transition", 0, 0), Transition(fsm, 0, 0))


def test_not_trigger_transition_event_on_stay(
    actor_base: type[pykka.Actor], probe: TestProbe
) -> None:
    fsm = on(actor_base, Switch).start(probe.ref)
    fsm.tell(SubscribeTransitionCallBack(probe.ref))
    probe.expect_msg(CurrentState(fsm, 0))
    fsm.tell("stay")
    probe.expect_no_msg(0.2)


def test_on_transition_handlers_stack_in_declaration_order(
    actor_base: type[pykka.Actor], probe: TestProbe
) -> None:
    class Stacked(Switch, actor_base):
        def __init__(self) -> None:
            super().__init__(probe.ref)
            self.on_transition(lambda a, b: probe.ref.tell(("second", a, b)))

    fsm = Stacked.start()
    fsm.tell("tick")
    assert probe.receive_n(2) == [("transition", 0, 1), ("second", 0, 1)]


def test_make_previous_and_next_state_data_available_in_on_transition(
    actor_base: type[pykka.Actor], probe: TestProbe
) -> None:
    class DataSeer(FSM, actor_base):
        def __init__(self) -> None:
            super().__init__()
            self.start_with(0, "old")
            self.when(0, lambda ev: self.goto(1).using("new"))
            self.when(1, lambda ev: self.stay())
            self.on_transition(self.seen)
            self.initialize()

        def seen(self, a: Any, b: Any) -> None:
            probe.ref.tell((a, b, self.state_data, self.next_state_data))

    fsm = DataSeer.start()
    fsm.tell("go")
    probe.expect_msg((0, 1, "old", "new"))


def test_transition_handler_runs_before_the_reply(
    actor_base: type[pykka.Actor], probe: TestProbe
) -> None:
    class Replier(FSM, actor_base):
        def __init__(self) -> None:
            super().__init__()
            self.start_with(0, None)
            self.when(0, lambda ev: self.goto(1).replying("done"))
            self.when(1, lambda ev: self.stay())
            self.on_transition(lambda a, b: probe.ref.tell(("transition", a, b)))
            self.initialize()

    fsm = Replier.start()
    probe.send(fsm, "go")
    assert probe.receive_n(2) == [("transition", 0, 1), "done"]


def test_initialize_does_not_count_as_a_transition(
    actor_base: type[pykka.Actor], probe: TestProbe
) -> None:
    fsm = TestFSMRef(on(actor_base, Switch), probe.ref)
    assert fsm.state_name == 0
    probe.expect_no_msg(0.1)
