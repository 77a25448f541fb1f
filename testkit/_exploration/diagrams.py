"""`sequence_diagram`: replay a trace with a recorder installed and draw what happened."""

from __future__ import annotations

import os
from pathlib import Path

from testkit._engine.replaying import check_target
from testkit._engine.test_function import TestFunction, check_test, test_name
from testkit._engine.trace import Trace
from testkit._errors import TestkitError
from testkit._exploration.replay import replay
from testkit._pictures.sequence import Diagram, diagram_of, recording, to_mermaid
from testkit._pictures.sequence_page import sequence_html

FORMATS = ("html", "mermaid")


def sequence_diagram(
    test: TestFunction,
    trace: Trace | str | os.PathLike[str],
    format: str = "html",
    *,
    logs: bool = False,
) -> str:
    """Replay `trace` and draw it: a self-contained HTML page (no network needed) or, with
    `format="mermaid"`, Mermaid `sequenceDiagram` text for issues and docs.

    One lifeline per actor, one for the test function and one per monitor; an arrow per
    delivered message from its real sender; states as they change; timers, random choices,
    monitor events (hot/cold) and the failing step. The HTML folds quiet stretches, filters
    by actor, jumps to the bug and shows log lines on demand (`logs=True` also captures
    DEBUG lines such as LoggingFSM's, and puts log lines in the Mermaid text).

        html = testkit.sequence_diagram(execute, "testkit-traces/bug.trace")
        Path("bug.html").write_text(html)
    """
    if format not in FORMATS:
        raise TestkitError(
            f"sequence_diagram(..., format={format!r}): the format must be one of "
            f"{', '.join(map(repr, FORMATS))}"
        )
    check_test(test, "sequence_diagram")
    if not isinstance(trace, (Trace, str, os.PathLike)):
        raise TestkitError(
            "sequence_diagram(test, trace): trace must be a Trace or the path of a trace "
            f"file, got {trace!r}"
        )
    loaded = trace if isinstance(trace, Trace) else Trace.load(Path(trace))
    check_target(loaded.test, test_name(test))
    diagram = record(test, loaded, logs)
    if format == "mermaid":
        return to_mermaid(diagram, logs)
    return sequence_html(diagram)


def record(test: TestFunction, trace: Trace, logs: bool) -> Diagram:
    """Replay `trace` with a recorder installed; what ran, even if the bug did not recur."""
    note = ""
    with recording(logs) as recorder:
        try:
            replay(test, trace)
        except TestkitError as exc:  # ReplayDivergence too: draw what ran, and say why
            if recorder.runtime is None:
                raise
            note = f"the replay did not reproduce the trace's bug: {exc}"
    return diagram_of(recorder, trace.test or test_name(test), trace, note)
