"""`explore(..., workers=N)`: iterations in N lanes, run here first and spread over worker
processes (spawned) only when the run is long enough to gain; merged into one `Report`.

The iterations are dealt to N lanes in fixed interleaved batches, and each lane has a strategy
of its own that sees only that lane's iterations, in order: a learning strategy (PCT's run
length, prioritization's contested steps, the portfolio's fair members) has the same history on
every run with the same N, wherever the lane runs. The run starts in this process, going
through the iterations in order (each with its lane's strategy); a short run ends there,
without starting a process. Once it has run `SPREAD_AFTER` seconds and the iterations left
would take `SPREAD_WORTH` more, it starts worker processes for all lanes but the first ones
(this process goes on with those): a worker re-runs its lanes' iterations that already ran
here, without reporting them, to give its strategies the same history (a strategy that learns
nothing, `random` and `probabilistic`, skips them). Iteration i runs with the same seeds as in
one process. With `stop_at_first_bug`, a bug at iteration i stops every iteration above i
while those below i still run, so the bug reported is the one of the lowest index, and the
counts are those of iterations 0..i, as in one process.
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from testkit._engine import interrupts
from testkit._engine.bug import Bug, state_text
from testkit._engine.entropy import hash_seed
from testkit._engine.faults import Faults, IterationFacts
from testkit._engine.iteration import delay_rng, finish_bug, iteration_seed, run_once
from testkit._engine.observer import installed
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.sometimes import SometimesBook
from testkit._engine.test_function import by_name, load_test, test_name
from testkit._errors import TestkitError
from testkit._exploration.in_process import finish_report
from testkit._exploration.settings import Settings
from testkit._reporting.coverage import Coverage
from testkit._reporting.progress import Progress, ProgressCallback, progress_callback
from testkit._reporting.report import FaultCounts, Interrupted, Report
from testkit._strategies import (
    DFSStrategy,
    ProbabilisticStrategy,
    RandomStrategy,
    Strategy,
    make_strategy,
)

MAX_BATCH = 16
"""Consecutive iterations of a lane before the next batch goes to the next lane."""
FLUSH_SECONDS = 0.1
"""A worker sends its finished iterations at least this often (for progress and stops), and
this process looks at what the workers sent as often."""
POLL_SECONDS = 0.5
"""This process looks at least this often whether a signal asked it to stop (in case the
`KeyboardInterrupt` raised for it was eaten by a callback)."""
_PR_SET_PDEATHSIG = 1  # prctl(2)
SPREAD_AFTER = 0.25
"""Seconds `explore(workers=N)` runs in this process before it may start workers."""
SPREAD_WORTH = 0.5
"""It starts them only if the iterations left would take at least this long here."""
PROCESSES_PER_CORE = 4
"""At most this many processes per core, whatever N: more only compete for the same cores
(N lanes are still N lanes, several to a process)."""


def process_count(lanes: int) -> int:
    """How many processes (this one included) `lanes` lanes run in: one each, at most
    `PROCESSES_PER_CORE` per core."""
    return max(1, min(lanes, PROCESSES_PER_CORE * (os.cpu_count() or 1)))


def splittable(strategy: str | Strategy) -> bool:
    """Whether `strategy` can be spread over processes: not dfs, whose tree is one search."""
    return not isinstance(make_strategy(strategy), DFSStrategy)


@dataclass(frozen=True)
class _Job:
    """What every worker needs to run its share of the iterations."""

    test: Callable[..., Any] | str
    """The test, or the `module:target` that `load_test` makes it from."""
    strategy: str | Strategy
    name: str
    iterations: int
    max_steps: int
    seed: int
    threshold: int
    timer_delay: int
    stop_at_first_bug: bool
    lanes: int
    batch: int
    log_level: int
    log_format: str | None
    log_disabled: int
    watchdog: float | None
    coverage: bool = True
    faults: Faults | None = None

    def lane(self, iteration: int) -> int:
        """The lane iteration `iteration` belongs to."""
        return (iteration // self.batch) % self.lanes

    def iterations_of(self, lanes: frozenset[int], first: int = 0) -> Iterator[int]:
        """The iterations of `lanes` from `first` on, in increasing order."""
        block = first // self.batch
        while block * self.batch < self.iterations:
            if block % self.lanes in lanes:
                start = max(first, block * self.batch)
                yield from range(start, min((block + 1) * self.batch, self.iterations))
            block += 1


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


def _portable(test: Callable[..., Any], where: str) -> Callable[..., Any] | str:
    """The test as another process gets it: the function itself (pickled by reference), or
    the target it can be loaded by (a test made by a factory); a TestkitError if neither."""
    try:
        pickle.dumps(test)
        return test
    except Exception:
        name = by_name(test)
        if name is not None:
            return name
    raise TestkitError(
        f"explore(..., {where}) runs the test in other processes, which must "
        f"import it, but {test_name(test)} cannot be imported by name (a lambda, a local "
        "function or a bound object?); define it at module level (the command line takes "
        "it as module:function, or module:factory() for a test a factory makes), or pass "
        "workers=1"
    )


def prepare_job(
    settings: Settings, *, where: str, lanes: int, batch: int, keep_test: bool = False
) -> tuple[_Job, Strategy]:
    """What other processes need to run iterations, checked to travel (picklable).
    `keep_test`: the job holds the test function itself even where it would travel by
    name (the cluster ships it with cloudpickle, by value where needed)."""
    test, strategy, seed = settings.test, settings.strategy, settings.seed
    max_steps, threshold = settings.max_steps, settings.liveness_threshold
    chosen = make_strategy(strategy)
    portable = _portable(test, where)
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
        test=test if keep_test else portable,
        strategy=strategy,
        name=settings.name or test_name(test),
        iterations=settings.iterations,
        max_steps=max_steps,
        seed=seed,
        threshold=max_steps // 2 if threshold is None else threshold,
        timer_delay=settings.timer_delay,
        stop_at_first_bug=settings.stop_at_first_bug,
        lanes=lanes,
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
    """`explore` with the iterations in `settings.workers` lanes: here, then spread over
    worker processes if the run is long enough."""
    iterations, lanes = settings.iterations, min(settings.workers, settings.iterations)
    job, chosen = prepare_job(
        settings,
        where=f"workers={settings.workers}",
        lanes=lanes,
        batch=max(1, min(MAX_BATCH, iterations // (lanes * 4))),
    )
    report = Report(job.name, chosen.name, job.seed, job.max_steps)
    report.faults = FaultCounts(job.faults)
    notify = progress_callback(progress)
    run = _SpreadRun(job, notify, settings.time_budget)
    here = Coverage() if job.coverage else None
    try:
        with (
            Sandbox(job.watchdog) as sandbox,
            installed(here) if here is not None else nullcontext(),
        ):
            run.started = wall_clock()
            # SIGTERM and SIGHUP too, as Ctrl-C: the workers are stopped, the report is partial
            with interrupts.interruptible(raise_outside=True):
                run.run(sandbox)
    except KeyboardInterrupt:
        report.interrupted = True
        merge(run.results, report, job, chosen, run.started, [here, *run.coverage])
        raise Interrupted(report) from None
    finally:
        run.shut_down()
        close = getattr(notify, "close", None)
        if close is not None:
            close()
    report.timed_out = run.timed_out
    merge(run.results, report, job, chosen, run.started, [here, *run.coverage])
    return report


def merge(
    results: list[_Result],
    report: Report,
    job: _Job,
    strategy: Strategy,
    started: float,
    coverage: Sequence[Coverage | None],
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
        if worker_coverage is not None:
            report.coverage.merge(worker_coverage)
    notes = set().union(*(r.notes for r in kept))
    finish_report(report, {hash(r.schedule) for r in kept}, notes, strategy, started)


class _SpreadRun:
    """Runs the lanes here in iteration order, starts workers for most of them when the run
    is long enough, and gathers every result; never leaves a worker behind."""

    def __init__(self, job: _Job, notify: ProgressCallback, time_budget: float | None) -> None:
        self.job = job
        self.notify = notify
        self.time_budget = time_budget
        self.started = wall_clock()
        self.results: list[_Result] = []
        self.coverage: list[Coverage | None] = []
        self.timed_out = False
        self.cutoff = job.iterations
        """No iteration at or above it runs: the first bug's, with `stop_at_first_bug`."""
        self.bugs: set[tuple[str, ...]] = set()  # distinct, as the report will count them
        self.runners: dict[int, IterationRunner] = {}
        self.workers: _Workers | None = None

    def run(self, sandbox: Sandbox) -> None:
        job = self.job
        iterations = job.iterations_of(frozenset(range(job.lanes)))
        polled = wall_clock()
        while (iteration := next(iterations, None)) is not None:
            if self.workers is not None:
                if wall_clock() - polled >= FLUSH_SECONDS:
                    self._gather(0.0)
                    polled = wall_clock()
                self.cutoff = min(self.cutoff, self.workers.stop_at.value)
            if iteration >= self.cutoff or self._out_of_time():
                break
            runner = self.runners.get(job.lane(iteration))
            if runner is None:
                runner = self.runners[job.lane(iteration)] = IterationRunner(job)
            result = runner.run(sandbox, iteration)
            if result is None:  # the strategy has nothing left (not for splittable ones)
                break
            self._add(result)
            if self.workers is None and self._worth_spreading(iteration + 1):
                processes = process_count(job.lanes)
                self.workers = _Workers(job, processes, first_new=iteration + 1)
                self.workers.start(self.cutoff)
                mine = frozenset(range(0, job.lanes, processes))  # the rest: the workers'
                iterations = job.iterations_of(mine, iteration + 1)
        while self.workers is not None and self.workers.connections:
            self._gather(self._time_left())

    def _add(self, result: _Result) -> None:
        self.results.append(result)
        if result.bug is not None:
            self.bugs.add(result.bug.signature)
            if self.job.stop_at_first_bug and result.iteration < self.cutoff:
                self.cutoff = result.iteration
                if self.workers is not None:
                    self.workers.lower(result.iteration)
        elapsed = wall_clock() - self.started
        self.notify(Progress(len(self.results), self.job.iterations, len(self.bugs), elapsed))

    def _worth_spreading(self, done: int) -> bool:
        """Whether the iterations left would take long enough here to gain from workers
        (`done` iterations, all those below it, ran here so far)."""
        elapsed = wall_clock() - self.started
        if elapsed < SPREAD_AFTER or process_count(self.job.lanes) < 2:
            return False
        left = (min(self.cutoff, self.job.iterations) - done) * elapsed / done
        if self.time_budget is not None:
            left = min(left, self.time_budget - elapsed)
        return left >= SPREAD_WORTH

    def _time_left(self) -> float | None:
        if self.time_budget is None or self.timed_out:
            return None
        return max(0.0, self.started + self.time_budget - wall_clock())

    def _out_of_time(self) -> bool:
        if self.time_budget is not None and wall_clock() - self.started >= self.time_budget:
            if not self.timed_out:
                self.timed_out = True
                if self.workers is not None:
                    self.workers.halt.value = 1
            return True
        return False

    def _gather(self, timeout: float | None) -> None:
        """Take in what the workers sent, waiting up to `timeout` seconds (None: until
        something comes); past the time budget, stop them."""
        workers = self.workers
        assert workers is not None
        interrupts.check()
        poll = POLL_SECONDS if timeout is None else min(timeout, POLL_SECONDS)
        ready = wait(list(workers.connections), poll)
        if not ready and timeout is not None and self._out_of_time():
            return
        for conn in ready:
            assert isinstance(conn, Connection)
            for result in workers.receive(conn):
                self._add(result)
        self.cutoff = min(self.cutoff, workers.stop_at.value)

    def shut_down(self) -> None:
        if self.workers is not None:
            self.coverage.extend(self.workers.coverage)
            self.workers.shut_down()


class _Workers:
    """The worker processes of a spread run: lane group g (the lanes l with l % processes
    == g) runs in worker g, for g >= 1; group 0 stays in this process."""

    def __init__(self, job: _Job, processes: int, first_new: int) -> None:
        self.job = job
        self.processes_wanted = processes
        self.first_new = first_new
        self.context = multiprocessing.get_context("spawn")
        # Lock-free shared integers (a lock would be a semaphore that a killed parent leaks).
        # `stop_at`: workers lower it to their bug's iteration; a race between two of them
        # can leave it a little high, which costs only iterations the report leaves out.
        # `halt`: the parent sets it to stop everything.
        self.stop_at = self.context.RawValue("q", job.iterations)
        self.halt = self.context.RawValue("b", 0)
        self.processes: list[BaseProcess] = []
        self.connections: dict[Connection, int] = {}
        self.coverage: list[Coverage] = []

    def lower(self, iteration: int) -> None:
        if iteration < self.stop_at.value:
            self.stop_at.value = iteration

    def start(self, cutoff: int) -> None:
        self.stop_at.value = cutoff
        # Workers ignore Ctrl-C and SIGHUP, which a terminal sends to them too (the parent
        # stops them); `_held` keeps one that arrives while they start from being lost here
        # or printing a traceback there.
        main = threading.current_thread() is threading.main_thread()
        if main and sys.platform != "win32":
            # started on first use, it would unblock SIGINT in this thread (it blocks and
            # then unblocks it around its own start): start it before the signals are held
            resource_tracker.ensure_running()
        release = _held(_IGNORED) if main else None
        hashing = os.environ.get("PYTHONHASHSEED")
        # the workers hash strings as this process does when its seed is fixed (sets iterate
        # in the same order, traces found there replay here); a random one cannot be passed
        os.environ["PYTHONHASHSEED"] = hash_seed() or "random"
        try:
            for group in range(1, self.processes_wanted):
                lanes = frozenset(range(group, self.job.lanes, self.processes_wanted))
                receiver, sender = self.context.Pipe(duplex=False)
                process = self.context.Process(
                    target=_worker,
                    args=(self.job, lanes, self.first_new, sender, self.stop_at, self.halt),
                    name=f"testkit-worker-{group}",
                    daemon=True,
                )
                process.start()
                sender.close()
                self.processes.append(process)
                self.connections[receiver] = len(self.processes) - 1
        finally:
            if hashing is None:
                del os.environ["PYTHONHASHSEED"]
            else:
                os.environ["PYTHONHASHSEED"] = hashing
            if release is not None:
                release()

    def receive(self, conn: Connection) -> list[_Result]:
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
                f"worker process {index + 1} died (exit code {process.exitcode}) before "
                "finishing its iterations: a script that calls explore(..., workers=N) needs "
                "its code under `if __name__ == '__main__':`; otherwise the test exited the "
                "process or crashed the interpreter (run it with workers=1 to see)"
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
                f"worker process {index + 1} failed (a bug in the tester, not in the test; "
                f"please report it):\n{payload}"
            )
        return list(payload)

    def shut_down(self) -> None:
        self.halt.value = 1
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


def _held(signals: tuple[int, ...]) -> Callable[[], None]:
    """Hold `signals` back while workers start; returns what ends the hold. Those that arrive
    meanwhile are noted and sent again once the handlers are back (a Ctrl-C is neither lost
    nor raised half-way through starting a worker, whichever thread the kernel picks), and
    they are blocked in this thread, so a worker starts with them blocked until it ignores
    them (no traceback from one arriving in its start-up)."""
    arrived: list[int] = []

    def note(number: int, frame: FrameType | None) -> None:
        arrived.append(number)

    saved = {number: signal.signal(number, note) for number in signals}
    masks = hasattr(signal, "pthread_sigmask")
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signals) if masks else set()

    def release() -> None:
        if masks:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # what is pending: noted
        for number, handler in saved.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(arrived):
            signal.raise_signal(number)

    return release


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


def _worker(
    job: _Job, lanes: frozenset[int], first_new: int, conn: Connection, stop_at: Any, halt: Any
) -> None:
    """A worker process: runs its lanes' iterations and streams the results back."""
    _die_with_parent()
    for number in _IGNORED:
        signal.signal(number, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent while it started us
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _IGNORED)
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
        _run_lanes(job, lanes, first_new, conn, stop_at, halt, hung, coverage)
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
        self.test = load_test(job.test) if isinstance(job.test, str) else job.test
        self.strategy = make_strategy(job.strategy)
        self.report = Report(job.name, self.strategy.name, job.seed, job.max_steps)
        self.signatures: set[tuple[str, ...]] = set()
        self.sometimes = SometimesBook()

    def run(self, sandbox: Sandbox, iteration: int) -> _Result | None:
        """Iteration `iteration`'s result; None when the strategy has nothing left."""
        job, strategy = self.job, self.strategy
        rng = random.Random(iteration_seed(job.seed, iteration))
        if not strategy.begin(iteration, rng, job.max_steps):
            return None
        delay = job.timer_delay if strategy.delays_timers else 0
        runtime, bug = run_once(
            self.test,
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


def learns(strategy: str | Strategy) -> bool:
    """Whether `strategy` carries anything from one iteration to the next (so a worker must
    re-run its lanes' earlier iterations to continue them as one process would)."""
    return type(make_strategy(strategy)) not in (RandomStrategy, ProbabilisticStrategy)


def _run_lanes(
    job: _Job,
    lanes: frozenset[int],
    first_new: int,
    conn: Connection,
    stop_at: Any,
    halt: Any,
    hung: Callable[[str], None],
    coverage: Coverage | None,
) -> None:
    runners = {lane: IterationRunner(job) for lane in lanes}
    pending: list[_Result] = []
    flushed = wall_clock()
    parent = multiprocessing.parent_process()
    with Sandbox(job.watchdog) as sandbox:
        sandbox.watchdog.on_give_up = hung
        if learns(job.strategy):  # the history the parent's run gave these lanes' strategies
            for iteration in job.iterations_of(lanes):
                if iteration >= first_new or halt.value:
                    break
                runners[job.lane(iteration)].run(sandbox, iteration)
        with installed(coverage) if coverage is not None else contextlib.nullcontext():
            for iteration in job.iterations_of(lanes, first_new):
                if iteration >= stop_at.value or halt.value:
                    break
                result = runners[job.lane(iteration)].run(sandbox, iteration)
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
