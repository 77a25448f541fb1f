"""The runtime's bookkeeping for many actors: the enabled set and the end of an iteration."""

from __future__ import annotations

import random

import pykka
import pytest

import testkit
from testkit._engine.compact import CompactTrace
from testkit._engine.enabled import EnabledSet
from testkit._engine.registry import unregister_all
from tests import buggy_systems as systems


def test_enabled_set_removes_in_place_and_stays_indexable() -> None:
    ops = EnabledSet()
    for name in "abcde":
        ops.append(name)
    ops.remove("b")  # the last one takes its place
    assert list(ops) == ["a", "e", "c", "d"]
    ops.remove("d")  # the last one itself
    assert list(ops) == ["a", "e", "c"]
    assert ops[1] == "e" and len(ops) == 3
    ops.clear()
    assert not ops
    ops.append("a")
    assert list(ops) == ["a"]


def test_enabled_set_matches_a_plain_set_under_random_changes() -> None:
    rng = random.Random(7)
    ops, model = EnabledSet(), set()
    for _ in range(2000):
        if model and rng.random() < 0.5:
            op = rng.choice(sorted(model))
            ops.remove(op)
            model.discard(op)
        else:
            op = rng.randrange(10_000)
            if op not in model:
                ops.append(op)
                model.add(op)
        assert sorted(ops) == sorted(model)
        assert all(ops[ops._where[op]] == op for op in model)


def test_enabled_set_refuses_to_remove_what_it_does_not_hold() -> None:
    ops = EnabledSet()
    ops.append("a")
    with pytest.raises(KeyError):
        ops.remove("b")
    assert list(ops) == ["a"]


class Idle(pykka.ThreadingActor):
    pass


def test_unregister_all_keeps_the_other_actors_in_order() -> None:
    refs = [Idle.start() for _ in range(5)]
    try:
        unregister_all([refs[1], refs[3]])
        mine = [ref for ref in pykka.ActorRegistry.get_all() if ref in refs]
        assert mine == [refs[0], refs[2], refs[4]]
        unregister_all([])
        assert [ref for ref in pykka.ActorRegistry.get_all() if ref in refs] == mine
    finally:
        for ref in refs:
            ref.stop()


def test_actors_left_running_leave_the_registry_at_the_end_of_the_iteration() -> None:
    before = len(pykka.ActorRegistry.get_all())

    def test(runtime: testkit.Runtime) -> None:
        for _ in range(50):
            Idle.start()

    report = testkit.explore(test, iterations=3, strategy="random", seed=1, shrink=False)
    assert report.bug is None
    assert len(pykka.ActorRegistry.get_all()) == before


class _Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "unhashable"


class _State:
    def __init__(self, name: object) -> None:
        self.state_name = name


def test_compact_trace_gives_back_each_step_with_its_state_name() -> None:
    trace = CompactTrace()
    a, b, odd = object(), object(), _Unhashable()
    trace.append((a, "m1", _State("idle")))
    trace.append((b, "m2", None))
    trace.append((a, "m3", _State("idle")))
    trace.append((b, "m4", _State(1)))
    trace.append((b, "m5", _State(True)))  # equal to 1, but another name
    trace.append((a, "m6", _State(odd)))
    steps = list(trace)
    assert len(trace) == 6
    assert [(op, payload) for op, payload, _ in steps] == [
        (a, "m1"),
        (b, "m2"),
        (a, "m3"),
        (b, "m4"),
        (b, "m5"),
        (a, "m6"),
    ]
    names = [None if state is None else state.state_name for _, _, state in steps]
    assert names == ["idle", None, "idle", 1, True, odd]
    assert names[4] is True
    assert steps[0][2] is steps[2][2]  # one entry per state name, not per step
    assert trace[3][1] == "m4" and trace[3][0] is b


def test_a_found_bug_trace_shows_the_states_from_the_compact_record() -> None:
    report = testkit.explore(
        systems.timer_race, iterations=50, strategy="random", seed=1, shrink=False
    )
    assert report.bug is not None and report.bug.trace is not None
    text = "\n".join(str(step) for step in report.bug.trace.steps)
    assert "deliver Oven#1" in text and " @" in text
