"""`explore(..., workers=N)`: iterations run in N spawned processes, merged into one `Report`.

Iteration i runs with the same seeds as in one process, and the iterations are dealt to the
workers in fixed interleaved batches, so a worker's learning strategy (PCT's run length,
prioritization's contested steps, the portfolio's fair members) sees the same history on every
run with the same `workers`. With `stop_at_first_bug`, a bug at iteration i stops every
iteration above i while those below i still run, so the bug reported is the one of the lowest
index, and the counts are those of iterations 0..i, as in one process.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import multiprocessing
import os
import pickle
import random
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from testkit._engine import interrupts
from testkit._engine.bug import Bug, state_text
from testkit._engine.entropy import hash_seed
from testkit._engine.faults import Faults, IterationFacts
from testkit._engine.iteration import delay_rng, finish_bug, iteration_seed, run_once
from testkit._engine.observer import installed
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.sometimes import SometimesBook
from testkit._engine.test_function import test_name
from testkit._errors import TestkitError
from testkit._exploration.in_process import finish_report
from testkit._exploration.settings import Settings
from testkit._reporting.coverage import Coverage
from testkit._reporting.progress import Progress, ProgressCallback, progress_callback
from testkit._reporting.report import FaultCounts, Interrupted, Report
from testkit._strategies import DFSStrategy, Strategy, make_strategy

MAX_BATCH = 16
"""Consecutive iterations a worker runs before the next batch goes to the next worker."""
FLUSH_SECONDS = 0.1
"""A worker sends its finished iterations at least this often (for progress and stops)."""
POLL_SECONDS = 0.5
"""The parent looks at least this often whether a signal asked it to stop (in case the
`KeyboardInterrupt` raised for it was eaten by a callback)."""
_PR_SET_PDEATHSIG = 1  # prctl(2)


def splittable(strategy: str | Strategy) -> bool:
    """Whether `strategy` can be spread over processes: not dfs, whose tree is one search."""
    return not isinstance(make_strategy(strategy), DFSStrategy)


@dataclass(frozen=True)
class _Job:
    """What every worker needs to run its share of the iterations."""

    test: Callable[..., Any]
    strategy: str | Strategy
    name: str
    iterations: int
    max_steps: int
    seed: int
    threshold: int
    timer_delay: int
    stop_at_first_bug: bool
    workers: int
    batch: int
    log_level: int
    log_format: str | None
    log_disabled: int
    watchdog: float | None
    coverage: bool = True
    faults: Faults | None = None

    def share(self, worker: int) -> Iterator[int]:
        """Worker `worker`'s iterations, in increasing order."""
        start = worker * self.batch
        while start < self.iterations:
            yield from range(start, min(start + self.batch, self.iterations))
            start += self.workers * self.batch


@dataclass(frozen=True)
class _Result:
    """One finished iteration, as a worker sends it back."""

    iteration: int
    steps: int
    bound_reached: int
    schedule: bytes
    bug: Bug | None
    """With a trace when it is the worker's first of its signature, else only counted."""
    notes: frozenset[str]
    facts: IterationFacts | None = None
    """Faults injected and `sometimes` conditions (None: neither in this iteration)."""


class StateRepr:
    """Stands in for an FSM state that cannot be pickled: reads the same in a bug headline."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _importable(test: Callable[..., Any], where: str) -> None:
    try:
        pickle.dumps(test)
    except Exception:
        raise TestkitError(
            f"explore(..., {where}) runs the test in other processes, which must "
            f"import it, but {test_name(test)} cannot be imported by name (a lambda, a local "
            "function or a bound object?); define it at module level (the command line takes "
            "it as module:function), or pass workers=1"
        ) from None


def prepare_job(
    settings: Settings, *, where: str, workers: int, batch: int
) -> tuple[_Job, Strategy]:
    """What other processes need to run iterations, checked to travel (picklable)."""
    test, strategy, seed = settings.test, settings.strategy, settings.seed
    max_steps, threshold = settings.max_steps, settings.liveness_threshold
    chosen = make_strategy(strategy)
    _importable(test, where)
    if not isinstance(strategy, str):
        try:
            pickle.dumps(strategy)
        except Exception:
            raise TestkitError(
                f"explore(..., {where}) sends the strategy to other processes, but "
                f"{strategy!r} cannot be pickled; pass it by name or use workers=1"
            ) from None
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    root = logging.getLogger()
    formatter = root.handlers[0].formatter if root.handlers else None
    job = _Job(
        test=test,
        strategy=strategy,
        name=settings.name or test_name(test),
        iterations=settings.iterations,
        max_steps=max_steps,
        seed=seed,
        threshold=max_steps // 2 if threshold is None else threshold,
        timer_delay=settings.timer_delay,
        stop_at_first_bug=settings.stop_at_first_bug,
        workers=workers,
        batch=batch,
        log_level=root.level,
        log_format=formatter._fmt if formatter is not None else None,
        log_disabled=root.manager.disable,
        watchdog=settings.watchdog,
        coverage=settings.coverage,
        faults=settings.faults,
    )
    return job, chosen


def explore_parallel(settings: Settings, progress: ProgressCallback | bool | None) -> Report:
    """`explore` with the iterations spread over `settings.workers` processes."""
    iterations, workers, time_budget = settings.iterations, settings.workers, settings.time_budget
    job, chosen = prepare_job(
        settings,
        where=f"workers={workers}",
        workers=min(workers, iterations),
        batch=max(1, min(MAX_BATCH, iterations // (workers * 4))),
    )
    report = Report(job.name, chosen.name, job.seed, job.max_steps)
    report.faults = FaultCounts(job.faults)
    started = wall_clock()
    coordinator = _Coordinator(job)
    notify = progress_callback(progress)
    try:
        # SIGTERM and SIGHUP too, as Ctrl-C: the workers are stopped, the report is partial
        with interrupts.interruptible(raise_outside=True):
            coordinator.run(notify, started, time_budget, report)
    except KeyboardInterrupt:
        report.interrupted = True
        merge(coordinator.results, report, job, chosen, started, coordinator.coverage)
        raise Interrupted(report) from None
    finally:
        close = getattr(notify, "close", None)
        if close is not None:
            close()
    merge(coordinator.results, report, job, chosen, started, coordinator.coverage)
    return report


def merge(
    results: list[_Result],
    report: Report,
    job: _Job,
    strategy: Strategy,
    started: float,
    coverage: list[Coverage],
) -> None:
    """Fill `report` from the workers' results, in iteration order, as one process would;
    coverage is every worker's, of all the iterations it ran."""
    cutoff = job.iterations
    if job.stop_at_first_bug:
        cutoff = min((r.iteration for r in results if r.bug is not None), default=cutoff)
    kept = sorted((r for r in results if r.iteration <= cutoff), key=lambda r: r.iteration)
    report.iterations = len(kept)
    report.steps = sum(r.steps for r in kept)
    report.bound_reached = sum(r.bound_reached for r in kept)
    for result in kept:
        report.count_facts(result.facts)
        if result.bug is not None:
            report.buggy_iterations += 1
            report.add_bug(result.bug)
    expected = cutoff + 1 if cutoff < job.iterations else job.iterations
    report.timed_out = report.timed_out and len(kept) < expected
    for worker_coverage in coverage:
        report.coverage.merge(worker_coverage)
    notes = set().union(*(r.notes for r in kept))
    finish_report(report, {hash(r.schedule) for r in kept}, notes, strategy, started)


class _Coordinator:
    """Starts the worker processes, gathers their results, and never leaves one behind."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.context = multiprocessing.get_context("spawn")
        # Lock-free shared integers (a lock would be a semaphore that a killed parent leaks).
        # `stop_at`: workers lower it to their bug's iteration; a race between two of them
        # can leave it a little high, which costs only iterations the report leaves out.
        # `halt`: the parent sets it to stop everything.
        self.stop_at = self.context.RawValue("q", job.iterations)
        self.halt = self.context.RawValue("b", 0)
        self.processes: list[BaseProcess] = []
        self.connections: dict[Connection, int] = {}
        self.results: list[_Result] = []
        self.coverage: list[Coverage] = []

    def run(
        self,
        progress: ProgressCallback,
        started: float,
        time_budget: float | None,
        report: Report,
    ) -> None:
        results = self.results
        bugs = 0
        try:
            self._start()
            while self.connections:
                interrupts.check()
                timeout = POLL_SECONDS
                deadline = None
                if time_budget is not None and not report.timed_out:
                    deadline = started + time_budget
                    timeout = min(timeout, max(0.0, deadline - wall_clock()))
                ready = wait(list(self.connections), timeout)
                if not ready and deadline is not None and wall_clock() >= deadline:
                    report.timed_out = True
                    self._stop()
                for conn in ready:
                    assert isinstance(conn, Connection)
                    for result in self._receive(conn):
                        results.append(result)
                        bugs += result.bug is not None
                        elapsed = wall_clock() - started
                        progress(Progress(len(results), self.job.iterations, bugs, elapsed))
        finally:
            self._shut_down()

    def _start(self) -> None:
        # Workers ignore Ctrl-C and SIGHUP, which a terminal sends to them too (the parent
        # stops them); ignoring them while they start keeps one arriving during their start-up
        # from printing a traceback per worker.
        main = threading.current_thread() is threading.main_thread()
        saved = {number: signal.signal(number, signal.SIG_IGN) for number in _IGNORED if main}
        hashing = os.environ.get("PYTHONHASHSEED")
        # the workers hash strings as this process does when its seed is fixed (sets iterate
        # in the same order, traces found there replay here); a random one cannot be passed
        os.environ["PYTHONHASHSEED"] = hash_seed() or "random"
        try:
            for index in range(self.job.workers):
                receiver, sender = self.context.Pipe(duplex=False)
                process = self.context.Process(
                    target=_worker,
                    args=(self.job, index, sender, self.stop_at, self.halt),
                    name=f"testkit-worker-{index}",
                    daemon=True,
                )
                process.start()
                sender.close()
                self.processes.append(process)
                self.connections[receiver] = index
        finally:
            if hashing is None:
                del os.environ["PYTHONHASHSEED"]
            else:
                os.environ["PYTHONHASHSEED"] = hashing
            for number, handler in saved.items():
                signal.signal(number, handler)

    def _receive(self, conn: Connection) -> list[_Result]:
        index = self.connections[conn]
        try:
            kind, payload = conn.recv()
        except EOFError:
            conn.close()
            del self.connections[conn]
            interrupts.check()  # a signal to the whole process group: it ended the worker
            process = self.processes[index]
            process.join(timeout=5)
            raise TestkitError(
                f"worker process {index} died (exit code {process.exitcode}) before finishing "
                "its iterations: a script that calls explore(..., workers=N) needs its code "
                "under `if __name__ == '__main__':`; otherwise the test exited the process or "
                "crashed the interpreter (run it with workers=1 to see)"
            ) from None
        if kind == "done":
            if payload is not None:
                self.coverage.append(payload)
            conn.close()
            del self.connections[conn]
            return []
        if kind == "error":
            raise TestkitError(payload)
        if kind == "crash":
            raise TestkitError(
                f"worker process {index} failed (a bug in the tester, not in the test; please "
                f"report it):\n{payload}"
            )
        return list(payload)

    def _stop(self) -> None:
        self.halt.value = 1

    def _shut_down(self) -> None:
        self._stop()
        if self.connections:  # an error or Ctrl-C: their results are no longer wanted
            for process in self.processes:
                process.terminate()
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():  # pragma: no cover - SIGTERM did not end it
                process.kill()
                process.join()
        for conn in self.connections:
            conn.close()
        self.connections.clear()


_IGNORED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGHUP") if hasattr(signal, name))
"""Signals a worker ignores: the parent hears them too and stops the workers."""


def _die_with_parent() -> None:
    """End this worker when its parent dies, however it dies (even SIGKILL), and whatever
    the worker is doing: Linux kills it (prctl PR_SET_PDEATHSIG); elsewhere a thread waits
    on the parent's sentinel. A worker stuck in a handler must not outlive the run."""
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - a worker always has one
        return
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if parent.pid is not None and os.getppid() != parent.pid:
                    os._exit(1)  # the parent died before prctl took effect
                return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="testkit-parent-watch", daemon=True).start()


def _worker(job: _Job, index: int, conn: Connection, stop_at: Any, halt: Any) -> None:
    """A worker process: runs its share of the iterations and streams the results back."""
    _die_with_parent()
    for number in _IGNORED:
        signal.signal(number, signal.SIG_IGN)
    logging.disable(job.log_disabled)  # the caller's logging, as far as it can be copied
    if job.log_format is not None:
        logging.basicConfig(level=job.log_level, format=job.log_format)
    else:
        logging.getLogger().setLevel(job.log_level)
    message: tuple[str, Any]

    def hung(text: str) -> None:  # the watchdog gave up: tell the parent before it exits
        with contextlib.suppress(OSError):
            conn.send(("error", text))

    coverage = Coverage() if job.coverage else None
    try:
        with installed(coverage) if coverage is not None else contextlib.nullcontext():
            _run_share(job, index, conn, stop_at, halt, hung)
    except TestkitError as exc:
        message = ("error", str(exc))
    except (BrokenPipeError, ConnectionResetError):  # the parent is gone: nobody to tell
        conn.close()
        return
    except Exception:
        message = ("crash", traceback.format_exc())
    else:
        message = ("done", coverage)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.send(message)
    conn.close()


class IterationRunner:
    """Runs single iterations of a `_Job` in this process, as `explore` would run them."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.strategy = make_strategy(job.strategy)
        self.report = Report(job.name, self.strategy.name, job.seed, job.max_steps)
        self.signatures: set[tuple[str, str, str]] = set()
        self.sometimes = SometimesBook()

    def run(self, sandbox: Sandbox, iteration: int) -> _Result | None:
        """Iteration `iteration`'s result; None when the strategy has nothing left."""
        job, strategy = self.job, self.strategy
        rng = random.Random(iteration_seed(job.seed, iteration))
        if not strategy.begin(iteration, rng, job.max_steps):
            return None
        delay = job.timer_delay if strategy.delays_timers else 0
        runtime, bug = run_once(
            job.test,
            strategy,
            job.max_steps,
            job.threshold,
            sandbox,
            delay,
            delay_rng(job.seed, iteration),
            faults=job.faults,
            sometimes=self.sometimes,
        )
        strategy.end(runtime.steps)
        if bug is not None:
            if bug.signature not in self.signatures:  # later ones are only counted
                self.signatures.add(bug.signature)
                finish_bug(bug, runtime, strategy, job.name, job.seed, iteration, job.threshold)
            _make_picklable(bug)
        key = repr(runtime.trace.schedule_key()).encode()
        schedule = hashlib.blake2b(key, digest_size=16).digest()
        return _Result(
            iteration,
            runtime.steps,
            int(runtime.bound_reached),
            schedule,
            bug,
            frozenset(runtime.notes),
            runtime.facts(),
        )


def _run_share(
    job: _Job,
    index: int,
    conn: Connection,
    stop_at: Any,
    halt: Any,
    hung: Callable[[str], None],
) -> None:
    runner = IterationRunner(job)
    pending: list[_Result] = []
    flushed = wall_clock()
    parent = multiprocessing.parent_process()
    with Sandbox(job.watchdog) as sandbox:
        sandbox.watchdog.on_give_up = hung
        for iteration in job.share(index):
            if iteration >= stop_at.value or halt.value:
                break
            result = runner.run(sandbox, iteration)
            if result is None:
                break
            if result.bug is not None and job.stop_at_first_bug and iteration < stop_at.value:
                stop_at.value = iteration
            pending.append(result)
            if result.bug is not None or wall_clock() - flushed >= FLUSH_SECONDS:
                conn.send(("results", pending))
                pending, flushed = [], wall_clock()
                if parent is not None and not parent.is_alive():
                    return
    if pending:
        conn.send(("results", pending))


def _make_picklable(bug: Bug) -> None:
    try:
        pickle.loads(pickle.dumps(bug.state))
    except Exception:
        bug.state = StateRepr(state_text(bug.state))


__all__ = ["explore_parallel", "splittable"]
