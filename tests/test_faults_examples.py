"""Systems whose bug needs a declared fault: the failover examples' declared variants and the
benchmark's fault bugs are found (by the default portfolio) and replay; their fixed variants
survive the same faults; the pytest marker takes `faults=`."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import testkit
from bench.bugs import FAULT_SYSTEMS
from failover_examples import coffee_machine, drinks_robot, ledger

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_coffee_machine_reboot_is_declared_and_its_bug_found(seed: int) -> None:
    report = testkit.explore(
        coffee_machine.execute_declared, 200, 2000, seed=seed, faults=coffee_machine.FAULTS
    )
    bug = report.bug
    assert bug is not None, f"not found in 200 iterations with seed {seed}"
    assert bug.message.endswith("no beans in the hopper")
    # the restarted instance read the negative level its predecessor left and went on
    assert any("HopperLevel(percent=-" in event for event in bug.events["CoffeeMachine#2"])
    assert any(step.kind == "fault" and step.actor == "crash" for step in bug.trace.steps)
    again = testkit.replay(coffee_machine.execute_declared, bug.trace)
    assert again.bug is not None and again.bug.headline() == bug.headline()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_navigator_crash_is_declared_and_the_robot_bug_found(seed: int) -> None:
    report = testkit.explore(
        drinks_robot.execute_declared, 300, 2000, seed=seed, faults=drinks_robot.FAULTS
    )
    bug = report.bug
    assert bug is not None, f"not found in 300 iterations with seed {seed}"
    assert (bug.kind, bug.actor, bug.state) == ("liveness", "LivenessMonitor", "Busy")
    robot = bug.events["SupervisedRobot#1"]
    assert "RegisterNavigator" in robot[-1] and "MOVING_ON_ROUTE" in robot[-1]
    again = testkit.replay(drinks_robot.execute_declared, bug.trace)
    assert again.bug is not None and again.bug.headline() == bug.headline()


@pytest.mark.parametrize("seed", [1, 2])
def test_the_ledger_crash_is_declared_and_the_write_behind_bug_found(seed: int) -> None:
    report = testkit.explore(ledger.execute_declared, 200, 2000, seed=seed, faults=ledger.FAULTS)
    bug = report.bug
    assert bug is not None, f"not found in 200 iterations with seed {seed}"
    assert (bug.kind, bug.actor) == ("safety", "LedgerSafety")
    assert any(step.kind == "fault" and step.actor == "crash" for step in bug.trace.steps)
    again = testkit.replay(ledger.execute_declared, bug.trace)
    assert again.bug is not None and again.bug.headline() == bug.headline()


@pytest.mark.parametrize(
    ("test", "faults", "iterations"),
    [
        (coffee_machine.execute_declared_fixed, coffee_machine.FAULTS, 150),
        (drinks_robot.execute_declared_fixed, drinks_robot.FAULTS, 1000),
        (ledger.execute_declared_fixed, ledger.FAULTS, 500),
    ],
    ids=["coffee", "robot", "ledger"],
)
def test_the_fixed_variants_survive_their_declared_faults(
    test: testkit.Runtime, faults: testkit.Faults, iterations: int
) -> None:
    report = testkit.explore(test, iterations, 2000, seed=5, faults=faults)  # type: ignore[arg-type]
    assert report.bug is None, report.summary()
    assert report.faults.injected["crash"] > iterations // 2


@pytest.mark.parametrize("system", FAULT_SYSTEMS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fault_bugs_are_found_by_the_default_portfolio(system: str, seed: int) -> None:
    module = importlib.import_module(f"bench.bugs.{system}")
    report = testkit.explore(
        module.buggy, 3000, 2000, seed=seed, faults=module.FAULTS, shrink=False
    )
    assert report.bug is not None, f"{system}: not found with seed {seed}"


@pytest.mark.parametrize("system", FAULT_SYSTEMS)
def test_fault_bugs_need_their_faults_and_fixed_variants_survive_them(system: str) -> None:
    module = importlib.import_module(f"bench.bugs.{system}")
    without = testkit.explore(module.buggy, 300, 2000, seed=1, shrink=False)
    assert without.bug is None, f"{system}: found without faults: {without.bug}"
    fixed = testkit.explore(module.fixed, 300, 2000, seed=1, faults=module.FAULTS)
    assert fixed.bug is None, fixed.summary()


def test_the_pytest_marker_takes_faults(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert(ROOT)
    pytester.makepyfile(
        """
        import pytest
        from bench.bugs import split_leader

        @pytest.mark.testkit(faults="partition=Leader,Client|Standby;budget=1", max_steps=500)
        def test_split(explore):
            explore(split_leader.buggy, iterations=100, seed=1)
        """
    )
    result = pytester.runpytest("-p", "testkit.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*two leaders at once*"])


def test_a_marker_with_faults_that_do_not_parse_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.testkit(faults="partition=Leader|Standby;budget=x")
        def test_bad(explore):
            pass
        """
    )
    result = pytester.runpytest("-p", "testkit.pytest_plugin", "-p", "no:cacheprovider")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*budget must be a whole number, got 'x'*"])
