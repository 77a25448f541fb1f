"""What two reports must share to count as the same exploration (one process, workers, cluster)."""

from __future__ import annotations

from typing import Any

import testkit


def report_facts(report: testkit.Report) -> tuple[Any, ...]:
    """Counts, schedules and the bug (headline, trace text, events, how often it was seen)."""
    bug = report.bug
    return (
        report.iterations,
        report.buggy_iterations,
        report.steps,
        report.schedules,
        report.bound_reached,
        None if bug is None else (bug.headline(), bug.trace.to_text(), bug.events, bug.count),
    )
