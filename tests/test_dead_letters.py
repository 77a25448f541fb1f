"""Dead letters: tells and asks to stopped FSMs and pooled actors, messages left in a stopped
actor's mailbox, the `fsm.dead_letters` stream, its rate-limited INFO log, and
`probe.expect_dead_letter`, on threads, pooled and under `deterministic()`."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pykka
import pytest
from pykka._envelope import Envelope

import fsm
from fsm import FSM, DeadLetter, DeadLetterStream, Event, State, _dead_letters, _refs, dead_letters
from testkit import TestProbe, deterministic, expect_logs
from tests.bases import on


class Holder(FSM):
    """("wait", event) blocks until the event is set; "stop" stops; ("tell", ref, msg) tells
    `ref` and says whether it was dead; anything else it keeps."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("up", None)
        self.when("up", self.up)
        self.initialize()

    def up(self, event: Event) -> State | None:
        match event.message:
            case ("wait", threading.Event() as ready):
                ready.wait(10)
            case "stop":
                return self.stop()
            case ("tell", ref, msg):
                try:
                    ref.tell(msg)
                except pykka.ActorDeadError:
                    return self.stay().replying("dead")
                return self.stay().replying("told")
        return self.stay()


@pytest.fixture(params=["threading", "pooled"])
def holder(request: pytest.FixtureRequest) -> type[Any]:
    base = pykka.ThreadingActor if request.param == "threading" else fsm.PooledActor
    return on(base, Holder)


@pytest.fixture
def listener() -> Iterator[TestProbe]:
    probe = TestProbe("dead letters")
    dead_letters.subscribe(probe.ref)
    dead_letters.configure_logging()  # a fresh count: earlier tests may have used it up
    yield probe
    dead_letters.unsubscribe(probe.ref)


def stopped(cls: type[Any]) -> pykka.ActorRef[Any]:
    ref: pykka.ActorRef[Any] = cls.start()
    ref.stop()
    return ref


def test_a_tell_to_a_stopped_actor_is_published_and_still_raises(
    holder: type[Any], listener: TestProbe
) -> None:
    ref = stopped(holder)
    with pytest.raises(pykka.ActorDeadError):  # Pykka's behaviour is kept
        ref.tell("late")
    letter = listener.expect_dead_letter("late")
    assert letter == DeadLetter("late", None, ref)
    assert letter.recipient is ref


def test_an_ask_to_a_stopped_actor_is_published_and_its_future_fails(
    holder: type[Any], listener: TestProbe
) -> None:
    ref = stopped(holder)
    future = ref.ask("question", block=False)
    with pytest.raises(pykka.ActorDeadError):
        future.get(timeout=3)
    assert listener.expect_dead_letter().message == "question"


def test_messages_left_in_the_mailbox_at_the_stop_are_dead_letters(
    holder: type[Any], listener: TestProbe
) -> None:
    ready = threading.Event()
    ref = holder.start()
    ref.tell(("wait", ready))
    ref.tell("stop")
    ref.tell("left behind")
    asked = ref.ask("asked too", block=False)
    ready.set()  # all four are queued: the actor stops with two still in its mailbox
    with pytest.raises(pykka.ActorDeadError, match="stopped before handling the message"):
        asked.get(timeout=3)
    assert [listener.expect_dead_letter().message for _ in range(2)] == [
        "left behind",
        "asked too",
    ]
    listener.expect_no_msg()


def test_the_sender_is_the_fsm_whose_handler_told_it(
    holder: type[Any], listener: TestProbe
) -> None:
    dead = stopped(holder)
    teller = holder.start()
    assert teller.ask(("tell", dead, "from an actor")) == "dead"
    assert listener.expect_dead_letter("from an actor") == DeadLetter("from an actor", teller, dead)


def test_a_probe_send_to_a_stopped_actor_names_the_probe(listener: TestProbe) -> None:
    dead = stopped(on(pykka.ThreadingActor, Holder))
    client = TestProbe("client")
    with pytest.raises(pykka.ActorDeadError):
        client.send(dead, "hello")
    assert listener.expect_dead_letter("hello").sender is client.ref


def test_stopping_a_stopped_actor_is_no_dead_letter(holder: type[Any], listener: TestProbe) -> None:
    ref = stopped(holder)
    assert ref.stop() is False  # Pykka's answer
    listener.expect_no_msg()


def test_each_dead_letter_is_logged_once_at_info(listener: TestProbe) -> None:
    ref = stopped(on(pykka.ThreadingActor, Holder))
    with expect_logs("INFO", logger="fsm.dead_letters", message="'late'") as logs:
        ref.ask("late", block=False)
    text = logs.records[0].getMessage()
    assert text.startswith("message 'late' (str) from no known sender to Holder (")
    assert "was not delivered: the actor has stopped. [1] dead letters encountered" in text
    assert logs.records[0].levelname == "INFO"


def test_the_log_is_rate_limited_then_resumes_saying_how_many_were_not_logged() -> None:
    now = [0.0]
    stream = DeadLetterStream(limit=2, suspend=60.0, clock=lambda: now[0])
    recipient = TestProbe().ref
    with expect_logs("INFO", logger="fsm.dead_letters", occurrences=2) as logs:
        for n in range(5):
            stream.publish(DeadLetter(n, None, recipient))
    assert "no more dead letters are logged for 60 s" in logs.records[1].getMessage()
    now[0] = 61.0
    with expect_logs("INFO", logger="fsm.dead_letters", message="(3 not logged while") as logs:
        stream.publish(DeadLetter("again", None, recipient))
    assert "[6] dead letters encountered" in logs.records[0].getMessage()


def test_logging_can_be_turned_off_and_the_stream_still_publishes() -> None:
    stream = DeadLetterStream(limit=0)
    probe = TestProbe()
    stream.subscribe(probe.ref)
    with expect_logs("DEBUG", logger="fsm.dead_letters", occurrences=0):
        stream.publish(DeadLetter("quiet", None, probe.ref))
    assert probe.expect_msg_type(DeadLetter).message == "quiet"


def test_unsubscribed_and_forgotten_probes_are_told_nothing(listener: TestProbe) -> None:
    other = TestProbe("other")
    dead_letters.subscribe(other.ref)
    dead_letters.subscribe(other.ref)  # once, however often
    assert dead_letters.is_subscribed(other.ref)
    dead_letters.unsubscribe(other.ref)
    assert not dead_letters.is_subscribed(other.ref)
    forgotten = TestProbe("forgotten")
    dead_letters.subscribe(forgotten.ref)
    del forgotten
    gc.collect()
    with pytest.raises(pykka.ActorDeadError):
        stopped(on(pykka.ThreadingActor, Holder)).tell("x")
    listener.expect_dead_letter("x")
    other.expect_no_msg()
    assert len(dead_letters._subscribers) == 1


def test_a_stopped_subscriber_is_dropped_without_a_dead_letter_of_its_own(
    listener: TestProbe,
) -> None:
    subscriber = stopped(on(pykka.ThreadingActor, Holder))
    dead_letters.subscribe(subscriber)
    with pytest.raises(pykka.ActorDeadError):
        stopped(on(pykka.ThreadingActor, Holder)).tell("x")
    assert not dead_letters.is_subscribed(subscriber)
    listener.expect_dead_letter("x")
    listener.expect_no_msg()  # no DeadLetter(DeadLetter(...)) about the subscriber


def test_under_the_tester_a_tell_to_a_stopped_fsm_is_a_dead_letter() -> None:
    with deterministic(seed=2):
        probe = TestProbe("dead letters")
        dead_letters.subscribe(probe.ref)
        try:
            ref = on(pykka.ThreadingActor, Holder).start()
            ref.tell("stop")
            probe.watch(ref)
            probe.expect_msg_type(object)  # Terminated: the scheduler ran the stop
            with pytest.raises(pykka.ActorDeadError):
                ref.tell("late")
            assert probe.expect_dead_letter("late").recipient is ref
        finally:
            dead_letters.unsubscribe(probe.ref)


def test_expect_dead_letter_needs_a_subscribed_probe() -> None:
    probe = TestProbe("unsubscribed")
    with pytest.raises(AssertionError, match=r"fsm.dead_letters.subscribe\(probe.ref\)"):
        probe.expect_dead_letter()


def test_expect_dead_letter_fails_on_another_message_listing_it(listener: TestProbe) -> None:
    listener.ref.tell("not a dead letter")
    with pytest.raises(AssertionError) as failure:
        listener.expect_dead_letter("late")
    assert "expected a dead letter of 'late', got 'not a dead letter'" in str(failure.value)
    assert "received during this expectation (1)" in str(failure.value)


@pytest.mark.parametrize("bad", [object(), None, "ref"])
def test_subscribe_needs_an_actor_ref(bad: Any) -> None:
    with pytest.raises(TypeError, match=r"dead_letters.subscribe needs a pykka.ActorRef"):
        dead_letters.subscribe(bad)


def test_subscribing_a_probe_instead_of_its_ref_says_so() -> None:
    with pytest.raises(TypeError, match=r"pass probe.ref"):
        dead_letters.subscribe(TestProbe())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"limit": -1}, "limit=...) needs an int >= 0"),
        ({"limit": 1.5}, "limit=...) needs an int >= 0"),
        ({"suspend": float("nan")}, "must be >= 0 seconds"),
        ({"suspend": "5m"}, "needs seconds"),
    ],
)
def test_configure_logging_rejects_bad_values(kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(ValueError, match=text.replace("(", r"\(").replace(")", r"\)")):
        DeadLetterStream().configure_logging(**kwargs)


def test_an_ask_of_a_suppressed_message_left_in_a_stopped_mailbox_still_fails() -> None:
    # Suppressed means "not a dead letter", never "the asker waits forever".
    class Quiet:
        pass

    _dead_letters.suppress(Quiet)
    ref = on(pykka.ThreadingActor, Holder).start()
    ref.stop()
    future = pykka.ThreadingFuture[Any]()
    _refs.refuse(Envelope(Quiet(), reply_to=future), ref)
    with pytest.raises(pykka.ActorDeadError, match="stopped before handling the message"):
        future.get(timeout=5)
