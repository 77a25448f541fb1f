"""`MockStorage`: an asynchronous key-value store that outlives every Navigator.

Reads answer with `KeyValue`, writes with `Confirmed(existing=...)` (telling whether a value
was replaced), deletes silently: a model of a pseudo-transactional cloud store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pykka

from failover_examples.actors import ExampleActor
from failover_examples.messaging import tell
from fsm import FSM, Event, State


@dataclass(frozen=True)
class ReadKey:
    requestor: pykka.ActorRef[Any] | None
    key: str | None


@dataclass(frozen=True)
class KeyValue:
    """A write request, or the answer to a read (`value` None when the key is absent)."""

    requestor: pykka.ActorRef[Any] | None
    key: str | None
    value: Any


@dataclass(frozen=True)
class Confirmed:
    key: str
    value: Any
    existing: bool


@dataclass(frozen=True)
class DeleteKey:
    requestor: pykka.ActorRef[Any] | None
    key: str | None


class MockStorage(FSM, ExampleActor):
    """Simple key-value storage with confirmed writes."""

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[str, Any] = {}
        self.start_with("serving", None)
        self.when("serving", self.serving)
        self.initialize()

    def serving(self, event: Event) -> State | None:
        match event.message:
            case ReadKey(requestor, key):
                requestor, key = validate(requestor, key, "ReadKey")
                self._tell(requestor, KeyValue(requestor, key, self.store.get(key)))
            case KeyValue(requestor, key, value):
                requestor, key = validate(requestor, key, "KeyValue")
                existing = key in self.store
                self.store[key] = value
                # The confirmation is the commit of the write.
                self._tell(requestor, Confirmed(key, value, existing))
            case DeleteKey(requestor, key):
                validate(requestor, key, "DeleteKey")
                self.store.pop(str(key), None)
            case _:
                return None
        return self.stay()

    @staticmethod
    def _tell(requestor: pykka.ActorRef[Any], message: object) -> None:
        tell(requestor, message)  # a halted Navigator misses it


def validate(
    requestor: pykka.ActorRef[Any] | None, key: str | None, event_name: str
) -> tuple[pykka.ActorRef[Any], str]:
    """The storage's preconditions, as safety assertions."""
    assert requestor is not None, (
        f"Error: The RequestorId in the {event_name} received by MockStorage is null"
    )
    assert key is not None, f"Error: The Key in the {event_name} received by MockStorage is null"
    return requestor, key
