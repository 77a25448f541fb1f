"""Plain Pykka actors that talk through proxies, as Pykka users write them (for the trace of
proxy calls and the cost of proxies under the tester)."""

from __future__ import annotations

from typing import Any

import pykka

from testkit import Runtime

ARGUMENT = {"value": "v1"}
"""What the client passes in its call; a test changes it to make replay diverge."""


@pykka.traversable
class Ledger:
    """A traversable part of the store: reachable as `proxy.ledger.note(...)`."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, text: str) -> int:
        self.notes.append(text)
        return len(self.notes)


class Store(pykka.ThreadingActor):
    """A key-value store reached through its proxy."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, Any] = {}
        self.limit = 10
        self.ledger = Ledger()

    def put(self, key: str, value: Any, *, tags: frozenset[str] = frozenset()) -> int:
        self.items[key] = value
        return len(self.items)

    def get(self, key: str) -> Any:
        return self.items.get(key)


class Client(pykka.ThreadingActor):
    """Puts one value through a fresh proxy and checks it reads back."""

    def __init__(self, store: pykka.ActorRef[Store], name: str) -> None:
        super().__init__()
        self.store = store
        self.name = name

    def on_start(self) -> None:
        proxy = self.store.proxy()
        proxy.put(self.name, ARGUMENT["value"], tags=frozenset({"x", "y", "z"})).get()
        proxy.ledger.note(f"{self.name} wrote").get()
        proxy.limit = 20
        assert proxy.get(self.name).get() == ARGUMENT["value"]


def two_clients(runtime: Runtime) -> None:
    store = Store.start()
    Client.start(store, "a")
    Client.start(store, "b")


def two_clients_racing(runtime: Runtime) -> None:
    """As `two_clients`, and a bug: the test asserts that "a" wrote first."""
    store = Store.start()
    Client.start(store, "a")
    Client.start(store, "b")
    notes = store.proxy().ledger.notes.get()
    assert notes == ["a wrote", "b wrote"][: len(notes)], f"notes in the wrong order: {notes}"
    runtime.run()
    assert store.proxy().ledger.notes.get()[0] == "a wrote", "b wrote first"
