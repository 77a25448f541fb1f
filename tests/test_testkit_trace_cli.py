"""Traces on disk, replay divergence, the command line and the pytest fixture."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pykka
import pytest

import testkit
from fsm import FSM, Event, State
from testkit import ReplayDivergence, Trace, explore, replay
from testkit._cli import main

from . import buggy_systems as systems

ROOT = Path(__file__).resolve().parent.parent


def found(test: Any = systems.lost_update, seed: int = 1) -> testkit.Report:
    report = explore(test, iterations=50, max_steps=500, strategy="random", seed=seed, shrink=False)
    assert report.bug is not None
    return report


def test_trace_text_has_a_header_and_one_decision_per_line(tmp_path: Path) -> None:
    report = found()
    bug = report.bug
    assert bug is not None
    path = bug.trace.save(tmp_path / "bug.trace")
    lines = path.read_text().splitlines()
    assert lines[0] == "# testkit-trace 2"
    # counted from 1 like the summary: the bug stopped the run in its last iteration
    assert bug.trace.iteration == report.iterations
    assert f"# iteration: {report.iterations}" in lines
    assert f"iteration {report.iterations}, strategy random" in report.summary()
    header = "\n".join(line for line in lines if line.startswith("#"))
    expected = [
        "test: tests.buggy_systems:lost_update",
        "strategy: random",
        "seed: 1",
        "max_steps: 500",
        "versions: python",
        "bug: safety bug in test",
    ]
    for key in expected:
        assert key in header
    steps = [line for line in lines if not line.startswith("#")]
    assert steps[0] == "0 continue test"  # the test function went on after its first start
    assert any(" start Register#1" in line for line in steps)
    assert len(steps) == len(bug.trace)
    assert all(line.split()[0] == str(i) for i, line in enumerate(steps))


def test_saved_trace_loads_and_replays_the_same_bug(tmp_path: Path) -> None:
    bug = found(systems.dropped_request).bug
    assert bug is not None
    path = bug.trace.save(tmp_path / "t.trace")
    loaded = Trace.load(path)
    assert loaded.to_text() == bug.trace.to_text()
    again = replay(systems.dropped_request, path)
    assert again.bug is not None and again.bug.headline() == bug.headline()


def test_an_edited_trace_diverges_with_the_step_number(tmp_path: Path) -> None:
    bug = found().bug
    assert bug is not None
    first_start = next(step for step in bug.trace.steps if step.kind == "start")
    text = bug.trace.to_text()
    edited = text.replace(f"\n{first_start}\n", f"\n{first_start.index} start Ghost#1\n", 1)
    assert edited != text
    path = tmp_path / "edited.trace"
    path.write_text(edited)
    with pytest.raises(
        ReplayDivergence,
        match=rf"divergence at step {first_start.index}: expected "
        rf"{first_start.index} start Ghost#1, got .*Ghost#1 cannot run",
    ):
        replay(systems.lost_update, path)


RUNS = [0]


class Moody(FSM, pykka.ThreadingActor):
    """Sends a different number of messages on every run: uncontrolled nondeterminism."""

    def __init__(self, extra: int) -> None:
        super().__init__()
        self.extra = extra
        self.start_with("on", 0)
        self.when("on", self.on)
        self.initialize()

    def on_start(self) -> None:
        for _ in range(self.extra):
            self.actor_ref.tell("again")
        self.actor_ref.tell("last")

    def on(self, event: Event) -> State:
        assert event.message != "last" or self.extra > 100, "reached the end"
        return self.stay()


def moody(runtime: testkit.Runtime) -> None:
    RUNS[0] += 1
    Moody.start(RUNS[0] % 3)


def test_replay_of_a_program_that_changed_reports_the_divergence() -> None:
    report = explore(moody, iterations=1, seed=1)
    assert report.bug is not None
    with pytest.raises(ReplayDivergence) as info:
        replay(moody, report.bug.trace)
    message = str(info.value)
    assert message.startswith(f"divergence at step {info.value.step}: expected ")
    assert ", got " in message and "randomness or time" in message


def test_loading_something_that_is_not_a_trace_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    with pytest.raises(testkit.TestkitError, match="is not a testkit trace"):
        Trace.load(junk)
    with pytest.raises(testkit.TestkitError, match="cannot read trace"):
        Trace.load(tmp_path / "missing.trace")
    bad = tmp_path / "bad.trace"
    bad.write_text("# testkit-trace 1\n0 start A#1\n2 deliver A#1 str 'x'\n")
    with pytest.raises(testkit.TestkitError, match="line 3: expected step 1, got step 2"):
        Trace.load(bad)
    bad.write_text("# testkit-trace 1\n0 random A#1 random_int(3)\n")
    with pytest.raises(testkit.TestkitError, match="a random step needs"):
        Trace.load(bad)


def test_cli_test_finds_the_bug_writes_the_trace_and_prints_the_replay_command(
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    trace_path = tmp_path / "cli.trace"
    code = main(
        ["test", "tests.buggy_systems:dropped_request", "-i", "50", "--max-steps", "500",
         "-s", "pct", "--seed", "2", "--trace-out", str(trace_path)],
        out,
    )  # fmt: skip
    text = out.getvalue()
    assert code == 1, text
    assert "liveness bug in Outstanding" in text
    assert f"trace written to {trace_path}" in text
    assert f"python -m testkit replay tests.buggy_systems:dropped_request {trace_path}" in text
    out = io.StringIO()
    code = main(["replay", "tests.buggy_systems:dropped_request", str(trace_path)], out)
    assert code == 1
    assert "reproduced the bug" in out.getvalue()


def test_cli_exit_codes_for_no_bug_and_for_bad_input() -> None:
    out = io.StringIO()
    assert main(["test", "tests.buggy_systems:lost_update_fixed", "-i", "20"], out) == 0
    assert "no bug found" in out.getvalue()
    for target, message in [
        ("tests.buggy_systems", "expected MODULE:FUNCTION"),
        ("no_such_module_xyz:run", "cannot import module 'no_such_module_xyz'"),
        ("tests.buggy_systems:nothing_here", "has no function 'nothing_here'"),
    ]:
        out = io.StringIO()
        assert main(["test", target], out) == 2
        assert message in out.getvalue()
    out = io.StringIO()
    assert main(["test", "tests.buggy_systems:lost_update", "-s", "nope"], out) == 2
    assert "unknown strategy 'nope'" in out.getvalue()


def test_python_dash_m_testkit_runs_as_a_program(tmp_path: Path) -> None:
    trace_path = tmp_path / "m.trace"
    result = subprocess.run(
        [sys.executable, "-m", "testkit", "test", "tests.buggy_systems:timer_race",
         "-i", "20", "--seed", "1", "--trace-out", str(trace_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the oven beeped 'done'" in result.stdout
    assert "shrunk from 9 to 8 steps" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "testkit", "replay", "tests.buggy_systems:timer_race",
         str(tmp_path / "m.original.trace"), "-v"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "reproduced the bug" in result.stdout
    assert "testkit.replay: 0 continue test" in result.stderr  # step by step
    assert "start Oven#1" in result.stderr


def test_progress_bar_shows_iterations_rate_and_bugs() -> None:
    from testkit import Progress
    from testkit._reporting.progress import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(stream, enabled=True)
    bar(Progress(iteration=50, iterations=200, bugs=0, elapsed=0.5))
    bar(Progress(iteration=200, iterations=200, bugs=1, elapsed=2.0))
    bar.close()
    text = stream.getvalue()
    assert "50/200 iterations" in text and "100 it/s" in text and "bugs: 0" in text
    assert "200/200 iterations" in text and "bugs: 1" in text and text.endswith("\n")
    quiet = io.StringIO()
    ProgressBar(quiet, enabled=False)(Progress(1, 2, 0, 0.1))
    assert quiet.getvalue() == ""
    log = io.StringIO()  # not a terminal: a plain line every 5 s, and at the end
    lines = ProgressBar(log, enabled=True, lines=True)
    for second in range(12):
        lines(Progress(second + 1, 12, 0, float(second)))
    assert log.getvalue().splitlines() == [
        "progress: 5/12 iterations  1 it/s  bugs: 0",
        "progress: 10/12 iterations  1 it/s  bugs: 0",
        "progress: 12/12 iterations  1 it/s  bugs: 0",
    ]
