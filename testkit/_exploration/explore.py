"""`explore`: check the arguments, run the iterations (here, in workers or on a cluster),
then finish the report (shrink its bugs)."""

from __future__ import annotations

from typing import Any

from testkit._engine.iteration import DEFAULT_TIMER_DELAY
from testkit._engine.test_function import TestFunction
from testkit._engine.watchdog import DEFAULT_WATCHDOG
from testkit._exploration.cluster import explore_on_cluster
from testkit._exploration.in_process import explore_here
from testkit._exploration.settings import Settings, checked_settings
from testkit._exploration.shrink import shrink_report
from testkit._exploration.workers import explore_parallel, splittable
from testkit._reporting.progress import ProgressCallback
from testkit._reporting.report import Interrupted, Report
from testkit._strategies import Strategy


def explore(
    test: TestFunction,
    iterations: int = 100,
    max_steps: int = 10_000,
    strategy: str | Strategy = "portfolio",
    seed: int | None = None,
    *,
    stop_at_first_bug: bool = True,
    liveness_threshold: int | None = None,
    timer_delay: int = DEFAULT_TIMER_DELAY,
    progress: ProgressCallback | bool | None = None,
    name: str | None = None,
    time_budget: float | None = None,
    watchdog: float | None = DEFAULT_WATCHDOG,
    workers: int = 1,
    dask: Any = None,
    coverage: bool = True,
    shrink: bool = True,
    shrink_budget: float = 30.0,
) -> Report:
    """Run `test(runtime)` for up to `iterations` schedules chosen by `strategy`.

    Returns a `Report`; `report.bug` is the first bug found (with its `Trace`) or None.
    `liveness_threshold` (default `max_steps // 2`): under a fair strategy, a monitor hot for
    at least that many steps when `max_steps` is reached is a liveness bug.
    `timer_delay`: a timer becomes ready to fire up to this many steps after it is set.
    `time_budget`: stop starting new iterations after this many seconds (the report says
    how many ran); set it in CI to bound a run whatever the machine's speed.
    `progress`: True for a progress bar on stderr, False for none, a callable to receive
    `Progress`; the default prints a line every 10 s once a run has lasted that long.
    `watchdog`: seconds a handler or the test function may run without the schedule moving
    before it is stopped and reported as a `TestkitError` (None: never). Raise it only for
    handlers that legitimately compute that long.
    With `stop_at_first_bug=False`, `report.bugs` holds one bug per distinct signature (kind,
    actor class, and the exception's type and where it was raised, or for liveness and
    deadlocks the message), each with its trace and `count` of iterations.
    `workers`: deal the iterations to that many lanes, each with a strategy of its own, and
    run them in up to that many processes (at most 4 per core): in this one first, and in
    worker processes too once the run has lasted 0.25 s and what is left would take 0.5 s
    more (the test must be importable: a module-level function). Iteration i runs as in
    one process, so with a stateless strategy (`random`, `probabilistic`) the report is the
    same whatever `workers` is; a learning strategy (`pct`, `prioritization`, the fair
    ones, `portfolio`'s members) learns per lane, so its report is the same for the same
    `workers`, however many processes ran it; `dfs` always runs in one process (its search
    tree is one sequence).
    `dask`: a `dask.distributed.Client` or a scheduler address (`tcp://host:8786`): run the
    iterations on that cluster instead, in batches of 16 (extra `pykka-fsm[dask]`); the report
    is the same whatever the cluster's size.
    `shrink`: shrink each kept bug's trace (`bug.trace` the shrunk one, `bug.original_trace`
    the one found), spending at most `shrink_budget` seconds on top of the exploration,
    shared among the bugs (see `testkit.shrink`).
    Ctrl-C raises `testkit.Interrupted`, whose `.report` covers the iterations that ran.
    `coverage`: count states, transitions and events into `report.coverage` (False: skip).

        report = testkit.explore(execute, iterations=1000, max_steps=2000, seed=1)
        assert report.bug is None, report
    """
    settings = checked_settings(locals())
    report = _run(settings, progress, dask)
    return _finish(report, settings)


def _run(settings: Settings, progress: ProgressCallback | bool | None, dask: Any) -> Report:
    """The iterations, run where the settings say: on a cluster, in workers, or here."""
    if dask is not None:
        return explore_on_cluster(settings, dask, progress)
    if settings.workers > 1 and splittable(settings.strategy):
        return explore_parallel(settings, progress)
    return explore_here(settings, progress)


def _finish(report: Report, settings: Settings) -> Report:
    """`report` with its bugs shrunk within the settings' budget (0: left as found)."""
    if settings.shrink_budget <= 0 or not report.bugs:
        return report
    try:
        shrink_report(settings.test, report, settings.shrink_budget, settings.watchdog)
    except KeyboardInterrupt:
        report.interrupted = True
        raise Interrupted(report) from None
    return report
