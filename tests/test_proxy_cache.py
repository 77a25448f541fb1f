"""Pykka's proxy introspection once per class (`fsm._proxy_cache`): the same attributes, of
the same kinds, as Pykka's own walk finds, for every shape of actor; installed only while the
tester runs."""

from __future__ import annotations

import logging
from typing import Any

import pykka
import pytest
from pykka import _introspection
from pykka import _proxy as pykka_proxy

import testkit
from fsm import FSM, Event, State, _proxy_cache

from . import proxy_systems


@pykka.traversable
class Inner:
    def __init__(self) -> None:
        self.depth = 2

    def poke(self) -> int:
        return self.depth


class Outer:
    pykka_traversable = True  # the Pykka < 2 way of marking one

    def __init__(self) -> None:
        self.inner = Inner()
        self.label = "outer"

    def run(self) -> None: ...


class Shapes(pykka.ThreadingActor):
    """Every kind of attribute a proxy distinguishes."""

    constant = 3
    shared = pykka.traversable(Inner())

    def __init__(self) -> None:
        super().__init__()
        self.outer = Outer()
        self.callback = print
        self.statement = "shadows the method with a value"
        self._hidden = 1

    @property
    def computed(self) -> int:
        return 1

    def statement(self) -> str:  # type: ignore[no-redef]
        return "method"

    @classmethod
    def make(cls) -> None: ...

    @staticmethod
    def helper() -> None: ...


class Machine(FSM, pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.start_with("on", None)
        self.when("on", self.on)
        self.initialize()

    def on(self, event: Event) -> State | None:
        return self.stay()

    def ping(self) -> str:
        return "pong"


class Narcissus(pykka.ThreadingActor):
    """Keeps a public proxy to itself (Pykka warns and leaves it out)."""

    def on_start(self) -> None:
        self.me = self.actor_ref.proxy()


class Listing(pykka.ThreadingActor):
    """Lists its attributes its own way: introspected by Pykka's walk itself."""

    def __dir__(self) -> list[str]:
        return ["on_receive", "stop"]


def _actor(ref: pykka.ActorRef[Any]) -> Any:
    weak = getattr(ref, "_actor_weakref", None)
    return weak() if weak is not None else ref._actor  # type: ignore[attr-defined]


def _both(ref: pykka.ActorRef[Any]) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Pykka's walk and the cached one, each for a proxy being made."""
    actor = _actor(ref)
    mine = _proxy_cache.introspect_attrs(root=actor, proxy=object.__new__(pykka.ActorProxy))
    again = _proxy_cache.introspect_attrs(root=actor, proxy=object.__new__(pykka.ActorProxy))
    theirs = _introspection.introspect_attrs(root=actor, proxy=object.__new__(pykka.ActorProxy))
    assert mine == again
    return mine, theirs


@pytest.mark.parametrize("cls", [Shapes, Machine, Listing, proxy_systems.Store])
def test_the_cached_walk_finds_what_pykka_finds(cls: type[pykka.Actor]) -> None:
    ref = cls.start()
    mine, theirs = _both(ref)
    assert mine == theirs
    ref.stop()


def test_what_differs_per_instance_is_looked_at_for_each_proxy() -> None:
    first, second = Shapes.start(), Shapes.start()
    _actor(second).outer.inner = "no longer traversable"
    _actor(second).extra = lambda: None
    for ref in (first, second):
        mine, theirs = _both(ref)
        assert mine == theirs
    assert ("outer", "inner", "poke") in _both(first)[0]
    assert ("outer", "inner", "poke") not in _both(second)[0]
    assert _both(second)[0][("extra",)].callable
    first.stop()
    second.stop()


def test_a_class_attribute_added_later_is_seen() -> None:
    class Growing(pykka.ThreadingActor):
        pass

    ref = Growing.start()
    _both(ref)
    Growing.added = staticmethod(lambda: 1)  # type: ignore[attr-defined]
    mine, theirs = _both(ref)
    assert mine == theirs and ("added",) in mine
    ref.stop()


def test_a_proxy_to_itself_is_left_out_with_pykkas_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ref = Narcissus.start()
    ref.proxy().actor_urn.get()  # on_start has run
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pykka"):
        actor = _actor(ref)
        mine = _proxy_cache.introspect_attrs(root=actor, proxy=actor.me)
        theirs = _introspection.introspect_attrs(root=actor, proxy=actor.me)
    assert mine == theirs and ("me",) not in mine
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 2
    assert "is a proxy to itself" in caplog.records[0].getMessage()
    ref.stop()


def test_proxies_work_through_the_cache_under_the_tester() -> None:
    original = pykka_proxy.introspect_attrs
    seen: list[bool] = []

    def test(runtime: testkit.Runtime) -> None:
        seen.append(_proxy_cache.installed())
        proxy_systems.two_clients(runtime)

    report = testkit.explore(test, iterations=5, seed=1, progress=False)
    assert report.bug is None and seen == [True] * 5
    assert pykka_proxy.introspect_attrs is original  # given back after the run


def test_a_proxy_meeting_an_unknown_name_introspects_in_full() -> None:
    with testkit.deterministic(seed=1):
        ref = Shapes.start()
        proxy = ref.proxy()
        _actor(ref).late = 5  # set after the proxy was made
        assert proxy.late.get() == 5
        assert proxy.statement.get() == "shadows the method with a value"
        assert proxy.outer.inner.poke().get() == 2
        assert proxy.shared.poke().get() == 2
