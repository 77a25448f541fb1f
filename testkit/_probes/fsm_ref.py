"""`TestFSMRef`: start an FSM and look into / set its state from a test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pykka
from pykka.messages import ProxyCall

from fsm import FSM, FSMError, LogEntry, LoggingFSM, PersistentFSM
from fsm._actor import _KEEP
from fsm._deathwatch import actor_of
from fsm._durations import Duration

A = TypeVar("A", bound=FSM)


@dataclass(frozen=True)
class Recovered:
    """What a `PersistentFSM` recovered from its journal when it started: the state name and
    data it resumed in, the sequence number of the last entry it replayed (0: the journal
    held nothing) and of the snapshot it started from (0: none)."""

    state_name: Any
    state_data: Any
    sequence_nr: int
    snapshot_nr: int


class TestFSMRef(Generic[A]):
    """Starts `cls(*args, **kwargs)` and gives the test access to its FSM internals.

    Every access runs inside the actor, in order with the messages sent before it.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, cls: type[A], *args: Any, **kwargs: Any) -> None:
        if not (isinstance(cls, type) and issubclass(cls, FSM)):
            raise FSMError(f"TestFSMRef needs an FSM subclass, got {cls!r}")
        if not issubclass(cls, pykka.Actor):
            raise FSMError(
                f"TestFSMRef({cls.__name__}): the class must also be a Pykka actor, e.g. "
                f"class {cls.__name__}(FSM, pykka.ThreadingActor)"
            )
        self.ref: pykka.ActorRef[Any] = cls.start(*args, **kwargs)

    def _call(self, method: str, *args: Any) -> Any:
        return self.ref.ask(ProxyCall(attr_path=(method,), args=args, kwargs={}))

    @property
    def state_name(self) -> Any:
        """The FSM's current state."""
        return self._call("_testkit_snapshot")[0]

    @property
    def state_data(self) -> Any:
        """The FSM's current state data."""
        return self._call("_testkit_snapshot")[1]

    def set_state(self, name: Any, data: Any = _KEEP, timeout: Duration = _KEEP) -> None:
        """Move the FSM to `name` (a transition, as with goto) with optional data and timeout."""
        self._call("_testkit_set_state", name, data, timeout)

    def is_timer_active(self, name: str) -> bool:
        """Whether the FSM's named timer is active."""
        return bool(self._call("is_timer_active", name))

    def set_timer(self, name: str, msg: Any, interval: Duration, repeat: bool = False) -> None:
        """Set a named timer on the FSM, as if it called set_timer itself."""
        self._call("set_timer", name, msg, interval, repeat)

    def start_single_timer(self, name: str, msg: Any, delay: Duration) -> None:
        """Start a single-shot timer on the FSM, as if it called start_single_timer itself."""
        self._call("start_single_timer", name, msg, delay)

    def start_timer_with_fixed_delay(self, name: str, msg: Any, delay: Duration) -> None:
        """Start a fixed-delay timer on the FSM (see FSM.start_timer_with_fixed_delay)."""
        self._call("start_timer_with_fixed_delay", name, msg, delay)

    def start_timer_at_fixed_rate(self, name: str, msg: Any, interval: Duration) -> None:
        """Start a fixed-rate timer on the FSM (see FSM.start_timer_at_fixed_rate)."""
        self._call("start_timer_at_fixed_rate", name, msg, interval)

    def cancel_timer(self, name: str) -> None:
        """Cancel a named timer of the FSM."""
        self._call("cancel_timer", name)

    def is_state_timer_active(self) -> bool:
        """Whether the FSM's state timeout is armed."""
        return bool(self._call("_testkit_state_timer_active"))

    @property
    def underlying_actor(self) -> A:
        """The actor object itself, for reading (Akka's `underlyingActor`); on threads it runs
        concurrently, so prefer `state_name`/`state_data`, which ask the actor."""
        actor = actor_of(self.ref)
        if actor is None:
            raise FSMError(f"{self!r}: the actor object is gone (stopped and collected)")
        return actor  # type: ignore[return-value]

    def get_log(self) -> list[LogEntry]:
        """A LoggingFSM's log (its last `log_depth` events, oldest first), asked of the actor.

        assert [e.event for e in fsm.get_log()] == ["go", "stop"]
        """
        if not issubclass(self.ref.actor_class, LoggingFSM):
            name = self.ref.actor_class.__name__
            raise FSMError(
                f"{self!r}.get_log(): {name} keeps no log; make it a LoggingFSM "
                f"(class {name}(LoggingFSM, pykka.ThreadingActor)) with log_depth > 0"
            )
        return list(self._call("get_log"))

    @property
    def events(self) -> list[Any]:
        """A `PersistentFSM`'s events stored in its journal under its persistence id, in
        order (also those of earlier instances with the same id), asked of the actor, so
        after every message sent before; only confirmed writes are there.

            ref = TestFSMRef(Account, "A")
            ref.ask(Deposit("c", 1, 5))
            assert ref.events == [Deposited("c", 1, 5)]
        """
        self._persistent("events")
        return list(self._call("_testkit_events"))

    @property
    def recovered(self) -> Recovered:
        """What a `PersistentFSM` recovered when it started (state, data, sequence numbers):
        a second instance of the same persistence id resumes where the first one stopped.

            again = TestFSMRef(Account, "A")
            assert again.recovered.state_data.balance == 5
        """
        self._persistent("recovered")
        found = self._call("_testkit_recovered")
        if found is None:  # initialize() never ran: the FSM failed on its first message
            raise FSMError(f"{self!r}.recovered: the FSM never initialized, so never recovered")
        return Recovered(*found)

    def _persistent(self, what: str) -> None:
        if not issubclass(self.ref.actor_class, PersistentFSM):
            name = self.ref.actor_class.__name__
            raise FSMError(
                f"{self!r}.{what}: {name} persists nothing; it is no PersistentFSM "
                f"(class {name}(PersistentFSM, FSM, pykka.ThreadingActor))"
            )

    def tell(self, msg: Any) -> None:
        self.ref.tell(msg)

    def ask(self, msg: Any, timeout: float | None = None) -> Any:
        return self.ref.ask(msg, timeout=timeout)

    def stop(self) -> None:
        self.ref.stop()

    def __repr__(self) -> str:
        return f"TestFSMRef({self.ref!r})"
