"""`explore(..., workers=N)`: the same report as one process, errors and stops that cross over."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import select
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

import testkit
from testkit import Runtime, TestkitError, explore
from testkit._cli import _parser, main
from testkit._engine.bug import Bug
from testkit._exploration import workers as workers_module
from testkit._exploration.workers import _make_picklable

from . import buggy_systems as systems
from . import misbehaving_systems as misbehaving
from .report_facts import report_facts

ROOT = Path(__file__).resolve().parent.parent


def in_a_worker(runtime: Runtime) -> bool:
    """Whether this iteration runs in a worker process (not the process that explores)."""
    return multiprocessing.parent_process() is not None


def sleeper(runtime: Runtime) -> None:
    """Misuses the tester: a TestkitError raised inside a worker (a handler starts a thread;
    a sleep is virtual time since issue 25)."""
    if in_a_worker(runtime):
        misbehaving.spawning_handler(runtime)


def waits_in_a_worker(runtime: Runtime) -> None:
    if in_a_worker(runtime):
        misbehaving.waiting_handler(runtime)


def spins_in_a_worker(runtime: Runtime) -> None:
    if in_a_worker(runtime):
        misbehaving.spinning_handler(runtime)


@pytest.fixture
def spread_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """`explore(workers=N)` starts its workers after its first iteration, however short."""
    monkeypatch.setattr(workers_module, "SPREAD_AFTER", 0.0)
    monkeypatch.setattr(workers_module, "SPREAD_WORTH", 0.0)


@pytest.fixture(params=["here", "spread"])
def where(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run `explore(workers=N)` all in this process, or spread after its first iteration."""
    spread = request.param == "spread"
    monkeypatch.setattr(workers_module, "SPREAD_AFTER", 0.0 if spread else float("inf"))
    monkeypatch.setattr(workers_module, "SPREAD_WORTH", 0.0)
    return str(request.param)


def exits(runtime: Runtime) -> None:
    """Ends its worker process abruptly."""
    if in_a_worker(runtime):
        os._exit(3)


def in_main_process_is_a_bug(runtime: Runtime) -> None:
    """A bug only when run in the process that called explore (tells whether -j took effect)."""
    assert multiprocessing.parent_process() is not None, "ran in the main process"


@pytest.mark.parametrize("test", [systems.lost_update, systems.lost_update_fixed])
def test_two_workers_give_the_report_of_one_process(test: Any, where: str) -> None:
    kwargs: dict[str, Any] = {"iterations": 30, "max_steps": 500, "strategy": "random", "seed": 6}
    seen: list[testkit.Progress] = []
    one = explore(test, **kwargs)
    two = explore(test, **kwargs, workers=2, progress=seen.append)
    assert report_facts(two) == report_facts(one)
    assert one.iterations > 1  # several iterations were merged
    assert [p.iteration for p in seen] == list(range(1, len(seen) + 1))
    assert seen[-1].iteration >= two.iterations


def test_stop_at_first_bug_reports_the_lowest_iteration(where: str) -> None:
    kwargs: dict[str, Any] = {"iterations": 40, "max_steps": 500, "strategy": "random", "seed": 387}
    every = explore(systems.lost_update, **kwargs, stop_at_first_bug=False)
    assert every.bug is not None and every.bug.count > 3  # one signature, many iterations
    lowest = every.bug.trace.iteration  # counted from 1
    assert lowest >= 6  # worker 1's first batch; later ones in both
    first = explore(systems.lost_update, **kwargs, workers=2)
    assert first.bug is not None and first.bug.trace.iteration == lowest
    assert (first.iterations, first.buggy_iterations) == (lowest, 1)
    all_two = explore(systems.lost_update, **kwargs, stop_at_first_bug=False, workers=2)
    assert [(b.trace.iteration, b.count) for b in all_two.bugs] == [
        (b.trace.iteration, b.count) for b in every.bugs
    ]
    assert report_facts(all_two) == report_facts(every)


@pytest.mark.parametrize("workers", [0, -2, True, 1.5, "2", None])
def test_bad_workers_is_a_clear_error(workers: Any) -> None:
    with pytest.raises(TestkitError, match=r"workers=\.\.\.\) must be a number of processes"):
        explore(systems.lost_update, iterations=2, workers=workers)


def test_a_local_function_needs_one_worker() -> None:
    def local(runtime: Runtime) -> None:
        pass

    with pytest.raises(TestkitError, match=r"module level .*module:function.*workers=1"):
        explore(local, iterations=2, workers=2)
    explore(local, iterations=2, workers=1)  # fine in one process
    with pytest.raises(TestkitError, match="cannot be imported by name"):
        explore(lambda runtime: None, iterations=2, workers=2)


def test_dfs_runs_in_one_process() -> None:
    local_ok = explore(lambda runtime: None, iterations=5, strategy="dfs", workers=2)
    assert local_ok.exhausted  # a lambda would fail in a worker: dfs never left this process


def test_time_budget_stops_the_workers() -> None:
    report = explore(
        systems.lost_update_fixed,
        iterations=10**8,
        max_steps=500,
        strategy="random",
        seed=1,
        workers=2,
        time_budget=2.0,
    )
    # stopped, not run to the end; a machine loaded enough to keep both workers starting for
    # the whole budget finishes no iteration, and that is a fair report of it too
    assert report.timed_out and report.iterations < 10**8
    assert report.bug is None and report.elapsed < 60


def test_misuse_inside_a_worker_is_the_same_error(spread_at_once: None) -> None:
    with pytest.raises(TestkitError) as in_two:
        explore(sleeper, iterations=3, seed=1, workers=2)
    assert "started a thread ('helper')" in str(in_two.value)
    with pytest.raises(TestkitError) as in_one:
        explore(misbehaving.spawning_handler, iterations=3, seed=1)
    assert str(in_one.value) == str(in_two.value)


def test_a_worker_that_dies_is_a_clear_error(spread_at_once: None) -> None:
    with pytest.raises(TestkitError, match=r"worker process \d died \(exit code 3\)"):
        explore(exits, iterations=4, seed=1, workers=2)


def test_an_unpicklable_state_reads_the_same() -> None:
    class Odd:
        def __repr__(self) -> str:
            return "<odd state>"

    bug = Bug("safety", "boom", "A#1", Odd())
    headline = bug.headline()
    _make_picklable(bug)
    assert pickle.loads(pickle.dumps(bug)).headline() == headline


def test_cli_workers_default_to_all_cores_and_pass_through(
    spread_at_once: None, tmp_path: Path
) -> None:
    parse = _parser().parse_args
    assert parse(["test", "m:f"]).workers == (os.cpu_count() or 1)
    assert parse(["test", "m:f", "-j", "3"]).workers == 3
    target = f"{__name__}:in_main_process_is_a_bug"
    args = ["test", target, "-i", "2", "--seed", "1", "--no-progress", "--trace-out"]
    trace = f"{tmp_path}/"
    assert main([*args, trace, "-j", "1"], out=StringIO()) == 1
    # with two: iteration 1 runs here (the bug), iteration 2 in a worker
    out = StringIO()
    assert main([*args, trace, "-i", "4", "--all-bugs", "-j", "2"], out=out) == 1
    assert "found 2 buggy iteration(s) (50.00%)" in out.getvalue()


def test_ctrl_c_stops_the_workers_quietly() -> None:
    code = (
        "import testkit\n"
        "from failover_examples import coffee_machine\n"
        "if __name__ == '__main__':\n"
        "    testkit.explore(coffee_machine.execute_fixed, 10**8, 2000, seed=1, workers=2,\n"
        "                    progress=lambda p: print(p.iteration, flush=True))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert child.stdout is not None
    started, _, _ = select.select([child.stdout], [], [], 60)
    assert started and child.stdout.readline(), "the run did not start"
    deadline = time.monotonic() + 60  # it runs here first, then starts a worker
    while not (workers := _children(child.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C on a terminal does
    _, err = child.communicate(timeout=30)
    assert err.count("Traceback") == 1 and "Interrupted: interrupted" in err
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) >= 1 and not any(_running(pid) for pid in workers)


def _children(parent: int) -> list[str]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(parent):
            found.append(stat.parent.name)
    return found


def _running(pid: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("test", [spins_in_a_worker, waits_in_a_worker])
def test_the_watchdog_works_in_workers(test: Any, spread_at_once: None) -> None:
    # a spin ends with an exception; a wait in C ends the worker, which tells the parent first
    with pytest.raises(TestkitError, match=r"Stuck#1 in state 'ready' made no progress for 0\.5"):
        explore(test, iterations=4, seed=1, workers=2, watchdog=0.5)


def test_warnings_are_merged_from_workers() -> None:
    report = explore(misbehaving.unregistered_monitor, iterations=4, seed=1, workers=2)
    assert any("monitor Untold, which the test never registered" in w for w in report.warnings)


def test_a_ctrl_c_while_the_workers_start_is_not_lost() -> None:
    # The Ctrl-C arrives in the very moment a worker is started (the parent used to ignore
    # the signal then, and explored on): the run must still end with its partial report
    # (the child: tests/ctrl_c_while_workers_start.py).
    done = subprocess.run(
        [sys.executable, "-m", "tests.ctrl_c_while_workers_start"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.startswith("interrupted after"), done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr  # nor a worker started half-way
