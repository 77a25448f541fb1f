"""The exhaustive shortest-failing-schedule search, and the shrinker measured against it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from failover_examples import coffee_machine
from testkit import TestkitError, explore, replay, shrink
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.trace import Trace
from testkit._exploration.shrink import shrink_file
from testkit._shrinking import passes
from testkit._shrinking.shortest import shortest_failing
from testkit._shrinking.shrinker import Shrinker, same_bug, strict_run
from tests import buggy_systems as systems

TRACES = Path(__file__).parent / "traces"


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def found(test: Callable[..., Any], max_steps: int, seed: int = 0) -> Trace:
    report = explore(test, iterations=300, max_steps=max_steps, seed=seed, shrink=False)
    assert report.bug is not None and report.bug.trace is not None
    trace: Trace = report.bug.trace
    return trace


@pytest.mark.parametrize(
    ("test", "minimum"),
    [(systems.timer_race, 8), (systems.dropped_request, 13)],
    ids=["timer_race", "dropped_request"],
)
def test_the_search_proves_the_minimum_and_the_shrinker_reaches_it(
    test: Callable[..., Any], minimum: int
) -> None:
    trace = found(test, 500)
    result = shortest_failing(test, trace, 120)
    assert result.exhausted and result.trace is not None
    assert len(result.trace) == minimum < len(trace) + 1
    again = replay(test, result.trace).bug  # the witness replays strictly to the same bug
    original = replay(test, trace).bug
    assert again is not None and original is not None and same_bug(original, again)
    assert len(shrink(test, trace)) == minimum


def test_a_monitor_hot_at_max_steps_needs_the_threshold_plus_one_step() -> None:
    trace = found(systems.never_served, 24)  # liveness threshold 12
    result = shortest_failing(systems.never_served, trace, 120)
    assert result.exhausted and result.trace is not None
    assert len(result.trace) == 13 == result.trace.max_steps


def test_the_search_reports_a_spent_budget_and_refuses_a_trace_without_a_bug() -> None:
    trace = found(systems.lost_update, 500)
    assert not shortest_failing(systems.lost_update, trace, 1e-9).exhausted
    cut_off = replace(trace, steps=trace.steps[:3], max_steps=3)  # ends before the bug
    with pytest.raises(TestkitError, match="without a bug"):
        shortest_failing(systems.lost_update, cut_off, 10)
    with pytest.raises(TestkitError, match="divergence at step 3"):  # no longer replays
        shortest_failing(systems.lost_update, replace(trace, steps=trace.steps[:3]), 10)


def test_swapping_two_steps_lets_a_hot_monitor_start_a_step_earlier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trace = found(systems.never_served, 500, seed=2)  # test and actor start in this order
    old = tuple(p for p in passes.PASSES if p is not passes.swap_then_cut)
    with monkeypatch.context() as patch:
        patch.setattr(passes, "PASSES", old)
        assert len(shrink(systems.never_served, trace)) == 252
    assert len(shrink(systems.never_served, trace)) == 251  # threshold 250, plus one


def test_a_monitor_hot_too_long_is_edited_only_before_it_turned_hot() -> None:
    trace = found(systems.never_served, 2000)  # threshold 1000: the run is cut at 2000
    result = shrink_file(systems.never_served, trace, 30.0, 10.0)
    assert len(result.trace) == 1001 and not result.timed_out
    # past the step that made it hot, an edit cannot shorten the run: none is tried there
    assert result.runs < 100


def test_a_timer_firing_goes_with_the_delivery_of_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # found by fair-pct:3 (seed 2, iteration 3): one heater tick too many
    trace = Trace.load(TRACES / "coffee_machine_extra_heater_tick.trace")
    old = tuple(p for p in passes.PASSES if p is not passes.drop_timer_firings)
    with monkeypatch.context() as patch:
        patch.setattr(passes, "PASSES", old)
        assert len(shrink(coffee_machine.execute, trace)) == 80
    small = shrink(coffee_machine.execute, trace)
    assert len(small) == 78
    assert replay(coffee_machine.execute, small).bug is not None


def test_the_cap_of_a_monitor_hot_too_long_is_found_in_one_run() -> None:
    trace = found(systems.never_served, 2000)
    with Sandbox(10.0) as sandbox:
        _, bug = strict_run(systems.never_served, trace, sandbox)
        assert bug is not None
        shrinker = Shrinker(systems.never_served, trace, bug, sandbox, wall_clock() + 60, True)
        before = shrinker.runs
        passes.lower_cap(shrinker)
        # hot since step h, threshold 1000: the cap is h + 1000, no bisection needed
        assert shrinker.best.hot_since is not None
        assert shrinker.best.max_steps == shrinker.best.hot_since + 1000
        assert shrinker.runs == before + 1
