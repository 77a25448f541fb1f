"""Dead letters: messages that reached an actor after it stopped (Akka's `DeadLetter`).

They are published on `fsm.dead_letters`, a stream actors and probes subscribe to, and
logged at INFO (logger `fsm.dead_letters`) with Akka's rate limit: the first 10, then none
for 5 minutes, then the next one with how many were not logged meanwhile.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pykka
from pykka import messages as pykka_messages

_log = logging.getLogger("fsm.dead_letters")

LOG_LIMIT = 10
"""Dead letters logged before logging is suspended (Akka's `akka.log-dead-letters`)."""

LOG_SUSPEND = 300.0
"""Seconds logging stays suspended (Akka's `log-dead-letters-suspend-duration`)."""


@dataclass(frozen=True)
class DeadLetter:
    """A message that was not delivered because its recipient had stopped: told or asked to
    a stopped actor, or left in its mailbox when it stopped. `sender` is the actor (or probe
    ref) that sent it where that is known, else None.

        fsm.dead_letters.subscribe(probe.ref)
        match probe.receive_one():
            case fsm.DeadLetter(message, _, recipient): ...
    """

    message: Any
    sender: Any
    recipient: pykka.ActorRef[Any]

    def __repr__(self) -> str:
        return (
            f"DeadLetter({self.message!r}, from {_describe(self.sender)}, "
            f"to {_describe(self.recipient)})"
        )


class DeadLetterStream:
    """Where dead letters are published: each subscriber is told every `DeadLetter`.

    Subscribers are held weakly: a probe that is forgotten leaves the stream with it.

        fsm.dead_letters.subscribe(probe.ref)
        ...
        fsm.dead_letters.unsubscribe(probe.ref)
    """

    def __init__(
        self,
        limit: int = LOG_LIMIT,
        suspend: float = LOG_SUSPEND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._subscribers: dict[int, weakref.ref[pykka.ActorRef[Any]]] = {}
        self.configure_logging(limit, suspend)

    def subscribe(self, ref: pykka.ActorRef[Any]) -> None:
        """Tell `ref` every dead letter from now on (once, however often it subscribes)."""
        _check_ref("subscribe", ref)
        key = id(ref)
        with self._lock:
            self._subscribers[key] = weakref.ref(ref, lambda _: self._forget(key))

    def unsubscribe(self, ref: pykka.ActorRef[Any]) -> None:
        """Tell `ref` no more dead letters (nothing happens if it was not subscribed)."""
        _check_ref("unsubscribe", ref)
        with self._lock:
            self._subscribers.pop(id(ref), None)

    def is_subscribed(self, ref: pykka.ActorRef[Any]) -> bool:
        """Whether `ref` is told the dead letters."""
        with self._lock:
            weak = self._subscribers.get(id(ref))
        return weak is not None and weak() is ref

    def _forget(self, key: int) -> None:
        with self._lock:
            weak = self._subscribers.get(key)
            if weak is not None and weak() is None:
                del self._subscribers[key]

    def publish(self, letter: DeadLetter) -> None:
        """Tell every subscriber `letter` (a stopped subscriber is dropped), then log it."""
        with self._lock:
            refs = [ref for ref in (weak() for weak in self._subscribers.values()) if ref]
        for ref in refs:
            try:  # pykka's own tell: a dead subscriber must not make another dead letter
                pykka.ActorRef.tell(ref, letter)
            except pykka.ActorDeadError:
                self.unsubscribe(ref)
        self._log(letter)

    def configure_logging(self, limit: int = LOG_LIMIT, suspend: float = LOG_SUSPEND) -> None:
        """Log at most `limit` dead letters (0: none), then none for `suspend` seconds, then
        the next one with the count of those not logged; the count starts afresh now.

            fsm.dead_letters.configure_logging(limit=0)   # no dead-letter logging at all
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"configure_logging(limit=...) needs an int >= 0, got {limit!r}")
        if isinstance(suspend, bool) or not isinstance(suspend, (int, float)):
            raise ValueError(f"configure_logging(suspend=...) needs seconds, got {suspend!r}")
        if math.isnan(suspend) or suspend < 0:
            raise ValueError(f"configure_logging(suspend={suspend!r}) must be >= 0 seconds")
        with self._lock:
            self._limit = limit
            self._suspend = float(suspend)
            self._logged = 0
            self._total = 0
            self._unlogged = 0
            self._suspended_at: float | None = None

    def _log(self, letter: DeadLetter) -> None:
        with self._lock:
            self._total += 1
            if self._limit == 0:
                return
            now = self._clock()
            if self._suspended_at is not None:
                if now - self._suspended_at < self._suspend:
                    self._unlogged += 1
                    return
                self._suspended_at = None
                self._logged = 0
            self._logged += 1
            total, unlogged = self._total, self._unlogged
            self._unlogged = 0
            last = self._logged >= self._limit
            if last:
                self._suspended_at = now
        _log.info(
            "%s from %s to %s was not delivered: the actor has stopped. [%d] dead letters "
            "encountered%s%s",
            _describe_message(letter.message),
            _describe(letter.sender),
            _describe(letter.recipient),
            total,
            f" ({unlogged} not logged while logging was suspended)" if unlogged else "",
            f"; no more dead letters are logged for {self._suspend:g} s (see "
            "fsm.dead_letters.configure_logging)"
            if last
            else "",
        )


def _check_ref(method: str, ref: Any) -> None:
    if not isinstance(ref, pykka.ActorRef):
        hint = " (for a TestProbe, pass probe.ref)" if hasattr(ref, "ref") else ""
        raise TypeError(f"dead_letters.{method} needs a pykka.ActorRef, got {ref!r}{hint}")


def _describe(who: Any) -> str:
    if who is None:
        return "no known sender"
    if isinstance(who, pykka.ActorRef):
        return str(who)
    return repr(who)


def _describe_message(message: Any) -> str:
    text = repr(message)
    if len(text) > 200:
        text = text[:197] + "..."
    return f"message {text} ({type(message).__name__})"


_SUPPRESSED: set[type] = {pykka_messages._ActorStop}


def suppress(*classes: type) -> None:
    """Messages of these classes are never dead letters (internal messages, e.g. timer
    ticks, and stopping an actor that has stopped, as Akka's `DeadLetterSuppression`)."""
    _SUPPRESSED.update(classes)


def is_suppressed(message: Any) -> bool:
    """Whether `message` is never published as a dead letter."""
    return type(message) in _SUPPRESSED


dead_letters = DeadLetterStream()
"""The process's dead-letter stream (`fsm.dead_letters`)."""
