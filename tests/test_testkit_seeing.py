"""Seeing a bug: the runtime's observer events, coverage, sequence diagrams, the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import testkit
from failover_examples import coffee_machine
from testkit._cli import main
from testkit._engine.observer import Observer, installed
from testkit._exploration.diagrams import record
from testkit._pictures.sequence_page import page_data
from tests import buggy_systems


@pytest.fixture(scope="module")
def coffee_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The coffee-machine bug's trace, found once for the module."""
    report = testkit.explore(coffee_machine.execute, iterations=20, max_steps=2000, seed=3)
    assert report.bug is not None
    return Path(report.bug.trace.save(tmp_path_factory.mktemp("cm") / "cm.trace"))


class Events(Observer):
    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def sent(self, step: int, sender: Any, receiver: Any, envelope: Any) -> None:
        self.seen.append(("sent", str(sender), str(receiver), type(envelope.message).__name__))

    def delivered(self, step: int, receiver: Any, envelope: Any, before: Any, after: Any) -> None:
        states = (getattr(before, "state_name", None), getattr(after, "state_name", None))
        self.seen.append(("delivered", str(receiver), type(envelope.message).__name__, states))

    def started(self, step: int, mailbox: Any) -> None:
        self.seen.append(("started", str(mailbox)))

    def stopped(self, step: int, mailbox: Any) -> None:
        self.seen.append(("stopped", str(mailbox)))

    def timer_set(self, step: int, mailbox: Any, entry: Any) -> None:
        self.seen.append(("timer_set", str(mailbox)))

    def timer_fired(self, step: int, mailbox: Any, entry: Any) -> None:
        self.seen.append(("timer_fired", str(mailbox)))

    def timer_cancelled(self, step: int, mailbox: Any, entry: Any) -> None:
        self.seen.append(("timer_cancelled", str(mailbox)))

    def random(self, step: int, owner: Any, choice: Any) -> None:
        self.seen.append(("random", str(owner), choice.describe()))

    def monitor_event(
        self, step: int, sender: Any, monitor: Any, event: Any, b: Any, a: Any
    ) -> None:
        self.seen.append(("monitor", str(sender), type(monitor).__name__, a.state_name))

    def failed(self, step: int, bug: Any) -> None:
        self.seen.append(("failed", step, bug.kind))


def test_observer_sees_senders_states_timers_randoms_monitors_and_the_bug(
    coffee_trace: Path,
) -> None:
    events = Events()
    with installed(events):
        testkit.replay(coffee_machine.execute, coffee_trace)
    kinds = {e[0] for e in events.seen}
    assert kinds >= {
        "sent",
        "delivered",
        "started",
        "timer_set",
        "timer_fired",
        "random",
        "monitor",
        "failed",
    }
    # the test function sends StartTest; timers send their ticks from the actor's timer queue
    assert ("sent", "test", "FailoverDriver#1", "StartTest") in events.seen
    assert any(e[:2] == ("sent", "MockSensors#1/timers") for e in events.seen)
    transitions = [e for e in events.seen if e[0] == "delivered" and e[1] == "CoffeeMachine#1"]
    assert any(s[0] != s[1] for *_, s in transitions)  # states before/after known
    last = len(testkit.Trace.load(coffee_trace)) - 1  # the (shrunk) trace ends at the bug
    assert events.seen[-1] == ("failed", last, "safety")


def test_no_observer_installed_means_none_on_the_runtime() -> None:
    seen: list[Any] = []
    testkit.explore(lambda runtime: seen.append(runtime.observer), iterations=1, coverage=False)
    assert seen == [None]


def test_coverage_counts_states_transitions_and_events() -> None:
    report_cm = testkit.explore(coffee_machine.execute_fixed, iterations=5, max_steps=2000, seed=1)
    machine = report_cm.coverage["FixedCoffeeMachine"]
    assert machine.kind == "FSM" and machine.initial == "MachineState.CHECK_SENSORS"
    assert "MachineState.REFILL_REQUIRED" in machine.declared
    assert machine.states["MachineState.CHECK_SENSORS"] >= 10  # two machines per iteration
    assert machine.transitions[("MachineState.CHECK_SENSORS", "MachineState.HEATING_WATER")] > 0
    assert machine.events[("MachineState.READY", "MakeCoffee")] > 0
    monitor = report_cm.coverage["LivenessMonitor"]
    assert monitor.kind == "monitor" and "'Busy'" in monitor.hot
    assert re.fullmatch(
        r"FixedCoffeeMachine: \d+/7 states, \d+ transitions, \d+ events", machine.summary()
    )
    assert "coverage:" in report_cm.summary()
    with pytest.raises(KeyError, match="covered classes"):
        report_cm.coverage["Nope"]


def test_coverage_merges_over_workers() -> None:
    one = testkit.explore(
        coffee_machine.execute_fixed, iterations=8, max_steps=2000, seed=2, strategy="random"
    )
    two = testkit.explore(
        coffee_machine.execute_fixed,
        iterations=8,
        max_steps=2000,
        seed=2,
        strategy="random",
        workers=2,
    )
    a, b = one.coverage["FixedCoffeeMachine"], two.coverage["FixedCoffeeMachine"]
    assert a.states == b.states and a.transitions == b.transitions and a.events == b.events


def test_coverage_text_diagrams_mark_unreached_states() -> None:
    report = testkit.explore(coffee_machine.execute_fixed, iterations=2, max_steps=2000, seed=1)
    coverage = report.coverage
    mermaid = coverage.to_mermaid("FixedCoffeeMachine")
    assert mermaid.splitlines()[1] == "stateDiagram-v2"
    assert "[*] --> s0" in mermaid
    for state in coverage["FixedCoffeeMachine"].unreached:
        assert f'"{state.split(".")[-1]} (never reached)"' in mermaid
    dot = coverage.to_dot()
    assert dot.startswith("digraph coverage {") and dot.rstrip().endswith("}")
    assert dot.count("subgraph cluster_") == len(coverage.machines)
    page = coverage.to_html()
    assert page.count('<section class="machine"') == len(coverage.machines)
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_sequence_diagram_mermaid(coffee_trace: Path) -> None:
    text = testkit.sequence_diagram(coffee_machine.execute, coffee_trace, format="mermaid")
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert "    actor P0 as test" in lines
    assert "    participant P3 as CoffeeMachine#35;1" in lines
    assert any(re.fullmatch(r"    P0->>P1: \d+: StartTest", line) for line in lines)
    assert "    rect rgb(255, 215, 215)" in lines
    assert any("quiet events" in line for line in lines)
    assert any("(hot)" in line for line in lines)


def test_sequence_diagram_html_is_self_contained(coffee_trace: Path) -> None:
    page = testkit.sequence_diagram(coffee_machine.execute, coffee_trace)
    assert page.startswith("<!DOCTYPE html>")
    assert "src=" not in page and "href=" not in page and "https://" not in page
    data = json.loads(
        re.search(r'<script type="application/json" id="data">(.*?)</script>', page).group(1)
    )
    assert data["lifelines"][0]["name"] == "test"
    assert data["bug_step"] == len(testkit.Trace.load(coffee_trace)) - 1
    flat = [r for item in data["items"] for r in (item if isinstance(item, list) else [item])]
    assert any(r["k"] == "bug" for r in flat)
    assert any(isinstance(item, list) for item in data["items"])  # quiet stretches folded


def test_sequence_diagram_of_a_trace_that_no_longer_fails_says_so(coffee_trace: Path) -> None:
    trace = testkit.Trace.load(coffee_trace)
    trace.test = "failover_examples.coffee_machine:execute_fixed"
    diagram = record(coffee_machine.execute_fixed, trace, logs=False)
    assert "did not reproduce" in diagram.note and diagram.rows
    assert page_data(diagram)["bug_step"] == -1


def test_sequence_diagram_bad_input(coffee_trace: Path, tmp_path: Path) -> None:
    with pytest.raises(testkit.TestkitError, match="format must be one of 'html', 'mermaid'"):
        testkit.sequence_diagram(coffee_machine.execute, coffee_trace, format="svg")
    with pytest.raises(testkit.TestkitError, match="cannot read trace"):
        testkit.sequence_diagram(coffee_machine.execute, tmp_path / "missing.trace")
    with pytest.raises(
        testkit.TestkitError, match=r"recorded for failover_examples\.coffee_machine:execute"
    ):
        testkit.sequence_diagram(buggy_systems.lost_update, coffee_trace)
    with pytest.raises(testkit.TestkitError, match="trace must be a Trace"):
        testkit.sequence_diagram(coffee_machine.execute, 42)  # type: ignore[arg-type]


def test_cli_show_and_coverage(
    coffee_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = "failover_examples.coffee_machine:execute"
    out = tmp_path / "seq.html"
    assert main(["show", target, str(coffee_trace), "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert main(["show", target, str(coffee_trace), "--mermaid"]) == 0
    assert "sequenceDiagram" in capsys.readouterr().out
    assert main(["show", target, str(tmp_path / "nope.trace")]) == 2
    assert "cannot read trace" in capsys.readouterr().out
    cov = tmp_path / "cov.html"
    traces = tmp_path / "traces"
    code = main(
        [
            "test",
            target,
            "-i",
            "20",
            "--max-steps",
            "2000",
            "--seed",
            "3",
            "-j",
            "1",
            "--no-progress",
            "--coverage",
            str(cov),
            "--trace-out",
            str(traces / "bug.trace"),
        ]
    )
    assert code == 1
    printed = capsys.readouterr().out
    assert f"coverage written to {cov}" in printed and "CoffeeMachine" in cov.read_text()
    assert f"sequence diagram written to {traces / 'bug.html'}" in printed
    assert (traces / "bug.html").exists()
    assert main(["test", target, "-i", "1", "--coverage", str(tmp_path)]) == 2
