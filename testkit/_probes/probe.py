"""`TestProbe`: an actor reference a test can read from, with Akka TestKit's expectations."""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

import pykka
from pykka._envelope import Envelope

from fsm import _deathwatch, _dispatch
from fsm._dead_letters import DeadLetter, dead_letters
from fsm._refs import DeadLetterRef
from testkit._errors import QuiescentWait
from testkit._probes.envelope import ProbeInbox, SentEnvelope
from testkit._probes.messages import Terminated

DEFAULT_TIMEOUT = 3.0
DEFAULT_NO_MSG_TIMEOUT = 0.1
T = TypeVar("T")
A = TypeVar("A", bound=pykka.Actor)
P = ParamSpec("P")
MAX_LISTED = 20
"""Messages a failing expectation lists at most (the first ones; the rest are counted)."""


def _expectation(
    method: Callable[Concatenate[TestProbe, P], T],
) -> Callable[Concatenate[TestProbe, P], T]:
    """An `expect_*` method: its failure lists every message it received (Akka PR #24537)."""

    @functools.wraps(method)
    def expect(probe: TestProbe, /, *args: P.args, **kwargs: P.kwargs) -> T:
        if probe._received is not None:  # called by another expectation: that one lists
            return method(probe, *args, **kwargs)
        received: list[Any] = []
        probe._received = received
        try:
            return method(probe, *args, **kwargs)
        except AssertionError as error:
            if error.args and isinstance(error.args[0], str):
                error.args = (f"{error.args[0]}; {_listing(received)}", *error.args[1:])
            raise
        finally:
            probe._received = None

    return expect


def _listing(received: list[Any]) -> str:
    if not received:
        return "no message was received during this expectation"
    shown = ", ".join(repr(message) for message in received[:MAX_LISTED])
    more = len(received) - MAX_LISTED
    tail = f", ... and {more} more" if more > 0 else ""
    return f"received during this expectation ({len(received)}): [{shown}{tail}]"


class _ProbeActor(pykka.Actor):
    """A mailbox with an ActorRef and no loop: the probe itself reads the inbox."""

    probe: TestProbe | None = None

    @staticmethod
    def _create_actor_inbox() -> ProbeInbox:
        return ProbeInbox()

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return _dispatch.current().create_future()

    def _start_actor_loop(self) -> None:  # the probe reads its inbox itself
        pass


class _Watch:
    """One `probe.watch(ref)`: its callback tells the probe `Terminated(ref)` unless unwatched."""

    def __init__(self, probe: TestProbe, ref: pykka.ActorRef[Any]) -> None:
        self.probe = probe
        self.ref = ref
        self.active = True
        self.envelope: SentEnvelope | None = None

    def __call__(self) -> None:
        with self.probe._lock:
            if not self.active:
                return
            self.envelope = SentEnvelope(Terminated(self.ref), sender=self.ref)
        self.probe._inbox.put(self.envelope)


class TestProbe:
    """A stand-in actor for tests: FSMs `tell` its `ref`, the test asserts what arrived.

    Works with Pykka threads (waiting blocks) and under the deterministic runtime
    (waiting runs the scheduler and never sleeps). `name` appears in every failure.

        probe = TestProbe("client")
        probe.send(server, Request(1))       # the reply lands in the probe
        probe.expect_msg(Response(1))
        probe.watch(server); server.stop(); probe.expect_terminated(server)
    """

    __test__ = False  # not a pytest test class

    def __init__(self, name: str = "probe") -> None:
        if not isinstance(name, str):
            raise TypeError(f"TestProbe(name=...) needs a string, got {name!r}")
        self.name = name
        self._actor = _ProbeActor()
        self._actor.probe = self
        self.ref: pykka.ActorRef[Any] = self._actor.actor_ref
        self._inbox: ProbeInbox = self._actor.actor_inbox  # type: ignore[assignment]
        self._inbox.id = repr(self)
        self._inbox.owner_ref = self.ref
        self._last: Envelope[Any] | None = None
        self._deadlines: list[float] = []
        self._stash: deque[Envelope[Any]] = deque()  # given back by receive_while
        self._ignore: Callable[[Any], bool] | None = None
        self._lock = threading.Lock()
        self._watches: dict[str, _Watch] = {}  # by actor_urn; kept after Terminated came
        self._retracted: set[int] = set()  # ids of Terminated envelopes of unwatched actors
        self._received: list[Any] | None = None  # during an expectation: what it took

    def __repr__(self) -> str:
        return f"TestProbe({self.name!r})"

    # ---- receiving -----------------------------------------------------------------------

    def _timeout(self, timeout: float | None, default: float = DEFAULT_TIMEOUT) -> float:
        if timeout is not None:
            if timeout < 0:
                raise AssertionError(f"{self!r}: timeout must not be negative, got {timeout!r}")
            return float(timeout)
        if self._deadlines:
            return max(0.0, self._deadlines[-1] - time.monotonic())
        return default

    def _take(self) -> Envelope[Any] | None:
        """The next envelope already here that no filter drops, or None."""
        while True:
            if self._stash:
                return self._stash.popleft()
            try:
                envelope = self._inbox.get_nowait()
            except queue.Empty:
                return None
            if self._dropped(envelope):
                continue
            return envelope

    def _dropped(self, envelope: Envelope[Any]) -> bool:
        if id(envelope) in self._retracted:
            self._retracted.discard(id(envelope))
            return True
        ignore = self._ignore
        return ignore is not None and bool(ignore(envelope.message))

    def _poll(self, timeout: float, keep: bool = True) -> Envelope[Any] | None:
        """The next envelope within `timeout`, or None; `keep` makes it the last message."""
        dispatcher = _dispatch.current()
        if dispatcher.deterministic:
            while True:
                envelope = self._take()
                if envelope is not None:
                    break
                if not dispatcher.run_until(lambda: bool(self._stash) or not self._inbox.empty()):
                    return None
        else:
            deadline = time.monotonic() + timeout
            while True:
                envelope = self._take()
                if envelope is not None:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                try:
                    envelope = self._inbox.get(timeout=left)
                except queue.Empty:
                    return None
                if not self._dropped(envelope):
                    break
        if keep:
            self._last = envelope
        if self._received is not None:
            self._received.append(envelope.message)
        return envelope

    def _receive(self, timeout: float, what: str) -> Any:
        envelope = self._poll(timeout)
        if envelope is None:
            waited = (
                "until the system was quiescent"
                if _dispatch.current().deterministic
                else (f"for {timeout:g}s")
            )
            raise self._nothing_came(f"{self!r}: waited {waited} {what}, but no message came")
        return envelope.message

    @staticmethod
    def _nothing_came(text: str) -> AssertionError:
        """Under the tester, waiting at quiescence means the test can never go on: deadlock."""
        if _dispatch.current().deterministic:
            return QuiescentWait(f"{text} (deadlock: no actor can run any more)")
        return AssertionError(text)

    def receive_one(self, timeout: float | None = None) -> Any | None:
        """The next message, or None if none came within the timeout."""
        envelope = self._poll(self._timeout(timeout))
        return None if envelope is None else envelope.message

    @_expectation
    def expect_msg(self, obj: Any, timeout: float | None = None) -> Any:
        """Assert the next message equals `obj`; return it."""
        got = self._receive(self._timeout(timeout), f"for {obj!r}")
        if got != obj:
            raise AssertionError(f"{self!r}: expected {obj!r}, got {got!r}")
        return got

    @_expectation
    def expect_msg_type(self, cls: type | tuple[type, ...], timeout: float | None = None) -> Any:
        """Assert the next message is an instance of `cls`; return it."""
        got = self._receive(self._timeout(timeout), f"for a message of type {cls!r}")
        if not isinstance(got, cls):
            raise AssertionError(
                f"{self!r}: expected a message of type {cls!r}, got {got!r} ({type(got).__name__})"
            )
        return got

    @_expectation
    def expect_msg_any_of(self, *objs: Any, timeout: float | None = None) -> Any:
        """Assert the next message equals one of `objs`; return it."""
        got = self._receive(self._timeout(timeout), f"for any of {objs!r}")
        if got not in objs:
            raise AssertionError(f"{self!r}: expected any of {objs!r}, got {got!r}")
        return got

    @_expectation
    def expect_msg_pf(self, fn: Callable[[Any], T | None], timeout: float | None = None) -> T:
        """Assert `fn(next message)` matches and return what it returns (Akka's expectMsgPF):
        returning None, or raising, means "no match", and then the expectation fails; the
        first message must match (use `fish_for_message` to skip messages).

            def done(msg):
                match msg:
                    case Done(result) if result > 0:
                        return result
            assert probe.expect_msg_pf(done) == 42
        """
        _check_callable(self, "expect_msg_pf", fn)
        name = getattr(fn, "__qualname__", None) or repr(fn)
        got = self._receive(self._timeout(timeout), f"for a message matching {name}")
        try:
            value = fn(got)
        except Exception as exc:
            raise AssertionError(
                f"{self!r}: expected a message matching {name}, got {got!r}, for which it "
                f"raised {exc!r}"
            ) from exc
        if value is None:
            raise AssertionError(
                f"{self!r}: expected a message matching {name}, got {got!r}, for which it "
                "returned None (no match)"
            )
        return value

    @_expectation
    def expect_msg_all_of(self, *objs: Any, timeout: float | None = None) -> list[Any]:
        """Assert the next len(objs) messages are `objs` in any order; return them."""
        deadline = time.monotonic() + self._timeout(timeout)
        got = [
            self._receive(max(0.0, deadline - time.monotonic()), f"for all of {objs!r}")
            for _ in objs
        ]
        missing = list(objs)
        unexpected = []
        for message in got:
            if message in missing:
                missing.remove(message)
            else:
                unexpected.append(message)
        if missing or unexpected:
            raise AssertionError(
                f"{self!r}: expected all of {objs!r}, got {got!r} "
                f"(missing {missing!r}, unexpected {unexpected!r})"
            )
        return got

    @_expectation
    def expect_no_msg(self, timeout: float | None = None) -> None:
        """Assert that no message comes within `timeout` (deterministic: before quiescence)."""
        envelope = self._poll(self._timeout(timeout, DEFAULT_NO_MSG_TIMEOUT))
        if envelope is not None:
            raise AssertionError(f"{self!r}: expected no message, got {envelope.message!r}")

    @_expectation
    def receive_n(self, n: int, timeout: float | None = None) -> list[Any]:
        """Receive exactly `n` messages within the timeout and return them in order."""
        deadline = time.monotonic() + self._timeout(timeout)
        received: list[Any] = []
        for _ in range(n):
            envelope = self._poll(max(0.0, deadline - time.monotonic()))
            if envelope is None:
                raise self._nothing_came(
                    f"{self!r}: expected {n} messages, got only {len(received)}: {received!r}"
                )
            received.append(envelope.message)
        return received

    @_expectation
    def fish_for_message(
        self, predicate: Callable[[Any], bool], timeout: float | None = None
    ) -> Any:
        """Skip messages until `predicate(message)` is true; return that message."""
        deadline = time.monotonic() + self._timeout(timeout)
        skipped: list[Any] = []
        while True:
            envelope = self._poll(max(0.0, deadline - time.monotonic()))
            if envelope is None:
                raise self._nothing_came(
                    f"{self!r}: fish_for_message found no matching message; skipped {skipped!r}"
                )
            if predicate(envelope.message):
                return envelope.message
            skipped.append(envelope.message)

    def receive_while(
        self,
        pred: Callable[[Any], bool],
        max: float | None = None,
        idle: float | None = None,
        messages: int | None = None,
    ) -> list[Any]:
        """Messages while `pred(message)` holds: stops at the first that does not (it stays for
        the next expectation), after `messages` of them, when `max` (total) or `idle` (between
        two) runs out, or, under the tester, when the system is quiescent. Never fails.

            ticks = probe.receive_while(lambda m: isinstance(m, Tick), messages=10)
        """
        _check_callable(self, "receive_while", pred)
        if messages is not None and (isinstance(messages, bool) or not isinstance(messages, int)):
            raise TypeError(f"{self!r}: receive_while(messages=...) needs an int, got {messages!r}")
        if messages is not None and messages < 0:
            raise ValueError(f"{self!r}: receive_while(messages={messages}) must be >= 0")
        gap = None if idle is None else self._timeout(idle)
        deadline = time.monotonic() + self._timeout(max)
        received: list[Any] = []
        while messages is None or len(received) < messages:
            left = deadline - time.monotonic()
            envelope = self._poll(max_(0.0, left if gap is None else min(left, gap)), keep=False)
            if envelope is None:
                break
            if not pred(envelope.message):
                self._stash.appendleft(envelope)
                break
            self._last = envelope
            received.append(envelope.message)
        return received

    def ignore_msg(self, pred: Callable[[Any], bool]) -> None:
        """Drop every message for which `pred(message)` is true before any expectation sees it
        (replaces an earlier filter). `probe.ignore_msg(lambda m: isinstance(m, Tick))`"""
        _check_callable(self, "ignore_msg", pred)
        self._ignore = pred

    def ignore_no_msg(self) -> None:
        """Stop ignoring messages (undoes `ignore_msg`)."""
        self._ignore = None

    # ---- dead letters ----------------------------------------------------------------------

    @_expectation
    def expect_dead_letter(self, message: Any = None, timeout: float | None = None) -> DeadLetter:
        """Assert the next message is a `fsm.DeadLetter` (of `message`, if given: None means
        any) and return it. Subscribe the probe first, as with Akka's event stream:

            fsm.dead_letters.subscribe(probe.ref)
            ref.stop()
            with pytest.raises(pykka.ActorDeadError):   # Pykka's tell still raises
                ref.tell("late")
            assert probe.expect_dead_letter("late").recipient == ref
        """
        if not dead_letters.is_subscribed(self.ref):
            raise AssertionError(
                f"{self!r}: expect_dead_letter, but the probe is not subscribed to dead "
                "letters; call fsm.dead_letters.subscribe(probe.ref) before the messages are sent"
            )
        what = "a dead letter" if message is None else f"a dead letter of {message!r}"
        got = self._receive(self._timeout(timeout), f"for {what}")
        if not isinstance(got, DeadLetter) or (message is not None and got.message != message):
            raise AssertionError(f"{self!r}: expected {what}, got {got!r}")
        return got

    # ---- death watch ---------------------------------------------------------------------

    def watch(self, ref: pykka.ActorRef[A]) -> pykka.ActorRef[A]:
        """Be told `Terminated(ref)` once that actor stops, however it stops (returned
        `stop()`, `ref.stop()`, a failure), at once if it is dead already. Returns `ref`."""
        _check_ref(self, "watch", ref)
        with self._lock:
            current = self._watches.get(ref.actor_urn)
            if current is not None and current.active:
                return ref
            watch = self._watches[ref.actor_urn] = _Watch(self, ref)
        _deathwatch.watch(ref, watch)
        return ref

    def unwatch(self, ref: pykka.ActorRef[A]) -> pykka.ActorRef[A]:
        """Stop watching `ref`: no `Terminated(ref)` is received after this, even one already
        queued. Returns `ref`."""
        _check_ref(self, "unwatch", ref)
        with self._lock:
            watch = self._watches.pop(ref.actor_urn, None)
            if watch is None:
                return ref
            watch.active = False
            if watch.envelope is not None:
                self._retracted.add(id(watch.envelope))
        _deathwatch.unwatch(ref, watch)
        for envelope in list(self._stash):
            if id(envelope) in self._retracted:
                self._stash.remove(envelope)
        return ref

    @_expectation
    def expect_terminated(
        self, ref: pykka.ActorRef[Any], timeout: float | None = None
    ) -> Terminated:
        """Assert the next message is `Terminated(ref)` (after `watch(ref)`); return it. Under the
        tester an actor that never stops is a deadlock report, not a wait."""
        _check_ref(self, "expect_terminated", ref)
        if ref.actor_urn not in self._watches:
            raise AssertionError(
                f"{self!r}: expect_terminated({ref}) but the probe does not watch it; "
                "call probe.watch(ref) first"
            )
        expected = Terminated(ref)
        got = self._receive(self._timeout(timeout), f"for {expected!r}")
        if got != expected:
            raise AssertionError(f"{self!r}: expected {expected!r}, got {got!r}")
        return got  # type: ignore[no-any-return]

    # ---- polling -------------------------------------------------------------------------

    def await_cond(
        self, fn: Callable[[], Any], max: float | None = None, interval: float = 0.1
    ) -> None:
        """Poll `fn()` every `interval` until it is true, for at most `max` seconds (default 3,
        or what remains of `within`). Under the tester, polling runs the scheduler a step at a
        time; a condition still false at quiescence is a deadlock report.

            probe.await_cond(lambda: fsm.state_name == S.DONE)
        """
        _check_callable(self, "await_cond", fn)
        self._await(fn, max, interval, "await_cond")

    def await_assert(
        self, fn: Callable[[], T], max: float | None = None, interval: float = 0.1
    ) -> T:
        """Call `fn()` every `interval` until it raises no `AssertionError`; return its value.
        After `max` seconds (under the tester: at quiescence) the last failure is raised.

            probe.await_assert(lambda: fsm_assertions(fsm.state_data))
        """
        _check_callable(self, "await_assert", fn)
        last: list[AssertionError] = []

        def passes() -> bool:
            try:
                last[:] = [fn()]  # type: ignore[list-item]
            except AssertionError as error:
                last[:] = [error]
                return False
            return True

        self._await(passes, max, interval, "await_assert", last)
        return last[0]  # type: ignore[return-value]

    def _await(
        self,
        fn: Callable[[], Any],
        max: float | None,
        interval: float,
        method: str,
        last: list[AssertionError] | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"{self!r}: {method}(interval={interval!r}) must be > 0")
        limit = self._timeout(max)
        dispatcher = _dispatch.current()
        if dispatcher.deterministic:
            while not fn():
                if not _one_step(dispatcher):
                    raise self._await_failed(method, "the system became quiescent", last, True)
            return
        deadline = time.monotonic() + limit
        while not fn():
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._await_failed(method, f"timeout {limit:g}s expired", last, False)
            time.sleep(min(interval, left))

    def _await_failed(
        self, method: str, why: str, last: list[AssertionError] | None, deadlock: bool
    ) -> AssertionError:
        cause = last[0] if last and isinstance(last[0], AssertionError) else None
        what = f"last failure: {cause}" if cause is not None else "the condition never held"
        text = f"{self!r}: {method}: {why}; {what}"
        error: AssertionError = (
            QuiescentWait(f"{text} (deadlock: no actor can run any more)")
            if deadlock
            else AssertionError(text)
        )
        error.__cause__ = cause
        return error

    # ---- senders -------------------------------------------------------------------------

    @property
    def last_sender(self) -> Any:
        """Who sent the last message received: the sending `TestProbe` (its `send`/`reply`),
        the `ActorRef` of the FSM that told it (or a watched actor, for `Terminated`), else the
        asker's reply future for an `ask`, else None (a `tell` from the test or a thread)."""
        envelope = self._last
        if envelope is None:
            return None
        sender = getattr(envelope, "sender", None)
        if sender is None:
            sender = envelope.reply_to
        if sender is None:
            sender = getattr(envelope, "teller", None)
        if isinstance(sender, pykka.ActorRef):
            actor = _deathwatch.actor_of(sender)
            if isinstance(actor, _ProbeActor) and actor.probe is not None:
                return actor.probe
        return sender

    def send(self, ref: pykka.ActorRef[Any], msg: Any) -> None:
        """Send `msg` to `ref` with the probe as sender: a reply (an FSM's `replying`, a probe's
        `reply`) lands in this probe, with `last_sender` the one that replied."""
        _check_ref(self, "send", ref)
        future = ref.actor_class._create_future()
        _put(ref, SentEnvelope(msg, reply_to=future, sender=self))
        deliver = lambda done: self._deliver_reply(done, ref)  # noqa: E731
        add_callback = getattr(future, "add_done_callback", None)
        if add_callback is not None:
            add_callback(deliver)
        else:
            threading.Thread(target=deliver, args=(future,), daemon=True).start()

    def _deliver_reply(self, future: pykka.Future[Any], ref: pykka.ActorRef[Any]) -> None:
        try:
            value = future.get(timeout=DEFAULT_TIMEOUT * 10)
        except Exception:
            return
        if value is not None:
            self._inbox.put(SentEnvelope(value, sender=ref))

    def reply(self, msg: Any) -> None:
        """Answer the last message: set the asker's future for an `ask`, else tell the known
        sender (a probe or an actor), with this probe as sender."""
        envelope = self._last
        if envelope is not None and envelope.reply_to is not None:
            envelope.reply_to.set(msg)
            return
        sender = self.last_sender
        if sender is None:
            raise AssertionError(
                f"{self!r}: reply({msg!r}) needs a last message sent with ask() or by a known "
                "sender (a probe's send, an FSM's tell); there is none"
            )
        self._tell(sender, msg)

    def forward(self, ref: pykka.ActorRef[Any], msg: Any = None) -> None:
        """Send `msg` (default: the last message received) on to `ref` keeping its original
        sender: a reply from `ref` goes to whoever sent it to this probe."""
        _check_ref(self, "forward", ref)
        last = self._last
        if last is None:
            raise AssertionError(f"{self!r}: forward({ref}) needs a last message; none came")
        sender = getattr(last, "sender", None) or getattr(last, "teller", None)
        _put(ref, SentEnvelope(last.message if msg is None else msg, last.reply_to, sender))

    def _tell(self, target: Any, msg: Any) -> None:
        if isinstance(target, TestProbe):
            target._inbox.put(SentEnvelope(msg, sender=self))
        elif isinstance(target, pykka.ActorRef):
            _put(target, SentEnvelope(msg, sender=self))
        else:
            raise AssertionError(f"{self!r}: cannot reply to {target!r}")

    # ---- timing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def within(self, min: float, max: float | None = None) -> Iterator[None]:
        """Assert the block takes between `min` and `max` seconds; `within(max)` also works.
        Inside, expectations without a timeout wait at most for the time that remains."""
        low, high = (0.0, float(min)) if max is None else (float(min), float(max))
        if low < 0 or high < low:
            raise AssertionError(f"within({min!r}, {max!r}): need 0 <= min <= max")
        start = time.monotonic()
        self._deadlines.append(start + high)
        try:
            yield
        finally:
            self._deadlines.pop()
        elapsed = time.monotonic() - start
        if elapsed < low:
            raise AssertionError(f"{self!r}: block took {elapsed:.3f}s, expected at least {low}s")
        if elapsed > high:
            raise AssertionError(f"{self!r}: block took {elapsed:.3f}s, expected at most {high}s")

    @property
    def remaining(self) -> float:
        """Seconds left in the innermost `within` block (as Akka, an error outside one)."""
        if not self._deadlines:
            raise AssertionError(
                f"{self!r}: remaining may only be read inside a `with probe.within(...)` block; "
                "use remaining_or_default outside"
            )
        return max_(0.0, self._deadlines[-1] - time.monotonic())

    @property
    def remaining_or_default(self) -> float:
        """Seconds left in the innermost `within` block, else the default timeout (3 s)."""
        return self._timeout(None)


max_ = max  # the builtin, for methods whose Akka parameter is called `max`


def _one_step(dispatcher: _dispatch.Dispatcher) -> bool:
    """Let the deterministic scheduler take one step; False if nothing can run any more."""
    before = getattr(dispatcher, "steps", 0)
    return dispatcher.run_until(lambda: getattr(dispatcher, "steps", 0) > before)


def _check_callable(probe: TestProbe, method: str, fn: Any) -> None:
    if not callable(fn):
        raise TypeError(f"{probe!r}: {method} needs a function, got {fn!r}")


def _check_ref(probe: TestProbe, method: str, ref: Any) -> None:
    if not isinstance(ref, pykka.ActorRef):
        hint = " (pass probe.ref for a probe)" if isinstance(ref, TestProbe) else ""
        raise TypeError(f"{probe!r}: {method} needs a pykka.ActorRef, got {ref!r}{hint}")


def _put(ref: pykka.ActorRef[Any], envelope: Envelope[Any]) -> None:
    """Deliver `envelope` as `ref.tell` would (a dead letter and ActorDeadError if the actor
    is gone)."""
    if not ref.is_alive():
        if isinstance(ref, DeadLetterRef):
            sender = getattr(envelope, "sender", None)
            ref.dead_letter(envelope.message, getattr(sender, "ref", sender))
        raise pykka.ActorDeadError(f"{ref} not found")
    ref.actor_inbox.put(envelope)
