"""Shrinking: shorter traces that replay to the same bug, deterministically, within budget."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import testkit
from failover_examples import coffee_machine, drinks_robot
from testkit import TestkitError, Trace, explore, replay, shrink
from testkit._cli import main
from testkit._engine.iteration import run_once
from testkit._engine.sandbox import Sandbox
from testkit._shrinking.lenient import LenientStrategy
from testkit._shrinking.shrinker import same_bug
from testkit._shrinking.units import Unit, units_of
from tests import buggy_systems as systems

SEEDED: list[tuple[Callable[..., Any], int]] = [
    (systems.lost_update, 500),
    (systems.timer_race, 500),
    (systems.dropped_request, 500),
    (systems.lost_on_restart, 500),
    (systems.never_served, 300),
    (coffee_machine.execute, 2000),
    (drinks_robot.execute, 2000),
]


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    logging.disable(logging.CRITICAL)  # the failover examples log every failover
    yield
    logging.disable(logging.NOTSET)


def found(
    test: Callable[..., Any], max_steps: int, seed: int = 1, strategy: str = "portfolio"
) -> testkit.Bug:
    report = explore(
        test, iterations=300, max_steps=max_steps, seed=seed, shrink=False, strategy=strategy
    )
    assert report.bug is not None
    return report.bug


@pytest.mark.parametrize(("test", "max_steps"), SEEDED, ids=lambda v: getattr(v, "__name__", v))
def test_shrunk_traces_are_no_longer_and_replay_to_the_same_bug(
    test: Callable[..., Any], max_steps: int
) -> None:
    bug = found(test, max_steps)
    small = shrink(test, bug.trace)
    assert len(small) <= len(bug.trace)
    again = replay(test, small).bug  # strictly: every step as recorded
    assert again is not None and same_bug(bug, again)
    assert (again.kind, again.signature[1]) == (bug.kind, bug.signature[1])
    if bug.kind != "liveness":  # a liveness bug's step counts may change
        assert again.message == bug.message
    assert shrink(test, bug.trace).to_text() == small.to_text()  # deterministic


def test_the_failover_examples_shrink_a_lot() -> None:
    bug = found(coffee_machine.execute, 2000, seed=5, strategy="fair-pct")  # a long one
    small = shrink(coffee_machine.execute, bug.trace)
    assert len(bug.trace) > 400 and len(small) < len(bug.trace) // 3


def test_lenient_replay_falls_back_instead_of_diverging() -> None:
    bug = found(systems.lost_update, 500)
    units = units_of(bug.trace.steps)
    impossible = [Unit("Nobody#7", (5,)), *units[3:]]  # no such actor; a value too large
    strategy = LenientStrategy(impossible, fair=True, name="lenient")
    with Sandbox(None) as sandbox:
        runtime, _ = run_once(systems.lost_update, strategy, 500, 250, sandbox, 20, _rng())
    assert runtime.steps > 0 and strategy.choices[0] == 0  # the first enabled operation ran
    # and a strict replay of the same candidate diverges at once
    text = bug.trace.to_text()  # whatever step 0 is (it depends on the strategy that found it)
    first = next(line for line in text.splitlines() if line.startswith("0 "))
    mangled = text.replace(first, "0 start Nobody#7", 1)
    with pytest.raises(testkit.ReplayDivergence, match="divergence at step 0"):
        replay(systems.lost_update, Trace.from_text(mangled))


def _rng() -> Any:
    import random

    return random.Random(0)


def test_a_tiny_budget_still_returns_a_trace_that_replays() -> None:
    bug = found(coffee_machine.execute, 2000, seed=1)
    small = shrink(coffee_machine.execute, bug.trace, time_budget=1e-9)
    assert len(small) <= len(bug.trace)
    again = replay(coffee_machine.execute, small).bug
    assert again is not None and again.message == bug.message


def test_explore_shrinks_by_default_and_keeps_the_original() -> None:
    report = explore(coffee_machine.execute, iterations=50, max_steps=2000, seed=1)
    bug = report.bug
    assert bug is not None and bug.original_trace is not None
    assert len(bug.trace) < len(bug.original_trace)
    assert bug.step == len(bug.trace) - 1  # the report describes the shrunk run
    assert f"{len(bug.trace)} steps (shrunk from {len(bug.original_trace)})" in report.summary()
    assert bug.trace.bug == testkit._engine.trace.bug_line(bug.headline())
    plain = explore(coffee_machine.execute, iterations=50, max_steps=2000, seed=1, shrink=False)
    assert plain.bug is not None and plain.bug.original_trace is plain.bug.trace
    assert plain.bug.trace.to_text() == bug.original_trace.to_text()


def test_explore_shrinks_every_distinct_bug_kept() -> None:
    report = explore(
        systems.lost_on_restart, iterations=40, max_steps=500, seed=2, stop_at_first_bug=False
    )
    assert report.bugs
    for bug in report.bugs:
        assert bug.original_trace is not None and len(bug.trace) <= len(bug.original_trace)
        assert replay(systems.lost_on_restart, bug.trace).bug is not None


@pytest.mark.parametrize("budget", [0, -1.0, "5", True])
def test_bad_budgets_are_clear_errors(budget: Any) -> None:
    bug = found(systems.lost_update, 500)
    with pytest.raises(TestkitError, match="time_budget must be a number of seconds > 0"):
        shrink(systems.lost_update, bug.trace, time_budget=budget)
    with pytest.raises(TestkitError, match="shrink_budget"):
        explore(systems.lost_update, iterations=1, shrink_budget=budget)
    with pytest.raises(TestkitError, match=r"shrink=\.\.\.\) must be True or False"):
        explore(systems.lost_update, iterations=1, shrink="yes")  # type: ignore[arg-type]


def test_a_trace_without_a_bug_or_of_another_test_is_refused(tmp_path: Path) -> None:
    bug = found(systems.lost_update, 500)
    with pytest.raises(TestkitError, match=r"recorded for tests\.buggy_systems:lost_update"):
        shrink(systems.timer_race, bug.trace)
    fixed = Trace.from_text(bug.trace.to_text().replace(":lost_update", ":lost_update_fixed"))
    with pytest.raises(TestkitError, match="cannot shrink this trace: it does not replay"):
        shrink(systems.lost_update_fixed, fixed)
    with pytest.raises(TestkitError, match="cannot read trace"):
        shrink(systems.lost_update, tmp_path / "missing.trace")


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_cli_shrink_writes_the_shrunk_trace_and_prints_both_lengths(tmp_path: Path) -> None:
    target = "failover_examples.coffee_machine:execute"
    bug = found(coffee_machine.execute, 2000, seed=1)
    path = bug.trace.save(tmp_path / "bug.trace")
    code, text = run_cli("shrink", target, str(path))
    assert code == 1, text
    written = tmp_path / "bug.shrunk.trace"
    small = Trace.load(written)
    assert f"shrunk from {len(bug.trace)} to {len(small)} steps" in text
    assert f"original trace: {path}" in text and f"written to {written}" in text
    out = tmp_path / "out" / "small.trace"
    assert run_cli("shrink", target, str(path), "-o", str(out))[0] == 1
    assert out.read_text() == written.read_text()


def test_cli_shrink_bad_input_exits_2(tmp_path: Path) -> None:
    target = "tests.buggy_systems:lost_update"
    code, text = run_cli("shrink", target, str(tmp_path / "missing.trace"))
    assert code == 2 and text.startswith("error: cannot read trace")
    path = found(systems.lost_update, 500).trace.save(tmp_path / "x.trace")
    code, text = run_cli("shrink", "tests.buggy_systems:timer_race", str(path))
    assert code == 2 and "recorded for tests.buggy_systems:lost_update" in text
    other = path.read_text().replace(":lost_update", ":lost_update_fixed")
    (tmp_path / "fixed.trace").write_text(other)
    code, text = run_cli("shrink", f"{target}_fixed", str(tmp_path / "fixed.trace"))
    assert code == 2 and "cannot shrink this trace" in text, text
    with pytest.raises(SystemExit) as exit_info:
        run_cli("shrink", target, str(path), "--timeout", "0")
    assert exit_info.value.code == 2


def test_cli_test_saves_shrunk_and_original_or_only_the_found_one(tmp_path: Path) -> None:
    args = ("test", "tests.buggy_systems:lost_on_restart", "-i", "50", "--seed", "2", "-j", "1")
    code, text = run_cli(*args, "--trace-out", str(tmp_path / "a" / "bug.trace"))
    assert code == 1 and "shrunk from " in text, text
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "bug.html",  # the sequence diagram of the shrunk trace
        "bug.original.trace",
        "bug.trace",
    ]
    code, text = run_cli(*args, "--no-shrink", "--trace-out", str(tmp_path / "b" / "bug.trace"))
    assert code == 1 and "shrunk from" not in text
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["bug.html", "bug.trace"]


def test_workers_shrink_in_the_parent_to_the_same_trace_as_one_process() -> None:
    arguments: dict[str, Any] = {
        "iterations": 20,
        "max_steps": 2000,
        "strategy": "random",
        "seed": 1,
    }
    one = explore(coffee_machine.execute, **arguments).bug
    two = explore(coffee_machine.execute, workers=2, **arguments).bug
    assert one is not None and two is not None
    assert two.trace.to_text() == one.trace.to_text()
    assert two.original_trace.to_text() == one.original_trace.to_text()
