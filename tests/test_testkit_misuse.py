"""The tester never hangs, never crashes and never passes silently (issue 7).

Each test would fail without the check it names: a hang, a traceback from inside the tester,
or a green run that tested nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import testkit
from testkit import explore
from testkit._cli import main

from . import buggy_systems
from . import misbehaving_systems as misbehaving

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = misbehaving.__file__


# ---- the watchdog ----------------------------------------------------------------------


def test_a_handler_that_loops_forever_is_stopped_and_named() -> None:
    started = time.monotonic()
    with pytest.raises(testkit.TestkitError) as caught:
        explore(misbehaving.spinning_handler, iterations=1, seed=1, watchdog=0.5)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "watchdog: Stuck#1 in state 'ready' made no progress for 0.5 s" in message
    assert "while handling 'go'" in message
    assert f"Stuck.ready ({SYSTEMS}:" in message  # the user's own frame
    assert "watchdog=SECONDS" in message  # how to raise the limit


def test_a_handler_blocked_on_a_lock_is_stopped() -> None:
    with pytest.raises(testkit.TestkitError, match="Stuck#1 in state 'ready' made no progress"):
        explore(misbehaving.waiting_handler, iterations=1, seed=1, watchdog=0.5)
    # the tester is usable afterwards
    assert explore(buggy_systems.lost_update_fixed, iterations=3, seed=1).bug is None


def test_a_handler_waiting_on_a_threading_future_nobody_sets_is_a_deadlock_at_once() -> None:
    # issue 25 point 2: the wait is the tester's; when nothing else can run it never ends
    report = explore(misbehaving.future_handler, iterations=1, seed=1, watchdog=None)
    bug = report.bug
    assert bug is not None and bug.kind == "deadlock", report
    assert "Stuck#1 waits for threading (ThreadingFuture.get) since step" in bug.message
    assert "Stuck#1 in state 'ready' is stuck" in bug.message


def test_time_sleep_in_a_handler_is_virtual_time() -> None:
    # issue 25 point 2 (it used to be a TestkitError naming the actor and the line)
    started = time.monotonic()
    report = explore(misbehaving.sleeping_handler, iterations=3, seed=1)
    assert report.bug is None, report
    assert time.monotonic() - started < 60  # not 3 real seconds each: virtual ones


def test_the_watchdog_limit_is_checked() -> None:
    for bad in (0, -1, "10", True):
        with pytest.raises(testkit.TestkitError, match="watchdog"):
            explore(buggy_systems.lost_update_fixed, watchdog=bad)  # type: ignore[arg-type]


def test_a_handler_python_cannot_interrupt_ends_the_process_with_exit_2(tmp_path: Path) -> None:
    # the scheduler runs on a thread that is not the main one, so no signal reaches its wait
    script = tmp_path / "hang.py"
    script.write_text(
        textwrap.dedent(
            """
            import threading
            import testkit
            from tests import misbehaving_systems

            def run():
                testkit.explore(misbehaving_systems.waiting_handler, iterations=1, seed=1,
                                watchdog=0.5)

            thread = threading.Thread(target=run)
            thread.start()
            thread.join()
            print("not reached")
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "testkit: error: watchdog: Stuck#1 in state 'ready' made no progress" in done.stderr
    assert "not reached" not in done.stdout


# ---- Ctrl-C ----------------------------------------------------------------------------


def _interrupt_cli(args: list[str], after: float) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "testkit", *args, "--no-progress"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()  # the banner: the run has started
    time.sleep(after)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - started < 10, "Ctrl-C took too long"
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_ctrl_c_prints_the_partial_report_and_exits_130() -> None:
    done = _interrupt_cli(
        ["test", "tests.buggy_systems:lost_update_fixed", "-i", "100000000", "--seed", "1"], 2.0
    )
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert "interrupted (Ctrl-C): these figures cover the iterations that ran" in done.stdout
    assert "explored " in done.stdout and done.stdout.rstrip().endswith("interrupted")


def test_ctrl_c_while_the_test_function_busy_loops_is_prompt() -> None:
    done = _interrupt_cli(
        ["test", "tests.misbehaving_systems:busy_test", "-i", "1", "--watchdog", "600"], 1.0
    )
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr


def test_explore_raises_interrupted_with_the_report() -> None:
    # in a child process: a test never signals the test runner's own process
    code = textwrap.dedent(
        """
        import testkit
        from tests import buggy_systems
        try:
            testkit.explore(buggy_systems.lost_update_fixed, iterations=10**8, seed=1,
                            progress=lambda p: print("iteration", p.iteration, flush=True))
        except testkit.Interrupted as caught:
            report = caught.report
            print(report.interrupted, report.iterations > 0, report.bug is None)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()  # an iteration ended: the run is under way
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.splitlines()[-1] == "True True True"


# ---- silent passes and wrong verdicts ----------------------------------------------------


@pytest.mark.parametrize(
    ("test", "says"),
    [
        (misbehaving.async_test, "is an async function"),
        (misbehaving.generator_test, "is a generator function"),
        (misbehaving.no_argument_test, "cannot be called with the runtime as its one argument"),
    ],
)
def test_a_test_that_is_not_a_function_of_the_runtime_is_bad_input(
    test: object, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(testkit.TestkitError, match=says):
        explore(test, iterations=1)  # type: ignore[arg-type]
    with pytest.raises(testkit.TestkitError, match=says):
        testkit.replay(test, testkit.Trace([], max_steps=10))  # type: ignore[arg-type]
    name = getattr(test, "__name__", "")
    assert main(["test", f"tests.misbehaving_systems:{name}", "--no-progress"]) == 2
    out = capsys.readouterr().out
    assert says in out and "testing" not in out  # no banner before an error


def test_events_for_an_unregistered_monitor_are_a_warning() -> None:
    report = explore(misbehaving.unregistered_monitor, iterations=3, seed=1)
    assert report.bug is None
    assert any("monitor Untold, which the test never registered" in w for w in report.warnings)
    assert "warning: events were sent to monitor Untold" in report.summary()


def test_every_iteration_cut_off_at_max_steps_is_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["test", "tests.buggy_systems:lost_update_fixed", "--max-steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "warning: every iteration was cut off (at max_steps=1," in out


def test_timers_past_the_end_of_virtual_time_end_the_iteration_with_a_warning() -> None:
    # a 1e9 s repeating timer passes the year 9999 after ~250 ticks: no OverflowError
    report = explore(misbehaving.glacial_timer, iterations=2, max_steps=100_000, seed=1)
    assert report.bug is None and report.bound_reached == 2
    assert report.steps < 2_000  # it ended where time ends, not at max_steps
    assert any("was due past the year 9999" in warning for warning in report.warnings)


def test_dfs_on_a_system_that_never_quiesces_says_why() -> None:
    report = explore(buggy_systems.never_served, iterations=3, max_steps=50, strategy="dfs")
    assert any("dfs cannot exhaust" in warning for warning in report.warnings)


def test_a_thread_the_tester_does_not_control_is_named() -> None:
    errors: list[BaseException] = []

    def tell_from_a_thread(runtime: testkit.Runtime) -> None:
        ref = misbehaving.Stuck.start("none")

        def rogue() -> None:
            try:
                ref.tell("from elsewhere")
            except testkit.TestkitError as exc:
                errors.append(exc)

        thread = threading.Thread(target=rogue, name="rogue")
        thread.start()
        thread.join()
        ref.tell("go")

    with pytest.raises(testkit.TestkitError, match="thread 'rogue', which the tester does not"):
        explore(tell_from_a_thread, iterations=1, seed=1)
    assert len(errors) == 1  # the thread itself got the error too


def test_a_thread_start_a_handler_catches_is_still_the_misuse() -> None:
    # the refusal is an Abort (a BaseException); a handler that swallows it must not make
    # the run pass as if the thread had done its work
    import pykka

    class Careless(pykka.ThreadingActor):
        def on_receive(self, message: object) -> None:
            with contextlib.suppress(BaseException):  # what the test is about
                threading.Thread(target=lambda: None, name="helper").start()

    def careless(runtime: testkit.Runtime) -> None:
        Careless.start().tell("go")

    with pytest.raises(testkit.TestkitError, match=r"started a thread \('helper'\)"):
        explore(careless, iterations=3, seed=1)


# ---- the command line --------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["pct:abc", "pct:-1", "fair-prioritization:x"])
def test_a_bad_strategy_bound_says_so(strategy: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "tests.buggy_systems:lost_update", "-s", strategy]) == 2
    out = capsys.readouterr().out
    assert "must be a whole number >= 0" in out and "unknown strategy" not in out
    assert "testing" not in out


def test_bad_bounds_are_errors_before_the_banner(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "tests.buggy_systems:lost_update", "--timer-delay", "-1"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("error: explore(..., timer_delay=...) must be an integer >= 0")


def test_help_shows_every_option_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["test", "--help"])
    out = capsys.readouterr().out
    expected = (
        "schedules to explore (default: 100)",
        "(default: 10000)",
        "--watchdog",
        "(default: 10.0)",
        "exit codes: 0 no bug found, 1 bug found",
        "130 interrupted",
    )
    for text in expected:
        assert text in " ".join(out.split()), text


def test_all_bugs_groups_them_and_keeps_one_trace_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["-i", "60", "--seed", "2", "-s", "random", "--all-bugs", "--no-progress", "--trace-out"]
    code = main(["test", "tests.buggy_systems:lost_update", *args, str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    # each bug: its shrunk trace, the one found (.original.trace) and an .html diagram
    traces = [p for p in tmp_path.glob("*.trace") if not p.name.endswith(".original.trace")]
    assert len(traces) == 1  # one distinct bug, however many iterations hit it
    report_line = next(line for line in out.splitlines() if "buggy iteration(s)" in line)
    buggy = int(report_line.split()[1])
    assert buggy > 1
    assert traces[0].name.startswith("tests.buggy_systems_lost_update-random-seed2-it")


def test_bugs_with_different_signatures_are_kept_apart() -> None:
    report = testkit.Report("t", "random", 1, 10)
    first = testkit.Bug("safety", "AssertionError: a", "Robot#1")
    assert report.add_bug(first)
    assert not report.add_bug(testkit.Bug("safety", "AssertionError: a", "Robot#2"))
    assert report.add_bug(testkit.Bug("safety", "AssertionError: b", "Robot#1"))
    assert [bug.count for bug in report.bugs] == [2, 1]
    from testkit._reporting import report as _report

    for n in range(_report.MAX_DISTINCT_BUGS + 5):
        report.add_bug(testkit.Bug("exception", f"ValueError: {n}", "A#1"))
    assert len(report.bugs) == _report.MAX_DISTINCT_BUGS  # memory stays bounded
    assert report.untracked_bugs == 7


def test_traces_of_two_runs_do_not_overwrite_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for seed in ("1", "2"):
        args = ["--seed", seed, "--no-progress"]
        assert main(["test", "tests.buggy_systems:lost_update", *args]) == 1
    traces = sorted(path.name for path in (tmp_path / "testkit-traces").glob("*[0-9].trace"))
    assert len(traces) == 2
    assert any("-seed1-" in name for name in traces) and any("-seed2-" in name for name in traces)


def test_bug_reports_count_iterations_from_one() -> None:
    report = explore(buggy_systems.lost_update, iterations=50, strategy="random", seed=2)
    assert report.bug is not None
    assert report.bug.trace.iteration == report.iterations  # the last one ran was the buggy one
    assert f"iteration {report.iterations}," in report.summary()


# ---- progress from the API -----------------------------------------------------------------


def test_explore_progress_true_draws_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    explore(buggy_systems.lost_update_fixed, iterations=5, seed=1, progress=True)
    assert "5/5 iterations" in capsys.readouterr().err


def test_explore_progress_must_be_a_flag_or_a_callable() -> None:
    with pytest.raises(testkit.TestkitError, match="progress"):
        explore(buggy_systems.lost_update_fixed, progress="yes")  # type: ignore[arg-type]


def test_long_runs_report_progress_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from testkit._reporting import progress as _progress

    monkeypatch.setattr(_progress, "AUTO_QUIET", 0.0)
    explore(buggy_systems.lost_update_fixed, iterations=5, seed=1)
    assert "progress: " in capsys.readouterr().err


# ---- deterministic() ------------------------------------------------------------------------


def test_a_bug_in_a_deterministic_block_names_its_seed_and_carries_its_trace() -> None:
    with pytest.raises(testkit.BugFound) as caught, testkit.deterministic(seed=3):
        misbehaving.Stuck.start("assert").ask("go")
    message = str(caught.value)
    assert "seed 3" in message and "deterministic(seed=3, strategy='random')" in message
    trace = caught.value.bug.trace
    assert isinstance(trace, testkit.Trace) and len(trace) > 0 and trace.seed == 3
