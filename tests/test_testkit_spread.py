"""`explore(workers=N)` starts in this process and spreads over worker processes only when
the run is long enough: the same report either way, for every strategy, and never more
processes than the cores can use."""

from __future__ import annotations

import io
import itertools
import os
from typing import Any

import pytest

from testkit import explore
from testkit._cli import main
from testkit._exploration import workers as workers_module

from . import buggy_systems as systems
from .report_facts import report_facts


def _never_spread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers_module, "SPREAD_AFTER", float("inf"))


def _spread_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers_module, "SPREAD_AFTER", 0.0)
    monkeypatch.setattr(workers_module, "SPREAD_WORTH", 0.0)


class _NoWorkers:
    def __init__(self, *args: Any) -> None:
        raise AssertionError("a worker process was started")


def test_a_short_run_starts_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = itertools.count()
    monkeypatch.setattr(workers_module, "wall_clock", lambda: next(ticks) * 1e-5)
    monkeypatch.setattr(workers_module, "_Workers", _NoWorkers)
    report = explore(systems.lost_update_fixed, iterations=200, strategy="random", workers=2)
    assert report.iterations == 200 and report.bug is None


def test_a_long_run_spreads_once_it_has_run_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []

    class Counting(_NoWorkers):
        def __init__(self, job: Any, processes: int, first_new: int) -> None:
            started.append(first_new)
            raise KeyboardInterrupt  # enough: the decision is what is tested here

    ticks = itertools.count()
    monkeypatch.setattr(workers_module, "wall_clock", lambda: next(ticks) * 0.01)
    monkeypatch.setattr(workers_module, "_Workers", Counting)
    with pytest.raises(KeyboardInterrupt):
        explore(systems.lost_update_fixed, iterations=10_000, strategy="random", workers=2)
    (first_new,) = started
    assert 1 < first_new < 100  # after SPREAD_AFTER of (fake) time, not at once


LEARNING = ["portfolio", "pct", "fair-prioritization", "rl", "pos"]


@pytest.mark.parametrize("strategy", LEARNING)
def test_a_spread_run_reports_what_one_that_stayed_here_does(
    strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arguments: dict[str, Any] = {
        "iterations": 96,
        "max_steps": 500,
        "strategy": strategy,
        "seed": 5,
        "workers": 2,
        "stop_at_first_bug": False,
        "shrink": False,
    }
    _never_spread(monkeypatch)
    here = explore(systems.lost_update, **arguments)
    _spread_at_once(monkeypatch)
    spread = explore(systems.lost_update, **arguments)
    assert report_facts(spread) == report_facts(here)
    assert here.bugs and [b.count for b in spread.bugs] == [b.count for b in here.bugs]
    assert here.coverage and spread.coverage.summary() == here.coverage.summary()


def test_more_lanes_than_processes_report_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    arguments: dict[str, Any] = {
        "iterations": 120,
        "max_steps": 500,
        "strategy": "fair-pct",
        "seed": 3,
        "workers": 7,
        "stop_at_first_bug": False,
        "shrink": False,
    }
    _never_spread(monkeypatch)
    here = explore(systems.lost_update, **arguments)
    _spread_at_once(monkeypatch)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # 4 processes for the 7 lanes
    processes: list[int] = []
    real = workers_module._Workers

    def counted(job: Any, count: int, first_new: int) -> Any:
        processes.append(count)
        return real(job, count, first_new)

    monkeypatch.setattr(workers_module, "_Workers", counted)
    spread = explore(systems.lost_update, **arguments)
    assert processes == [4]
    assert report_facts(spread) == report_facts(here)


def test_processes_are_capped_at_a_multiple_of_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert workers_module.process_count(1) == 1
    assert workers_module.process_count(2) == 2
    assert workers_module.process_count(1000) == 2 * workers_module.PROCESSES_PER_CORE
    out = io.StringIO()
    code = main(
        ["test", "tests.buggy_systems:lost_update_fixed", "-i", "20", "--seed", "1", "-j",
         "1000", "--no-progress"],
        out,
    )  # fmt: skip
    assert code == 0, out.getvalue()
    assert "note: -j 1000 runs 1000 lanes (the same report as anywhere) in at most 8 processes" in (
        out.getvalue()
    )
