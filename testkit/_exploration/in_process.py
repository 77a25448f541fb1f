"""Exploring in this process: iteration after iteration under one sandbox, each new bug kept
with its trace, and the report's closing figures (shared with the other ways of running)."""

from __future__ import annotations

import contextlib
import random

from testkit._engine import interrupts
from testkit._engine.bug import Bug
from testkit._engine.iteration import delay_rng, finish_bug, iteration_seed, run_once
from testkit._engine.observer import installed
from testkit._engine.runtime import Runtime
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.sometimes import SometimesBook
from testkit._engine.test_function import test_name
from testkit._exploration.settings import Settings
from testkit._reporting.progress import Progress, ProgressCallback, progress_callback
from testkit._reporting.report import FaultCounts, Interrupted, Report
from testkit._strategies import DFSStrategy, Strategy, make_strategy


def explore_here(settings: Settings, progress: ProgressCallback | bool | None) -> Report:
    """Run `settings`' iterations one after the other in this process."""
    strategy = make_strategy(settings.strategy)
    seed = random.SystemRandom().randrange(2**31) if settings.seed is None else settings.seed
    name = settings.name or test_name(settings.test)
    run = _Run(settings, strategy, seed, Report(name, strategy.name, seed, settings.max_steps))
    run.report.faults = FaultCounts(settings.faults)
    notify = progress_callback(progress)
    observing = installed(run.report.coverage) if settings.coverage else contextlib.nullcontext()
    try:
        with interrupts.interruptible(), Sandbox(settings.watchdog) as sandbox, observing:
            run.started = wall_clock()  # the run, not freezegun's one-off start
            run.iterate(sandbox, notify)
    except KeyboardInterrupt:
        run.report.interrupted = True
        run.finish()
        raise Interrupted(run.report) from None
    finally:
        close = getattr(notify, "close", None)
        if close is not None:
            close()
    run.finish()
    return run.report


class _Run:
    """One exploration's progress through its iterations, and what it has seen so far."""

    def __init__(self, settings: Settings, strategy: Strategy, seed: int, report: Report) -> None:
        self.settings = settings
        self.strategy = strategy
        self.seed = seed
        self.report = report
        max_steps, threshold = settings.max_steps, settings.liveness_threshold
        self.threshold = max_steps // 2 if threshold is None else threshold
        self.schedules: set[int] = set()
        self.notes: set[str] = set()
        self.started = wall_clock()
        self.sometimes = SometimesBook()

    def iterate(self, sandbox: Sandbox, notify: ProgressCallback) -> None:
        settings, report = self.settings, self.report
        for iteration in range(settings.iterations):
            budget = settings.time_budget
            if budget is not None and wall_clock() - self.started >= budget:
                report.timed_out = True
                break
            rng = random.Random(iteration_seed(self.seed, iteration))
            if not self.strategy.begin(iteration, rng, settings.max_steps):
                report.exhausted = True
                break
            bug = self.once(sandbox, iteration)
            elapsed = wall_clock() - self.started
            notify(Progress(iteration + 1, settings.iterations, len(report.bugs), elapsed))
            if bug is not None and settings.stop_at_first_bug:
                break

    def once(self, sandbox: Sandbox, iteration: int) -> Bug | None:
        """Run iteration `iteration` and count what it did into the report."""
        settings, strategy, report = self.settings, self.strategy, self.report
        delay = settings.timer_delay if strategy.delays_timers else 0
        runtime, bug = run_once(
            settings.test,
            strategy,
            settings.max_steps,
            self.threshold,
            sandbox,
            delay,
            delay_rng(self.seed, iteration),
            faults=settings.faults,
            sometimes=self.sometimes,
        )
        strategy.end(runtime.steps)
        self.count(runtime)
        if bug is not None:
            report.buggy_iterations += 1
            if report.add_bug(bug):  # a new kind of bug: keep it with its trace
                finish_bug(
                    bug, runtime, strategy, report.test, self.seed, iteration, self.threshold
                )
        return bug

    def count(self, runtime: Runtime) -> None:
        report = self.report
        report.iterations += 1
        report.steps += runtime.steps
        report.bound_reached += runtime.bound_reached
        report.count_facts(runtime.facts())
        self.notes |= runtime.notes
        self.schedules.add(hash(runtime.trace.schedule_key()))

    def finish(self) -> None:
        finish_report(self.report, self.schedules, self.notes, self.strategy, self.started)


def finish_report(
    report: Report,
    schedules: set[int],
    notes: set[str],
    strategy: Strategy,
    started: float,
) -> None:
    """The closing figures: distinct schedules, time taken, and why a green run may mean
    less than it seems."""
    report.schedules = len(schedules)
    report.elapsed = wall_clock() - started
    if report.iterations and report.bound_reached == report.iterations and report.bug is None:
        why = (
            "dfs cannot exhaust a system that never becomes quiescent; "
            if isinstance(strategy, DFSStrategy)
            else ""
        )
        report.warnings.append(
            f"every iteration was cut off (at max_steps={report.max_steps}, or where virtual "
            "time ends) before the system became quiescent, so no run was tested to its "
            "end: a timer that re-arms forever or a message loop keeps it busy, or max_steps "
            f"is too low; {why}raise max_steps, or stop the periodic work when the test is done"
        )
    report.warnings.extend(sorted(notes))
