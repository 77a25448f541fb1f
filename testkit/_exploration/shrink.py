"""`testkit.shrink`, and shrinking the bugs of an `explore` report."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from testkit._engine.replaying import checked_trace
from testkit._engine.sandbox import wall_clock
from testkit._engine.test_function import TestFunction, check_test
from testkit._engine.trace import EVENT_KINDS, SCHEDULE_KINDS, Trace
from testkit._engine.watchdog import DEFAULT_WATCHDOG, check_watchdog
from testkit._errors import TestkitError
from testkit._reporting.report import Report
from testkit._shrinking.driver import Shrunk, check_budget, shrink_trace

DEFAULT_SHRINK_BUDGET = 30.0
"""Seconds `explore` spends shrinking, shared among the bugs it keeps."""


def original_path(path: Path) -> Path:
    """Where the trace as found goes, next to its shrunk form: `x.trace` -> `x.original.trace`."""
    if path.suffix == ".trace":
        return path.with_suffix(".original.trace")
    return path.with_name(path.name + ".original")


def load(test: TestFunction, trace: Trace | str | Path, where: str) -> Trace:
    """The trace to shrink, checked like `replay` checks it."""
    check_test(test, where)
    return checked_trace(test, trace, where)


KEEPABLE = SCHEDULE_KINDS | EVENT_KINDS | {"fault"}
"""Kinds of step `shrink(..., keep=...)` accepts (`fault`: the declared faults' steps)."""


def check_keep(keep: object, where: str) -> frozenset[str]:
    """`keep` is an iterable of step kinds (a single kind as a string is accepted too)."""
    kinds: Any = (keep,) if isinstance(keep, str) else keep
    chosen: frozenset[str] | None
    try:
        chosen = frozenset(kinds)
    except TypeError:
        chosen = None
    unknown = sorted(str(k) for k in chosen or () if k not in KEEPABLE)
    if chosen is None or unknown:
        raise TestkitError(
            f"{where}: keep must name kinds of step, some of {', '.join(sorted(KEEPABLE))}; "
            f"got {keep!r}"
        )
    return chosen


def shrink(
    test: TestFunction,
    trace: Trace | str | Path,
    *,
    keep: Iterable[str] = (),
    time_budget: float = DEFAULT_SHRINK_BUDGET,
) -> Trace:
    """A trace no longer than `trace` that replays to the same bug: the same kind, actor
    class and message (for a liveness bug, the same monitor and hot state).

    Deterministic for a given trace; `time_budget` (seconds) only cuts the search short,
    so a tiny budget may return the trace unshrunk. At equal length it prefers the run with
    fewer deviations from the default order (fewer preemptions to follow). `keep` names
    kinds of step to keep even when the bug happens without them (e.g. `("stop",)`, or
    `("fault",)` for injected faults): every such step of `trace` (by kind, actor class and
    what it ran) stays. Raises `TestkitError` if `trace` is not a trace of `test` that
    replays to a bug.

        small = testkit.shrink(execute, report.bug.original_trace, time_budget=10)
        with_restart = testkit.shrink(execute, report.bug.original_trace, keep=("stop",))
        testkit.replay(execute, small)
    """
    budget = check_budget(time_budget, "shrink(test, trace, time_budget=...)")
    kinds = check_keep(keep, "shrink(test, trace, keep=...)")
    loaded = load(test, trace, "shrink")
    return shrink_trace(test, loaded, budget, DEFAULT_WATCHDOG, kinds).trace


def shrink_file(
    test: TestFunction,
    trace: Trace | str | Path,
    time_budget: float,
    watchdog: float | None,
    keep: Iterable[str] = (),
) -> Shrunk:
    """`shrink` for the command line: the whole outcome (bug, lengths, time, notes)."""
    budget = check_budget(time_budget, "shrink")
    limit = check_watchdog(watchdog, "shrink")
    kinds = check_keep(keep, "shrink --keep")
    return shrink_trace(test, load(test, trace, "shrink"), budget, limit, kinds)


def shrink_report(
    test: TestFunction, report: Report, time_budget: float, watchdog: float | None
) -> None:
    """Shrink each bug `report` kept, sharing `time_budget` among them: a bug gets what is
    left divided by the bugs still to shrink. Each bug then describes its shrunk run, and
    keeps the trace found as `original_trace`."""
    started = wall_clock()
    bugs = [bug for bug in report.bugs if bug.trace is not None]
    for number, bug in enumerate(bugs):
        left = time_budget - (wall_clock() - started)
        if left <= 0:
            break
        try:
            shrunk = shrink_trace(test, bug.trace, left / (len(bugs) - number), watchdog)
        except TestkitError as exc:  # e.g. a program that decides differently on a rerun
            report.warnings.append(f"{bug.signature_text()} was not shrunk: {exc}")
            continue
        found = shrunk.bug
        report.warnings.extend(f"{bug.signature_text()}: {note}" for note in shrunk.notes)
        bug.trace = found.trace
        bug.original_trace = shrunk.original
        bug.actor, bug.state, bug.step = found.actor, found.state, found.step
        bug.message = found.message
        bug.events, bug.logs = found.events, found.logs
        bug.traceback = found.traceback
