"""The failover examples: each seeded bug is found and replays; each fix survives 1,000 runs."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pykka
import pytest

from failover_examples import coffee_machine, drinks_robot
from failover_examples.actors import use_pool
from failover_examples.coffee_machine.machine import CoffeeMachine, FixedCoffeeMachine
from failover_examples.console import run_example
from testkit import explore, replay
from testkit._cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [1, 2, 3, 4, 5]
HOPPER = "Please do not turn on grinder if there are no beans in the hopper"

# Measured with the portfolio strategy over seeds 1-10: the coffee-machine bug in 1-3
# iterations (median 1.5), the robot's in 1-20 (median 3); the bound leaves a wide margin.
BOUND = 50


@pytest.mark.parametrize("seed", SEEDS)
def test_coffee_machine_hopper_bug_is_found_and_replays(seed: int) -> None:
    report = explore(coffee_machine.execute, BOUND, 2000, strategy="portfolio", seed=seed)
    bug = report.bug
    assert bug is not None, f"not found in {BOUND} iterations with seed {seed}"
    assert (bug.kind, bug.actor) == ("safety", "MockSensors#1")
    assert bug.message == f"AssertionError: {HOPPER}"
    # the second machine instance read a negative hopper level and went on grinding
    assert any("HopperLevel(percent=-" in event for event in bug.events["CoffeeMachine#2"])
    again = replay(coffee_machine.execute, bug.trace)
    assert again.bug is not None and again.bug.headline() == bug.headline()


@pytest.mark.parametrize("seed", SEEDS)
def test_drinks_robot_liveness_bug_is_found_and_replays(seed: int) -> None:
    report = explore(drinks_robot.execute, BOUND, 2000, strategy="portfolio", seed=seed)
    bug = report.bug
    assert bug is not None, f"not found in {BOUND} iterations with seed {seed}"
    assert (bug.kind, bug.actor, bug.state) == ("liveness", "LivenessMonitor", "Busy")
    assert "hot state 'Busy'" in bug.message
    # the new Navigator registered while the Robot was on its way with a stale pending flag
    robot_events = bug.events["Robot#1"]
    assert "RegisterNavigator" in robot_events[-1] and "MOVING_ON_ROUTE" in robot_events[-1]
    again = replay(drinks_robot.execute, bug.trace)
    assert again.bug is not None and again.bug.headline() == bug.headline()


@pytest.mark.parametrize(
    ("test", "strategy"),
    [
        (coffee_machine.execute_fixed, "portfolio"),
        (coffee_machine.execute_fixed, "pct"),
        (drinks_robot.execute_fixed, "portfolio"),
        (drinks_robot.execute_fixed, "prioritization"),
    ],
    ids=["coffee-portfolio", "coffee-pct", "robot-portfolio", "robot-prioritization"],
)
def test_fixed_variants_survive_a_thousand_iterations(test, strategy: str) -> None:  # type: ignore[no-untyped-def]
    report = explore(test, iterations=1000, max_steps=2000, strategy=strategy, seed=11)
    assert report.bug is None, report.bug and report.summary()
    assert report.iterations == 1000


def test_fixed_machine_differs_only_in_the_hopper_check() -> None:
    assert CoffeeMachine.out_of_beans(None, -5.0) is False  # type: ignore[arg-type]
    assert FixedCoffeeMachine.out_of_beans(None, -5.0) is True  # type: ignore[arg-type]
    assert CoffeeMachine.out_of_beans(None, 0.4) is True  # type: ignore[arg-type]


def test_cli_finds_the_hopper_bug_as_the_readme_says(tmp_path: Path) -> None:
    out = io.StringIO()
    trace = tmp_path / "coffee.trace"
    code = cli_main(
        ["test", "failover_examples.coffee_machine:execute", "-i", "100", "--max-steps",
         "2000", "--seed", "1", "--trace-out", str(trace)],
        out,
    )  # fmt: skip
    assert code == 1
    assert HOPPER in out.getvalue()
    out = io.StringIO()
    assert cli_main(["replay", "failover_examples.coffee_machine:execute", str(trace)], out)
    assert "reproduced the bug" in out.getvalue()


def test_cli_finds_the_robot_liveness_bug() -> None:
    out = io.StringIO()
    code = cli_main(
        ["test", "failover_examples.drinks_robot:execute", "-i", "100", "--max-steps", "2000",
         "--seed", "1", "--trace-out", "/dev/null"],
        out,
    )  # fmt: skip
    assert code == 1
    assert "liveness bug in LivenessMonitor in state 'Busy'" in out.getvalue()


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("failover_examples.coffee_machine", "<CoffeeMachine> checking initial state of sensors"),
        ("failover_examples.drinks_robot", "<Robot> Asked for a new Drink Order"),
    ],
)
@pytest.mark.parametrize("flags", [[], ["--pooled"]], ids=["threads", "pooled"])
def test_production_mode_runs_on_threads_and_stops_cleanly(
    module: str, expected: str, flags: list[str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--duration", "2", *flags],
        cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert "Traceback" not in result.stderr


def test_production_mode_leaves_no_thread_behind(capsys: pytest.CaptureFixture[str]) -> None:
    before = {thread.name for thread in threading.enumerate()}

    def start(args):  # type: ignore[no-untyped-def]
        return drinks_robot.FailoverDriver.start(run_forever=True)

    assert run_example("robot", start, ["--duration", "1"]) == 0
    assert "<Robot>" in capsys.readouterr().out
    deadline = time.monotonic() + 5  # the shared timer thread ends after 1 s without timers
    while time.monotonic() < deadline:
        left = {thread.name for thread in threading.enumerate()} - before
        if not left:
            break
        time.sleep(0.1)
    assert not left


def test_pooled_production_mode_runs_the_actors_on_the_pool(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: dict[str, Any] = {}

    def start(args):  # type: ignore[no-untyped-def]
        driver = drinks_robot.FailoverDriver.start(run_forever=True)
        seen["inbox"] = type(driver.actor_inbox).__name__
        time.sleep(0.3)  # the driver starts the robot, navigator and services meanwhile
        seen["actors"] = len(pykka.ActorRegistry.get_all())
        seen["threads"] = actor_threads()
        return driver

    def actor_threads() -> set[str]:  # a thread of the examples' own is named after its class
        names = {"FailoverDriver", "Robot", "Navigator", "MockStorage", "MockCognitiveService"}
        return {t.name for t in threading.enumerate() if t.name.split("-")[0] in names}

    try:
        assert run_example("robot", start, ["--duration", "1", "--pooled"]) == 0
    finally:
        use_pool(False)
    assert "<Robot> Asked for a new Drink Order" in capsys.readouterr().out
    assert seen["inbox"] == "PoolInbox"
    assert seen["actors"] >= 4 and not seen["threads"]
