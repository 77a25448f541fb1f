"""`testkit.FSMTestKit`: one FSM run synchronously (Akka's BehaviorTestKit): effects, timers,
started actors as probes, asks answered by the test, stopping, and bad input."""

from __future__ import annotations

import random
import threading
from typing import Any

import pykka
import pytest

import fsm
from fsm import FSM, Event, FSMError, Normal, Shutdown, State, StateTimeout, StopEvent
from testkit import Effects, FSMTestKit, TestkitError, TestProbe, Timer, UnansweredAsk
from tests.probe_actors import Plain, Worker


class Alarm:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Alarm)

    def __hash__(self) -> int:
        return 0


class Door(FSM, pykka.ThreadingActor):
    def __init__(self, audit: pykka.ActorRef[Any], db: pykka.ActorRef[Any] | None = None) -> None:
        super().__init__()
        self.audit = audit
        self.db = db
        self.stops: list[StopEvent] = []
        self.start_with("closed", 0)
        self.when("closed", self.closed)
        self.when("open", self.opened, state_timeout=5.0)
        self.when("locked", self.locked)
        self.on_termination(self.stops.append)
        self.initialize()

    def on_start(self) -> None:
        self.audit.tell("started")

    def closed(self, event: Event) -> State | None:
        match event.message:
            case "open":
                self.audit.tell(("opened", event.data + 1))
                return self.goto("open").using(event.data + 1)
            case "lock":
                self.start_single_timer("alarm", Alarm(), 30.0)
                return self.goto("locked")
            case ("lookup", key):
                assert self.db is not None
                return self.stay().replying(self.db.ask(key))
            case ("lookup-later", key):
                assert self.db is not None
                self.pending = self.db.ask(key, block=False)
                return self.stay()
            case "collect":
                return self.stay().replying(self.pending.get())
            case "spawn":
                worker = Worker.start()
                worker.tell("job")
                return self.stay().replying(worker.ask(("reply", "ready")))
            case "spawn-plain":
                plain = Plain.start()
                plain.tell("hi")
                return self.stay()
            case "stop-child":
                self.child_ref = Worker.start()
                self.child_ref.stop()
                return self.stay()
            case "twice":
                self.actor_ref.tell("open")
                return self.stay()
            case "roll":
                return self.stay().using(self.random_int(6))
            case "stop":
                return self.stop()
            case "boom":
                raise ValueError("boom")
        return None

    def opened(self, event: Event) -> State | None:
        match event.message:
            case StateTimeout() | "close":
                return self.goto("closed")
        return None

    def locked(self, event: Event) -> State | None:
        match event.message:
            case Alarm():
                self.audit.tell("alarm!")
                return self.stay()
            case "beat":
                self.start_timer_at_fixed_rate("beat", "tick", 1.0)
                return self.stay()
            case "tick":
                self.audit.tell("tick")
                return self.stay()
            case "unlock":
                self.cancel_timer("alarm")
                return self.goto("closed")
        return None


@pytest.fixture
def audit() -> TestProbe:
    return TestProbe("audit")


def test_run_returns_the_transition_and_what_was_told(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    assert kit.initial_effects.told_to(audit) == ["started"]  # on_start ran, synchronously
    effects = kit.run("open")
    assert effects.transition == ("closed", "open")
    assert effects.told == ((audit.ref, ("opened", 1)),)
    assert effects.told_to(audit.ref) == [("opened", 1)]
    assert (kit.state_name, kit.state_data) == ("open", 1)
    audit.expect_msg("started")  # the messages are in the probe too, no waiting needed
    assert audit.expect_msg(("opened", 1)) == ("opened", 1)
    assert audit.last_sender is kit.ref
    assert kit.run("ignored").transition is None
    assert not any(t.name for t in threading.enumerate() if t.name.startswith("Door"))


def test_ask_returns_the_reply_and_random_choices_come_from_kit_random(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    assert kit.run("roll", ask=True).reply is None
    assert kit.ask("roll") is None
    rolls = random.Random(0)
    assert kit.state_data == [rolls.randrange(6) for _ in range(2)][-1]  # kit.random
    kit.random.seed(7)
    rolls.seed(7)
    for _ in range(3):
        kit.run("roll")
        assert kit.state_data == rolls.randrange(6)


def test_state_timeout_is_shown_and_fired_by_the_test(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    assert kit.state_timeout is None
    kit.run("open")
    assert kit.state_timeout == 5.0
    effects = kit.fire_state_timeout()
    assert effects.message == StateTimeout()
    assert effects.transition == ("open", "closed")
    assert kit.state_timeout is None


def test_named_timers_are_recorded_and_fired(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    effects = kit.run("lock")
    assert effects.timers_set == (Timer("alarm", Alarm(), 30.0, "single-shot"),)
    assert kit.timers == {"alarm": Timer("alarm", Alarm(), 30.0, "single-shot")}
    fired = kit.fire_timer("alarm")
    assert fired.message == Alarm()
    assert fired.told_to(audit) == ["alarm!"]
    assert fired.timers_cancelled == ()  # fired, not cancelled
    assert kit.timers == {}
    kit.run("beat")
    assert kit.timers["beat"].mode == "fixed-rate"
    assert kit.fire_timer("beat").told_to(audit) == ["tick"]
    assert kit.fire_timer("beat").told_to(audit) == ["tick"]  # a repeating timer stays set


def test_cancelled_timers_are_effects(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    kit.run("lock")
    effects = kit.run("unlock")
    assert effects.timers_cancelled == ("alarm",)
    assert effects.transition == ("locked", "closed")
    assert kit.timers == {}


def test_fire_timer_of_a_timer_that_is_not_set_is_a_clear_error(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    with pytest.raises(AssertionError, match=r"fire_timer\('alarm'\), but no timer 'alarm'"):
        kit.fire_timer("alarm")
    kit.run("lock")
    kit.fire_timer("alarm")
    with pytest.raises(AssertionError, match="a single-shot timer is gone once fired"):
        kit.fire_timer("alarm")


def test_fire_state_timeout_without_one_armed_is_a_clear_error(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    with pytest.raises(AssertionError, match="no state timeout is armed in state 'closed'"):
        kit.fire_state_timeout()


def test_an_ask_to_a_probe_is_answered_by_the_scripted_reply(audit: TestProbe) -> None:
    db = TestProbe("db")
    kit = FSMTestKit(Door, audit.ref, db.ref)
    kit.on_ask(db, lambda key: f"value of {key}")
    effects = kit.run(("lookup", "k"), ask=True)
    assert effects.reply == "value of k"
    assert effects.told_to(db) == ["k"]
    assert db.expect_msg("k") == "k"  # it reached the probe as well


def test_a_scripted_reply_that_raises_fails_the_ask(audit: TestProbe) -> None:
    db = TestProbe("db")
    kit = FSMTestKit(Door, audit.ref, db.ref)

    def fail(key: Any) -> Any:
        raise KeyError(key)

    kit.on_ask(db.ref, fail)
    with pytest.raises(KeyError):
        kit.run(("lookup", "k"))
    assert not kit.is_alive
    assert isinstance(kit.actor.stops[-1].reason, fsm.Failure)


def test_waiting_on_an_unanswered_ask_is_a_clear_error_not_a_hang(audit: TestProbe) -> None:
    db = TestProbe("db")
    kit = FSMTestKit(Door, audit.ref, db.ref)
    with pytest.raises(UnansweredAsk, match=r"asked TestProbe\('db'\) 'k' and waits") as error:
        kit.run(("lookup", "k"))
    assert "kit.on_ask(" in str(error.value)


def test_a_non_blocking_ask_is_answered_later_by_the_test(audit: TestProbe) -> None:
    db = TestProbe("db")
    kit = FSMTestKit(Door, audit.ref, db.ref)
    kit.run(("lookup-later", "k"))
    db.expect_msg("k")
    db.reply("later")
    assert kit.ask("collect") == "later"


def test_started_actors_are_stubs_whose_messages_land_in_probes(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    with pytest.raises(UnansweredAsk, match=r"asked TestProbe\('child Worker#1'\)"):
        kit.run("spawn")  # it asks the child it just started: nobody scripted the reply
    kit = FSMTestKit(Door, audit.ref)
    kit.on_ask(Worker, lambda message: "ready!")  # any Worker it starts
    effects = kit.run("spawn", ask=True)
    assert effects.reply == "ready!"
    (worker,) = effects.spawned
    assert effects.told_to(worker) == ["job", ("reply", "ready")]
    kit.child(Worker).expect_msg("job")
    assert not any(t.name.startswith("Worker") for t in threading.enumerate())


def test_plain_pykka_actors_it_starts_are_stubs_too(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    kit.run("spawn-plain")
    kit.child(Plain).expect_msg("hi")
    assert kit.children[0].actor_class is Plain
    assert not any(t.name.startswith("Plain") for t in threading.enumerate())


def test_stopping_a_started_actor_stops_its_stub_and_child_finds_it(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    kit.run("stop-child")
    child = kit.children[0]
    assert not child.is_alive()  # ref.stop() of a stub stops it
    assert kit.child(child) is kit.child(Worker) is kit.child(0) is kit.child()
    with pytest.raises(AssertionError, match="the FSM started no actor"):
        kit.child(Plain)


def test_spawned_children_are_effects_and_their_asks_can_be_scripted(audit: TestProbe) -> None:
    class Spawner(FSM, pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.start_with("s", None)
            self.when("s", self.s)
            self.initialize()

        def s(self, event: Event) -> State | None:
            match event.message:
                case "spawn":
                    return self.stay().using(Worker.start())
                case "use":
                    return self.stay().replying(event.data.ask(("reply", 1)))
            return None

    kit = FSMTestKit(Spawner)
    effects = kit.run("spawn")
    assert effects.spawned == (kit.state_data,)
    child = kit.child(kit.state_data)
    assert child.name.startswith("child Worker#")
    kit.on_ask(kit.state_data, lambda message: ("child says", message))
    assert kit.ask("use") == ("child says", ("reply", 1))
    child.expect_msg(("reply", 1))
    assert pykka.ActorRegistry.get_by_class(Worker) == []  # nothing runs it


def test_self_tells_wait_in_pending_until_run_one(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    effects = kit.run("twice")
    assert effects.told_to(kit.ref) == ["open"]
    assert kit.pending == ["open"]
    assert kit.run_one().transition == ("closed", "open")
    assert kit.pending == []
    with pytest.raises(AssertionError, match="no message is pending"):
        kit.run_one()


def test_stop_and_self_stop_are_effects_and_the_fsm_handles_no_more(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    assert kit.run("stop").stopped is Normal
    assert not kit.is_alive
    assert kit.actor.stops == [StopEvent(Normal, "closed", 0)]
    with pytest.raises(TestkitError, match=r"the FSM has stopped \(Normal\)"):
        kit.run("open")
    other = FSMTestKit(Door, audit.ref)
    assert other.stop().stopped is Shutdown


def test_messages_pending_at_a_stop_are_dead_letters(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    kit.ref.tell("left behind")
    effects = kit.run("stop")
    assert [letter.message for letter in effects.dead_letters] == ["left behind"]
    with pytest.raises(pykka.ActorDeadError):
        kit.ref.tell("late")


def test_a_handler_exception_is_raised_by_run_and_the_fsm_stopped(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    with pytest.raises(ValueError, match="boom"):
        kit.run("boom")
    assert not kit.is_alive
    assert isinstance(kit.last_effects, Effects)
    assert isinstance(kit.last_effects.stopped, fsm.Failure)


class NotAnFSM(pykka.ThreadingActor):
    pass


class MixinOnly(FSM):
    pass


@pytest.mark.parametrize(
    ("cls", "text"),
    [
        (NotAnFSM, "FSMTestKit needs an FSM class"),
        (42, "FSMTestKit needs an FSM class"),
        (MixinOnly, "the class must also be a Pykka actor"),
    ],
)
def test_a_class_that_is_not_an_fsm_actor_is_a_clear_error(cls: Any, text: str) -> None:
    with pytest.raises(FSMError, match=text):
        FSMTestKit(cls)


def test_on_ask_needs_a_probe_or_a_started_actor(audit: TestProbe) -> None:
    kit = FSMTestKit(Door, audit.ref)
    with pytest.raises(TypeError, match="on_ask needs a TestProbe"):
        kit.on_ask(kit.ref, lambda m: m)
    with pytest.raises(TypeError, match="on_ask needs a TestProbe"):
        kit.on_ask(int, lambda m: m)
    with pytest.raises(TypeError, match="on_ask needs a function"):
        kit.on_ask(audit, 3)  # type: ignore[arg-type]


def test_the_dispatcher_is_only_installed_while_the_fsm_runs(audit: TestProbe) -> None:
    from fsm import _dispatch

    kit = FSMTestKit(Door, audit.ref)
    kit.run("open")
    assert _dispatch.current() is _dispatch.production()
    assert pykka.ThreadingActor.__dict__["_start_actor_loop"].__qualname__.startswith(
        "ThreadingActor"
    )


class Counter(FSM):
    def __init__(self) -> None:
        super().__init__()
        self.start_with("counting", 0)
        self.when("counting", lambda event: self.stay().using(event.data + 1).replying("ok"))
        self.initialize()


@pytest.mark.parametrize("base", [pykka.ThreadingActor, fsm.PooledActor], ids=["thread", "pool"])
def test_thread_and_pooled_fsms_run_the_same(base: type[pykka.Actor]) -> None:
    from tests.bases import on

    kit = FSMTestKit(on(base, Counter))
    assert kit.ask("a") == "ok"
    kit.run("b")
    assert kit.state_data == 2
