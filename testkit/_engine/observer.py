"""The runtime's observer seam: what happened at each step, for coverage and pictures.

The runtime calls an `Observer` only when one is installed (`installed(observer)` around the
code that creates runtimes), so a run without one pays a `None` check per step and nothing
else. `step` is the index of the trace step during which the event happened (-1: before the
first step, while the test function started).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fsm import StateTimeout
from fsm._actor import _StateTimeoutFired, _TimerFired

if TYPE_CHECKING:
    from fsm import Monitor
    from fsm._dead_letters import DeadLetter
    from testkit._engine.bug import Bug
    from testkit._engine.journal import PendingWrite
    from testkit._engine.operations import Mailbox, TimerEntry
    from testkit._engine.payloads import Choice
    from testkit._engine.runtime import Runtime


class Observer:
    """Receives the runtime's events; every method does nothing unless overridden (and
    the runtime calls only the overridden ones).

    `sender` is the operation that ran when a message was put in a mailbox: a `Mailbox`
    (an actor's handler or `on_start`), a `TimerQueue` (a timer firing) or the `TestBody`.
    `before`/`after` are an FSM's `State` objects around a delivery (None for an actor
    without one): `after is before` means the message was not handled (a stale timer).
    """

    delivery_counts: dict[tuple[Any, ...], list[Any]] | None = None
    """If a dict, the runtime counts each FSM delivery that ran a handler into it, keyed
    (actor class, id of the state name before, id of the state name after,
    `delivery_kind(message)`, whether it was a transition other than a stop), each value
    `[count, name before, name after]` (which keeps the ids valid): the cheap way to learn
    what `delivered` would say. Names are keyed by identity because hashing one (an `Enum`
    member's `__hash__` is Python code) would cost more than the rest of the count."""

    def attached(self, runtime: Runtime) -> None:
        """A new runtime (one iteration, or one replay) will report to this observer."""

    def sent(self, step: int, sender: Any, receiver: Mailbox, envelope: Any) -> None:
        """`envelope` was put in `receiver`'s mailbox."""

    def delivered(
        self, step: int, receiver: Mailbox, envelope: Any, before: Any, after: Any
    ) -> None:
        """`receiver` handled `envelope` (also when its handler raised)."""

    def started(self, step: int, mailbox: Mailbox) -> None:
        """The actor's `on_start` ran."""

    def stopped(self, step: int, mailbox: Mailbox) -> None:
        """The actor stopped."""

    def timer_set(self, step: int, mailbox: Mailbox, entry: TimerEntry) -> None:
        """A timer (named, or a state timeout) was set for `mailbox`'s actor."""

    def timer_fired(self, step: int, mailbox: Mailbox, entry: TimerEntry) -> None:
        """A timer fired: its message goes to the actor's mailbox next."""

    def timer_cancelled(self, step: int, mailbox: Mailbox, entry: TimerEntry) -> None:
        """A pending timer was cancelled before it fired."""

    def random(self, step: int, owner: Any, choice: Choice) -> None:
        """`owner` (a `Mailbox` or the `TestBody`) made a controlled random choice."""

    def monitor_registered(self, step: int, monitor: Monitor) -> None:
        """The test registered `monitor`."""

    def monitor_event(
        self, step: int, sender: Any, monitor: Monitor, event: Any, before: Any, after: Any
    ) -> None:
        """`monitor` handled `event` (also when it failed); `sender` as for `sent`."""

    def dead_letter(self, step: int, letter: DeadLetter) -> None:
        """`letter.message` reached `letter.recipient` after it had stopped."""

    def journal(self, step: int, mailbox: Mailbox, event: str, write: PendingWrite) -> None:
        """A `PersistentFSM`'s journal write: `event` is `write` (its handler issued it and
        waits), then `stored`, `rejected` or `failed` (the journal completed it), or `lost`
        (the writer crashed before the journal completed it)."""

    def fault(self, step: int, kind: str, target: str, source: str, detail: str) -> None:
        """A declared fault happened: `kind` is crash (`target` the actor), restart (`target`
        the new instance, `source` the crashed one), drop or duplicate (of the message
        `detail` from `source` to `target`), partition (`detail` its groups) or heal."""

    def failed(self, step: int, bug: Bug) -> None:
        """The iteration ended with `bug` at `step`."""


def hook(observer: Observer | None, name: str) -> Any:
    """`observer`'s method `name` if its class overrides the do-nothing one, else None (so
    that the runtime skips the call, and the arguments' making, altogether)."""
    if observer is None or getattr(type(observer), name) is getattr(Observer, name):
        return None
    return getattr(observer, name)


HOOKS = (
    "sent",
    "delivered",
    "timer_set",
    "timer_fired",
    "timer_cancelled",
    "random",
    "journal",
    "fault",
    "dead_letter",
)
"""The events a runtime calls its observer for through `hooks`, in the order it returns them."""

_NO_HOOKS: tuple[Any, ...] = (None,) * len(HOOKS)
_overridden: dict[type, tuple[str, ...]] = {}  # observer class -> which of HOOKS it overrides


def hooks(observer: Observer | None) -> tuple[Any, ...]:
    """`hook(observer, name)` for each of `HOOKS`, in that order: what the observer's class
    overrides is worked out once per class (every iteration's runtime asks again)."""
    if observer is None:
        return _NO_HOOKS
    cls = type(observer)
    names = _overridden.get(cls)
    if names is None:
        names = _overridden[cls] = tuple(n for n in HOOKS if hook(observer, n) is not None)
    if not names:
        return _NO_HOOKS
    return tuple(getattr(observer, n) if n in names else None for n in HOOKS)


def delivery_kind(message: Any) -> type:
    """The message type a delivery counts under: a timer's own message, not its wrapper."""
    kind: type = message.__class__
    if kind is _TimerFired:
        return message.message.__class__  # type: ignore[no-any-return]
    if kind is _StateTimeoutFired:
        return StateTimeout
    return kind


_installed: list[Observer] = []


def current() -> Observer | None:
    """The observer new runtimes report to, if any."""
    return _installed[-1] if _installed else None


@contextlib.contextmanager
def installed(observer: Observer) -> Iterator[Observer]:
    """Runtimes created inside the block report to `observer`."""
    _installed.append(observer)
    try:
        yield observer
    finally:
        _installed.remove(observer)
