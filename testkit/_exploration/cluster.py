"""`explore(..., dask=...)`: iterations run in batches on a `dask.distributed` cluster.

Each task runs a fixed batch of consecutive iterations (`BATCH`, whatever the cluster's size)
with a fresh strategy, so the same arguments give the same report on any cluster: iteration i
runs with the seeds it has in one process, a learning strategy learns within its batch, and
the results are merged by iteration index exactly as for `workers=N`. A batch whose worker dies
is retried elsewhere by dask; its results arrive once, so nothing is lost or counted twice.
"""

from __future__ import annotations

import importlib.util
import pickle
import sys
import threading
from contextlib import nullcontext
from typing import Any

from testkit._engine.interrupts import interruptible
from testkit._engine.observer import installed
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._errors import TestkitError
from testkit._exploration.settings import Settings
from testkit._exploration.workers import IterationRunner, _Job, _Result, merge, prepare_job
from testkit._reporting.coverage import Coverage
from testkit._reporting.progress import Progress, ProgressCallback, progress_callback
from testkit._reporting.report import Interrupted, Report

# dask.distributed is only partly typed: its objects are `Any` here.
Client = Any
Future = Any

BATCH = 16
"""Iterations per task: small enough to spread and to stop soon after a bug, large enough
that a task's overhead (a few milliseconds) stays small beside its iterations."""
AHEAD = 4
"""Tasks queued per worker thread of the cluster beyond those running (keeps it busy)."""

_one_at_a_time = threading.Lock()  # the sandbox is per process: one batch at a time


_unpacked: list[tuple[bytes, _Job]] = []
"""The job a worker unpacked last: the batches of one run share it."""


def _run_batch(payload: bytes, first: int, last: int) -> tuple[list[_Result], Coverage | None]:
    """On a dask worker: iterations first..last-1 of the job `payload` holds (see `_pack`),
    stopping at a bug if asked to, and what they covered."""
    results: list[_Result] = []
    with _one_at_a_time:
        if not _unpacked or _unpacked[0][0] != payload:
            _unpacked[:] = [(payload, pickle.loads(payload))]
        job = _unpacked[0][1]
    coverage = Coverage() if job.coverage else None
    with _one_at_a_time, installed(coverage) if coverage is not None else nullcontext():
        runner = IterationRunner(job)
        with Sandbox(job.watchdog) as sandbox:
            for iteration in range(first, last):
                result = runner.run(sandbox, iteration)
                if result is None:
                    break
                results.append(result)
                if result.bug is not None and job.stop_at_first_bug:
                    break
    return results, coverage


def _connect(dask: Any) -> tuple[Client, bool]:
    """The client to use, and whether this run opened it (and so must close it)."""
    try:
        import distributed
    except ImportError:
        raise TestkitError(
            "explore(..., dask=...) needs dask.distributed: pip install 'pykka-fsm[dask]'"
        ) from None
    client_class: Any = distributed.Client
    if isinstance(dask, client_class):
        return dask, False
    if not isinstance(dask, str) or not dask:
        raise TestkitError(
            "explore(..., dask=...) takes a dask.distributed.Client or a scheduler address "
            f"such as 'tcp://scheduler:8786', got {dask!r}"
        )
    try:
        return client_class(dask, timeout=10), True
    except Exception as exc:  # OSError, TimeoutError; ValueError for an address like 'bogus'
        raise TestkitError(
            f"cannot reach the dask scheduler at {dask!r}: {type(exc).__name__}: {exc}; give "
            "its address as tcp://HOST:PORT (tls://HOST:PORT with a Client made with a "
            "Security), start one with `dask scheduler` (and workers with `dask worker "
            "ADDRESS`), or pass a Client"
        ) from None


def _can_import(module: str) -> bool:
    """On a dask worker: whether it can import `module` (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except Exception:  # a parent package that fails to import, a bad name
        return False


def _pack(job: _Job, client: Client) -> bytes:
    """The job as bytes for the cluster's tasks, so that the scheduler never unpickles the
    test (it needs only this package), and the workers do it once per run. The test's own
    module travels by value (cloudpickle) when a worker cannot import it: a test module
    that is not installed there (what it imports still has to be)."""
    cloudpickle: Any = importlib.import_module("cloudpickle")  # comes with distributed
    module = sys.modules.get(getattr(job.test, "__module__", "") or "")
    by_value = (
        module is not None
        and module.__name__ != "__main__"  # cloudpickle sends __main__'s by value anyway
        and not all(client.run(_can_import, module.__name__).values())
    )
    if by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        payload: bytes = cloudpickle.dumps(job)
        return payload
    except Exception as exc:
        raise TestkitError(
            f"explore(..., dask=...) cannot send the test to the cluster: it does not pickle "
            f"({type(exc).__name__}: {exc})"
        ) from None
    finally:
        if by_value:
            cloudpickle.unregister_pickle_by_value(module)


def explore_on_cluster(
    settings: Settings, dask: Any, progress: ProgressCallback | bool | None
) -> Report:
    """`explore` on a dask cluster."""
    job, chosen = prepare_job(settings, where="dask=...", lanes=1, batch=BATCH, keep_test=True)
    client, owned = _connect(dask)
    report = Report(job.name, chosen.name, job.seed, job.max_steps)
    notify = progress_callback(progress)
    run = _ClusterRun(client, job, notify, settings.time_budget, report)
    try:
        run.payload = _pack(job, client)
        with interruptible(raise_outside=True):  # SIGTERM and SIGHUP too, as Ctrl-C
            run.run()
    except KeyboardInterrupt:
        report.interrupted = True
        merge(run.results, report, job, chosen, run.started, run.coverage)
        raise Interrupted(report) from None
    finally:
        run.cancel()
        close = getattr(notify, "close", None)
        if close is not None:
            close()
        if owned:
            client.close()
    merge(run.results, report, job, chosen, run.started, run.coverage)
    return report


class _ClusterRun:
    """Keeps the cluster busy with batches, gathers their results, stops at a bug."""

    def __init__(
        self,
        client: Client,
        job: _Job,
        notify: ProgressCallback,
        time_budget: float | None,
        report: Report,
    ) -> None:
        self.client = client
        self.job = job
        self.notify = notify
        self.time_budget = time_budget
        self.report = report
        self.results: list[_Result] = []
        self.coverage: list[Coverage] = []
        self.pending: dict[Future, int] = {}
        self.next_first = 0
        self.cutoff = job.iterations  # no batch starting above the first bug's iteration
        self.started = wall_clock()
        self.payload = b""

    def _submit(self, completed: Any) -> None:
        threads = sum(self.client.nthreads().values()) or 1
        while len(self.pending) < threads * (AHEAD + 1) and self.next_first < self.cutoff:
            first = self.next_first
            last = min(first + BATCH, self.job.iterations)
            self.next_first = last
            future = self.client.submit(
                _run_batch, self.payload, first, last, pure=False, key=f"testkit-{first}-{id(self)}"
            )
            self.pending[future] = first
            completed.add(future)

    def run(self) -> None:
        import distributed

        as_completed: Any = distributed.as_completed
        completed = as_completed([], with_results=False)
        self._submit(completed)
        bugs: set[tuple[str, ...]] = set()  # distinct, as the report will count them
        for future in completed:
            first = self.pending.pop(future, None)
            if first is None:  # cancelled after a bug or at the time budget
                continue
            batch, covered = self._result(future, first)
            self.results.extend(batch)
            if covered is not None:
                self.coverage.append(covered)
            for result in batch:
                if result.bug is not None:
                    bugs.add(result.bug.signature)
                    if self.job.stop_at_first_bug and result.iteration < self.cutoff:
                        self.cutoff = result.iteration
                        self._cancel_above(result.iteration)
            elapsed = wall_clock() - self.started
            self.notify(Progress(len(self.results), self.job.iterations, len(bugs), elapsed))
            if self.time_budget is not None and elapsed >= self.time_budget:
                self.report.timed_out = True
                self.cancel()
                return
            self._submit(completed)

    def _result(self, future: Future, first: int) -> tuple[list[_Result], Coverage | None]:
        try:
            outcome: tuple[list[_Result], Coverage | None] = future.result()
            return outcome
        except TestkitError:
            raise  # misuse inside the test: the same message as in one process
        except ImportError as exc:
            raise TestkitError(
                f"a dask worker cannot import {exc.name or 'a module'} ({exc}): every worker "
                "needs this package (pykka-fsm) and the modules the test imports, installed "
                "as on this machine; the test's own module is sent by value when a worker "
                "lacks it"
            ) from None
        except Exception as exc:
            last = min(first + BATCH, self.job.iterations)
            raise TestkitError(
                f"the dask task running iterations {first + 1}..{last} failed: "
                f"{type(exc).__name__}: {exc}. A worker that died again and again is a test "
                "that ends its process or hangs in C code (rerun those iterations with "
                "workers=1 to see), or a cluster without this package or the modules the test "
                "imports"
            ) from None

    def _cancel_above(self, iteration: int) -> None:
        doomed = [future for future, first in self.pending.items() if first > iteration]
        for future in doomed:
            del self.pending[future]
        if doomed:
            self.client.cancel(doomed)

    def cancel(self) -> None:
        if self.pending:
            self.client.cancel(list(self.pending))
            self.pending.clear()


__all__ = ["explore_on_cluster"]
