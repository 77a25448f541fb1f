"""Golden files: for a fixed set of tests, seeds and strategies, what `explore` reports (its
counts, the bugs with their found and shrunk traces, the coverage) and what a sequence diagram
draws stay exactly as recorded. A refactoring of the tester must leave these files untouched.

Regenerate them (only for a deliberate change of behaviour) with
`TESTKIT_REGOLD=1 python -m pytest tests/test_golden_reports.py`, and say why in the commit.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import testkit

GOLDEN = Path(__file__).parent / "golden"

CASES: list[tuple[str, str, str, int, int, int]] = [
    # (id, module:function, strategy, seed, iterations, max_steps)
    ("coffee", "failover_examples.coffee_machine:execute", "portfolio", 3, 100, 2000),
    ("coffee_fixed", "failover_examples.coffee_machine:execute_fixed", "random", 1, 30, 2000),
    ("robot", "failover_examples.drinks_robot:execute", "fair-pct", 2, 100, 2000),
    ("robot_fixed", "failover_examples.drinks_robot:execute_fixed", "pct", 1, 30, 2000),
    ("raft", "bench.bugs.raft_election:buggy", "pct", 1, 300, 2000),
    ("two_phase", "bench.bugs.two_phase_commit:buggy", "pos", 1, 300, 2000),
    ("primary_backup", "bench.bugs.primary_backup:buggy", "prioritization", 1, 300, 2000),
    ("lost_wakeup", "bench.bugs.lost_wakeup:buggy", "fair-pct", 1, 300, 2000),
    ("lease_fixed", "bench.bugs.lease_lock:fixed", "probabilistic", 1, 20, 2000),
    ("lost_update", "tests.buggy_systems:lost_update", "random", 1, 100, 500),
    ("timer_race", "tests.buggy_systems:timer_race", "dfs", 1, 200, 500),
    ("dropped_request", "tests.buggy_systems:dropped_request", "rl", 1, 100, 500),
    ("never_served", "tests.buggy_systems:never_served", "fair-pos", 1, 5, 400),
]


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def _function(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _lines(trace_text: str) -> list[str]:
    """A trace's lines but its `# versions:` header (CI runs the suite on two pykka versions)."""
    return [line for line in trace_text.splitlines() if not line.startswith("# versions:")]


def _facts(report: testkit.Report) -> dict[str, Any]:
    """Everything a report says that does not depend on the machine's speed."""
    bugs = []
    for bug in report.bugs:
        bugs.append(
            {
                "headline": bug.headline(),
                "count": bug.count,
                "events": bug.events,
                "logs": bug.logs,
                "trace": _lines(bug.trace.to_text()),
                "original_trace": _lines(bug.original_trace.to_text()),
            }
        )
    return {
        "test": report.test,
        "strategy": report.strategy,
        "seed": report.seed,
        "iterations": report.iterations,
        "buggy_iterations": report.buggy_iterations,
        "schedules": report.schedules,
        "steps": report.steps,
        "bound_reached": report.bound_reached,
        "exhausted": report.exhausted,
        "warnings": report.warnings,
        "bugs": bugs,
        "coverage": report.coverage.summary().splitlines(),
        "mermaid": report.coverage.to_mermaid().splitlines(),
    }


def _check(name: str, facts: Any) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(facts, indent=1, sort_keys=True) + "\n"
    if os.environ.get("TESTKIT_REGOLD"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"{path} is missing; generate it with TESTKIT_REGOLD=1"
    assert json.loads(text) == json.loads(path.read_text()), f"{name} differs from {path}"


@pytest.mark.parametrize(
    ("name", "target", "strategy", "seed", "iterations", "max_steps"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_exploration_reports_as_recorded(
    name: str, target: str, strategy: str, seed: int, iterations: int, max_steps: int
) -> None:
    report = testkit.explore(
        _function(target),
        iterations,
        max_steps,
        strategy,
        seed,
        progress=False,
        workers=1,
        shrink_budget=600.0,  # never reached: a budget cut short by load would change the traces
    )
    _check(name, _facts(report))


def test_all_bugs_report_as_recorded() -> None:
    report = testkit.explore(
        _function("tests.buggy_systems:lost_update"),
        60,
        500,
        "random",
        4,
        progress=False,
        stop_at_first_bug=False,
        shrink=False,
    )
    _check("lost_update_all_bugs", _facts(report))


def _coffee_trace() -> testkit.Trace:
    """The shrunk coffee-machine trace the golden exploration found."""
    lines = json.loads((GOLDEN / "coffee.json").read_text())["bugs"][0]["trace"]
    return testkit.Trace.from_text("\n".join(lines) + "\n")


def test_sequence_diagram_as_recorded() -> None:
    test = _function("failover_examples.coffee_machine:execute")
    trace = _coffee_trace()
    mermaid = testkit.sequence_diagram(test, trace, format="mermaid")
    _check("coffee_sequence", mermaid.splitlines())


def test_replay_reports_as_recorded() -> None:
    test = _function("failover_examples.coffee_machine:execute")
    report = testkit.replay(test, _coffee_trace())
    _check("coffee_replay", _facts(report))
