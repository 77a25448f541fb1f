"""`explore(..., dask=...)` on a real dask.distributed cluster (worker processes, no mocks)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import testkit
from testkit import TestkitError, explore
from testkit._cli import main

from . import buggy_systems as systems
from .report_facts import report_facts

distributed = pytest.importorskip("distributed", reason="needs the dask extra")


def _quiet_dask() -> None:
    """dask's loggers keep the stream pytest captured when they were set up, and write to it
    after it closed ("Logging error" noise): nothing below CRITICAL from them here."""
    for name in list(logging.root.manager.loggerDict):
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    _quiet_dask()
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: two runs of the suite at once do not collide
        silence_logs=logging.CRITICAL,  # its log handlers outlive pytest's captured streams
    ) as local:
        _quiet_dask()
        yield local


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster) as connected:
        yield connected


@pytest.mark.parametrize("test", [systems.lost_update, systems.timer_race_fixed])
def test_the_cluster_gives_the_report_of_one_process(client: Any, test: Any) -> None:
    arguments: dict[str, Any] = {
        "iterations": 120,
        "max_steps": 500,
        "strategy": "random",
        "seed": 4,
    }
    here = explore(test, **arguments, stop_at_first_bug=False)
    there = explore(test, **arguments, stop_at_first_bug=False, dask=client)
    assert report_facts(there) == report_facts(here)


def test_the_first_bug_is_the_lowest_iteration_and_replays(client: Any) -> None:
    arguments: dict[str, Any] = {"iterations": 200, "max_steps": 500, "strategy": "random"}
    here = explore(systems.lost_update, **arguments, seed=12)
    there = explore(systems.lost_update, **arguments, seed=12, dask=client)
    assert there.bug is not None and report_facts(there) == report_facts(here)
    assert testkit.replay(systems.lost_update, there.bug.trace).bug is not None


def test_a_scheduler_address_works_too(cluster: Any) -> None:
    report = explore(
        systems.lost_update_fixed, iterations=40, seed=1, dask=cluster.scheduler_address
    )
    assert report.iterations == 40 and report.bug is None


def test_a_worker_killed_mid_run_loses_and_doubles_nothing(client: Any) -> None:
    arguments: dict[str, Any] = {
        "iterations": 600,
        "max_steps": 500,
        "strategy": "random",
        "seed": 7,
        "stop_at_first_bug": False,
    }
    here = explore(systems.lost_update, **arguments)
    pids = list(client.run(os.getpid).values())
    killed = threading.Event()

    def kill_once(progress: testkit.Progress) -> None:
        if progress.iteration >= 32 and not killed.is_set():
            killed.set()
            os.kill(pids[0], signal.SIGKILL)  # its batches are retried on the other worker

    there = explore(systems.lost_update, **arguments, dask=client, progress=kill_once)
    assert killed.is_set()
    assert report_facts(there) == report_facts(here)


def test_the_cluster_honours_the_time_budget(client: Any) -> None:
    report = explore(
        systems.lost_update_fixed, iterations=10**7, seed=1, dask=client, time_budget=1.0
    )
    assert report.timed_out and 0 < report.iterations < 10**7


def test_misuse_inside_a_cluster_task_is_the_same_error(client: Any) -> None:
    from . import misbehaving_systems

    with pytest.raises(TestkitError, match=r"Stuck#1 in state 'ready', in .* started a thread"):
        explore(misbehaving_systems.spawning_handler, iterations=4, seed=1, dask=client)


def test_bad_dask_arguments_are_clear_errors(client: Any) -> None:
    with pytest.raises(TestkitError, match=r"takes a dask\.distributed\.Client or a scheduler"):
        explore(systems.lost_update, dask=42)
    with pytest.raises(TestkitError, match="choose one"):
        explore(systems.lost_update, dask=client, workers=2)
    with pytest.raises(TestkitError, match="cannot reach the dask scheduler"):
        explore(systems.lost_update, dask="tcp://127.0.0.1:1")

    def local(runtime: testkit.Runtime) -> None:
        pass

    with pytest.raises(TestkitError, match="module level"):
        explore(local, dask=client)


def test_the_command_line_takes_dask(cluster: Any, capsys: pytest.CaptureFixture[str]) -> None:
    address = cluster.scheduler_address
    args = ["-i", "40", "--seed", "1", "--dask", address, "--no-progress"]
    assert main(["test", "tests.buggy_systems:lost_update_fixed", *args]) == 0
    assert "explored 40 iteration(s)" in capsys.readouterr().out


def test_coverage_comes_back_from_the_cluster(client: Any) -> None:
    arguments: dict[str, Any] = {"iterations": 48, "strategy": "random", "seed": 2}
    here = explore(systems.lost_update_fixed, **arguments)
    there = explore(systems.lost_update_fixed, **arguments, dask=client)
    assert there.coverage.summary() == here.coverage.summary()
