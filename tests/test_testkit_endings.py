"""How a run ends when it is asked to, or when user code tries to end it: Ctrl-C that no
callback can eat, SIGTERM and SIGHUP as Ctrl-C, workers that die with their parent,
`SystemExit` and other `BaseException`s as bugs, and the watchdog on a stuck test function.

Every test that signals or may end a process does so to a child process, never to pytest's.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

import testkit
from testkit import explore
from testkit._cli import main

from . import ending_systems as endings

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = endings.__file__
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
TESTKIT = (sys.executable, "-m", "testkit")
QUIET = ("--no-progress", "--seed", "1")
HANG = 120
"""Seconds after which a child that has not ended counts as hung (a safety net, not a
measurement: the runs below end in a few seconds)."""


def _child(args: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: a signal to it reaches no one else
        **kwargs,
    )


def _wait_for_line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    ready, _, _ = select.select([child.stdout], [], [], HANG)
    assert ready, "the child printed nothing"
    return child.stdout.readline()


def _finish(child: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return child.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate()
        pytest.fail(f"the child did not end:\n{out}\n{err}")


def _no_traceback(err: str) -> bool:
    """No traceback but those Python prints for an exception it ignores: the interrupt raised
    into user code may land in a weakref callback or a `__del__` (the flag still stops the run)."""
    return err.count("Traceback") == err.count("Exception ignored in")


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(parent):
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _gone(pids: list[int]) -> bool:
    """Whether every process of `pids` has ended (waiting up to `HANG` s for it)."""
    deadline = time.monotonic() + HANG
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# ---- 1. a Ctrl-C that no callback can eat --------------------------------------------------

EXPLORE_UNTIL_INTERRUPTED = """
import json, sys
import testkit
from tests import buggy_systems, ending_systems

test = getattr({module}, {name!r})
try:
    testkit.explore(test, iterations=10**8, max_steps={max_steps}, seed=1, workers=1,
                    progress=lambda p: print(p.iteration, flush=True))
except testkit.Interrupted as interrupted:
    report = interrupted.report
    print(json.dumps({{"interrupted": report.interrupted, "iterations": report.iterations,
                      "bug": None if report.bug is None else report.bug.message}}))
    sys.exit(0)
print("ended without an interrupt")
sys.exit(1)
"""


def _interrupt_explore(module: str, name: str, max_steps: int, pause: float) -> dict[str, Any]:
    import json

    code = EXPLORE_UNTIL_INTERRUPTED.format(module=module, name=name, max_steps=max_steps)
    child = _child([sys.executable, "-c", code])
    _wait_for_line(child)  # the first iteration ended: the run is under way
    time.sleep(pause)
    os.kill(child.pid, signal.SIGINT)
    out, err = _finish(child)
    assert child.returncode == 0, out + err
    assert _no_traceback(err), err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("attempt", range(6))
def test_a_ctrl_c_stops_the_run_whatever_user_code_swallows(attempt: int) -> None:
    # Its handlers spend their time in code that eats any BaseException (a bare except, a
    # weakref callback, a __del__): Python's own KeyboardInterrupt landed there and was lost.
    result = _interrupt_explore("ending_systems", "swallowing_system", 100, 0.1 * attempt)
    assert result["interrupted"] and result["iterations"] > 0, result


def test_a_second_ctrl_c_stops_a_handler_that_swallowed_the_first() -> None:
    code = (
        "import testkit\n"
        "from tests import ending_systems\n"
        "print('started', flush=True)\n"
        "testkit.explore(ending_systems.swallow_once_then_spin, iterations=1, watchdog=600)\n"
    )
    child = _child([sys.executable, "-c", code])
    _wait_for_line(child)
    time.sleep(1.0)  # in the handler by now (it never returns)
    os.kill(child.pid, signal.SIGINT)
    time.sleep(0.5)
    os.kill(child.pid, signal.SIGINT)
    _, err = _finish(child)
    assert child.returncode == 1 and "Interrupted: interrupted" in err, err


def test_no_test_signals_the_test_runner_itself() -> None:
    calls = ("os.kill(os." + "getpid()", "signal." + "raise_signal", "pthread_" + "kill(")
    for path in Path(__file__).parent.glob("test_*.py"):
        text = path.read_text()
        for call in calls:
            assert call not in text, f"{path.name} calls {call}...: use a child process"


# ---- 2. the watchdog and the test function ----------------------------------------------------


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_test_function_blocked_on_a_lock_is_stopped_by_the_watchdog(workers: str) -> None:
    target = "tests.ending_systems:event_wait_in_test"
    child = _child(
        [*TESTKIT, "test", target, "-i", "4", "-j", workers, "--watchdog", "0.5", *QUIET]
    )
    out, err = _finish(child)
    assert child.returncode == 2, out + err
    text = out + err
    assert "watchdog: the test function made no progress for 0.5 s" in text
    assert f"event_wait_in_test ({SYSTEMS}:" in text  # the test function and its line


def _importing_tests(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pytest subprocess can import `tests.ending_systems` (whatever PYTHONPATH was)."""
    pytester.syspathinsert(ROOT)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    )


def test_under_pytest_a_stuck_test_function_fails_its_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _importing_tests(pytester, monkeypatch)
    pytester.makepyfile(
        test_stuck="""
        import testkit
        from tests import ending_systems

        def test_stuck():
            testkit.explore(ending_systems.event_wait_in_test, iterations=2, watchdog=0.5)

        def test_after():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "testkit.pytest_plugin", timeout=HANG)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*TestkitError: watchdog: the test function made no progress*"])


def test_under_pytest_the_watchdog_giving_up_is_said_on_the_real_stderr(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # explore on a thread that is not the main one: no signal can end the wait, so the
    # watchdog ends the process, which pytest had captured the output of
    _importing_tests(pytester, monkeypatch)
    pytester.makepyfile(
        test_stuck_thread="""
        import threading
        import testkit
        from tests import ending_systems

        def test_stuck_in_a_thread():
            thread = threading.Thread(target=lambda: testkit.explore(
                ending_systems.event_wait_in_test, iterations=1, watchdog=0.5))
            thread.start()
            thread.join()
        """
    )
    result = pytester.runpytest_subprocess("-p", "testkit.pytest_plugin", timeout=HANG)
    assert result.ret == 2
    text = "\n".join(result.outlines + result.errlines)
    assert "testkit: error: watchdog: the test function made no progress for 0.5 s" in text


# ---- 3. SystemExit and other BaseExceptions are bugs ---------------------------------------


@pytest.mark.parametrize(
    ("test", "actor", "message"),
    [
        (endings.exit0_in_handler, "Raiser#1", "SystemExit: 0"),
        (endings.exit3_in_handler, "Raiser#1", "SystemExit: 3"),
        (endings.base_exception_in_handler, "Raiser#1", "BaseException: a bare BaseException"),
        (endings.generator_exit_in_handler, "Raiser#1", "GeneratorExit"),
        (endings.exit_in_test, "test", "SystemExit: 0"),
        (endings.exit_in_asked_plain_actor, "Asker#1", "SystemExit: from a proxy call"),
    ],
)
def test_a_base_exception_is_a_bug_of_kind_exception(test: Any, actor: str, message: str) -> None:
    report = explore(test, iterations=3, seed=1, shrink=False)
    bug = report.bug
    assert bug is not None and not report.interrupted
    assert (bug.kind, bug.actor, bug.message) == ("exception", actor, message)
    assert "Traceback" in bug.traceback


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("exit0_in_handler", "SystemExit: 0"),
        ("generator_exit_in_handler", "GeneratorExit"),
        ("keyboard_interrupt_in_handler", "KeyboardInterrupt"),
        ("keyboard_interrupt_in_test", "KeyboardInterrupt"),
    ],
)
def test_the_command_line_reports_them_as_bugs(
    name: str, message: str, workers: str, tmp_path: Path
) -> None:
    target = f"tests.ending_systems:{name}"
    child = _child(
        [*TESTKIT, "test", target, "-i", "4", "-j", workers, *QUIET, "--trace-out", str(tmp_path)]
    )
    out, err = _finish(child)
    assert child.returncode == 1, out + err
    assert "BUG: exception bug in " in out and message in out, out
    assert "Traceback" not in err and "died" not in out + err, err


def test_a_keyboard_interrupt_raised_by_a_handler_is_a_bug_not_a_ctrl_c() -> None:
    code = (
        "import testkit\n"
        "from tests import ending_systems\n"
        "report = testkit.explore(ending_systems.keyboard_interrupt_in_handler, iterations=3)\n"
        "print(report.bug.kind, report.bug.message, report.interrupted)\n"
    )
    child = _child([sys.executable, "-c", code])
    out, err = _finish(child)
    assert child.returncode == 0, err
    assert out.strip() == "exception KeyboardInterrupt False"


def test_explaining_and_the_shortest_search_keep_it_a_bug() -> None:
    # run outside explore(), where a bare KeyboardInterrupt used to read as Ctrl-C
    code = (
        "import testkit\n"
        "from testkit._shrinking.shortest import shortest_failing\n"
        "from tests import ending_systems\n"
        "test = ending_systems.keyboard_interrupt_in_handler\n"
        "bug = testkit.explore(test, iterations=3, seed=1).bug\n"
        "print(bug.explain(test, 20).text != '')\n"
        "print(len(shortest_failing(test, bug.original_trace, 20).trace) > 0)\n"
    )
    child = _child([sys.executable, "-c", code])
    out, err = _finish(child)
    assert child.returncode == 0, err
    assert out.split() == ["True", "True"]


def test_the_tester_still_unwinds_parked_handlers_and_stops_at_bugs() -> None:
    # the tester's own BaseExceptions (Abort, greenlet's GreenletExit) pass through handlers
    from tests import buggy_systems

    assert explore(buggy_systems.lost_update, iterations=50, seed=1).bug is not None
    report = explore(endings.exit0_in_handler, iterations=3, seed=1, workers=2)
    assert report.bug is not None and report.bug.message == "SystemExit: 0"


# ---- 6. SIGTERM and SIGHUP, and workers that die with their parent ------------------------


def _start_spinning_run(workers: str) -> subprocess.Popen[str]:
    # with workers, the run must be long enough to spread to them (then they spin)
    target = "tests.ending_systems:" + (
        "spinning_handler" if workers == "1" else "spinning_in_workers"
    )
    iterations = "1000" if workers == "1" else "1000000"
    child = _child(
        [*TESTKIT, "test", target, "-i", iterations, "-j", workers, "--watchdog", "600", *QUIET]
    )
    _wait_for_line(child)  # the banner
    return child


def _workers_of(child: subprocess.Popen[str], count: int) -> list[int]:
    deadline = time.monotonic() + HANG
    while len(workers := _children(child.pid)) < count:
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.05)
    time.sleep(1.5)  # into their handler, which spins forever
    return workers


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_terminated_parallel_run_prints_its_report_and_leaves_no_worker(sig: int) -> None:
    child = _start_spinning_run("2")
    workers = _workers_of(child, 2)
    os.kill(child.pid, sig)
    out, err = _finish(child)
    assert child.returncode == 130, out + err
    assert "interrupted (Ctrl-C): these figures cover" in out and out.rstrip().endswith(
        "interrupted"
    )
    assert _no_traceback(err), err
    assert _gone(workers), "a worker outlived the run"


def test_a_terminated_run_in_one_process_prints_its_report() -> None:
    child = _start_spinning_run("1")
    time.sleep(1.5)  # in the handler, which spins forever
    os.kill(child.pid, signal.SIGTERM)
    out, err = _finish(child)
    assert child.returncode == 130, out + err
    assert out.rstrip().endswith("interrupted") and _no_traceback(err), err


def test_workers_die_with_a_killed_parent() -> None:
    child = _start_spinning_run("2")
    workers = _workers_of(child, 2)
    os.kill(child.pid, signal.SIGKILL)  # no handler runs: the workers must still end
    _finish(child)
    assert _gone(workers), "a worker outlived its killed parent"


def test_sigterm_during_a_run_in_process_is_the_same_as_ctrl_c_for_explore() -> None:
    code = textwrap.dedent(
        """
        import signal, sys
        import testkit
        from tests import buggy_systems
        try:
            testkit.explore(buggy_systems.lost_update_fixed, iterations=10**8, seed=1,
                            progress=lambda p: print(p.iteration, flush=True))
        except testkit.Interrupted as interrupted:
            print("interrupted", interrupted.report.iterations > 0, flush=True)
            sys.exit(0)
        """
    )
    child = _child([sys.executable, "-c", code])
    _wait_for_line(child)
    os.kill(child.pid, signal.SIGTERM)
    out, err = _finish(child)
    assert child.returncode == 0, err
    assert out.strip().endswith("interrupted True")


def test_the_signal_handlers_are_put_back_after_a_run(tmp_path: Path) -> None:
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    explore(endings.key_error_in_handler, iterations=2, seed=1, shrink=False)
    target = "tests.ending_systems:key_error_in_handler"
    args = ["test", target, "-i", "2", "-j", "1", *QUIET, "--trace-out", str(tmp_path)]
    assert main(args, out=StringIO()) == 1
    assert {number: signal.getsignal(number) for number in before} == before


def test_explore_outside_the_main_thread_still_runs() -> None:
    import threading

    reports: list[testkit.Report] = []
    thread = threading.Thread(
        target=lambda: reports.append(explore(endings.key_error_in_handler, iterations=2))
    )
    thread.start()
    thread.join()
    assert reports and reports[0].bug is not None


def test_the_watchdog_stops_a_handler_blocked_in_a_deterministic_block() -> None:
    # in a child: the watchdog interrupts the main thread with SIGINT, and there Python's own
    # handler (no explore runs) raises KeyboardInterrupt in the handler: not a bug of it
    code = textwrap.dedent(
        """
        import testkit
        from tests import misbehaving_systems
        try:
            with testkit.deterministic(watchdog=0.5):
                misbehaving_systems.Stuck.start("lock").ask("go")
        except testkit.TestkitError as exc:
            print(str(exc).split(":")[0], "|", "made no progress" in str(exc))
        """
    )
    child = _child([sys.executable, "-c", code])
    out, err = _finish(child)
    assert child.returncode == 0, err
    assert out.strip() == "watchdog | True", out + err
