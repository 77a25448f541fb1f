"""`TestProbe`: an actor reference a test can read from, with Akka TestKit's expectations."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pykka
from pykka._envelope import Envelope

from fsm import _dispatch
from testkit._errors import QuiescentWait

DEFAULT_TIMEOUT = 3.0
DEFAULT_NO_MSG_TIMEOUT = 0.1


class _ProbeInbox(queue.Queue[Envelope[Any]]):
    """A probe's inbox; an ask's future learns that only the test function answers it (so
    a deadlock through the test function can be named)."""

    id = "TestProbe"
    answered_by_test = True
    waiter = None

    def put(self, item: Envelope[Any], block: bool = True, timeout: float | None = None) -> None:
        reply_to: Any = item.reply_to
        if reply_to is not None and hasattr(reply_to, "owner"):
            reply_to.owner = self
            reply_to.request = item.message
        super().put(item, block, timeout)


class _ProbeActor(pykka.Actor):
    """A mailbox with an ActorRef and no loop: the probe itself reads the inbox."""

    @staticmethod
    def _create_actor_inbox() -> queue.Queue[Envelope[Any]]:
        return _ProbeInbox()

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return _dispatch.current().create_future()

    def _start_actor_loop(self) -> None:  # the probe reads its inbox itself
        pass


class TestProbe:
    """A stand-in actor for tests: FSMs `tell` its `ref`, the test asserts what arrived.

    Works with Pykka threads (waiting blocks) and under the deterministic runtime
    (waiting runs the scheduler and never sleeps).
    """

    __test__ = False  # not a pytest test class

    def __init__(self, name: str = "probe") -> None:
        self.name = name
        self._actor = _ProbeActor()
        self.ref: pykka.ActorRef[Any] = self._actor.actor_ref
        self._inbox: queue.Queue[Envelope[Any]] = self._actor.actor_inbox  # type: ignore[assignment]
        self._inbox.id = repr(self)  # type: ignore[attr-defined]
        self._last: Envelope[Any] | None = None
        self._deadlines: list[float] = []

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

    def _poll(self, timeout: float) -> Envelope[Any] | None:
        """The next envelope within `timeout`, or None."""
        dispatcher = _dispatch.current()
        if dispatcher.deterministic:
            dispatcher.run_until(lambda: not self._inbox.empty())
            try:
                envelope = self._inbox.get_nowait()
            except queue.Empty:
                return None
        else:
            try:
                envelope = self._inbox.get(timeout=timeout)
            except queue.Empty:
                return None
        self._last = envelope
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

    def expect_msg(self, obj: Any, timeout: float | None = None) -> Any:
        """Assert the next message equals `obj`; return it."""
        got = self._receive(self._timeout(timeout), f"for {obj!r}")
        if got != obj:
            raise AssertionError(f"{self!r}: expected {obj!r}, got {got!r}")
        return got

    def expect_msg_type(self, cls: type | tuple[type, ...], timeout: float | None = None) -> Any:
        """Assert the next message is an instance of `cls`; return it."""
        got = self._receive(self._timeout(timeout), f"for a message of type {cls!r}")
        if not isinstance(got, cls):
            raise AssertionError(
                f"{self!r}: expected a message of type {cls!r}, got {got!r} ({type(got).__name__})"
            )
        return got

    def expect_msg_any_of(self, *objs: Any, timeout: float | None = None) -> Any:
        """Assert the next message equals one of `objs`; return it."""
        got = self._receive(self._timeout(timeout), f"for any of {objs!r}")
        if got not in objs:
            raise AssertionError(f"{self!r}: expected any of {objs!r}, got {got!r}")
        return got

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

    def expect_no_msg(self, timeout: float | None = None) -> None:
        """Assert that no message comes within `timeout` (deterministic: before quiescence)."""
        envelope = self._poll(self._timeout(timeout, DEFAULT_NO_MSG_TIMEOUT))
        if envelope is not None:
            raise AssertionError(f"{self!r}: expected no message, got {envelope.message!r}")

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

    # ---- sending -------------------------------------------------------------------------

    def send(self, ref: pykka.ActorRef[Any], msg: Any) -> None:
        """Send `msg` to `ref` with the probe as asker: a reply lands in this probe."""
        future = ref.ask(msg, block=False)
        deliver = self._deliver_reply
        add_callback = getattr(future, "add_done_callback", None)
        if add_callback is not None:
            add_callback(deliver)
        else:
            threading.Thread(target=deliver, args=(future,), daemon=True).start()

    def _deliver_reply(self, future: pykka.Future[Any]) -> None:
        try:
            value = future.get(timeout=DEFAULT_TIMEOUT * 10)
        except Exception:
            return
        if value is not None:
            self._inbox.put(Envelope(value))

    def reply(self, msg: Any) -> None:
        """Answer the last received message, which must have come with `ask()`."""
        if self._last is None or self._last.reply_to is None:
            raise AssertionError(
                f"{self!r}: reply({msg!r}) needs a last message sent with ask(); there is none"
            )
        self._last.reply_to.set(msg)

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
        """Seconds left in the innermost `within` block (the default timeout outside one)."""
        return self._timeout(None)
