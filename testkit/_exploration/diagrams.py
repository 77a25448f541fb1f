"""`sequence_diagram`: replay a trace with a recorder installed and draw what happened."""

from __future__ import annotations

import os
from pathlib import Path

from testkit._engine.replaying import check_target
from testkit._engine.test_function import TestFunction, check_test, test_name
from testkit._engine.trace import Trace
from testkit._errors import TestkitError
from testkit._explaining.explanation import Explanation
from testkit._exploration.replay import replay
from testkit._pictures.sequence import Diagram, diagram_of, recording, to_mermaid
from testkit._pictures.sequence_page import sequence_html
from testkit._reporting.words import DEFAULT_PAYLOAD_LENGTH

FORMATS = ("html", "mermaid")


def sequence_diagram(
    test: TestFunction,
    trace: Trace | str | os.PathLike[str],
    format: str = "html",
    *,
    logs: bool = False,
    explanation: Explanation | None = None,
    payload_length: int = DEFAULT_PAYLOAD_LENGTH,
) -> str:
    """Replay `trace` and draw it: a self-contained HTML page (no network needed) or, with
    `format="mermaid"`, Mermaid `sequenceDiagram` text for issues and docs.

    One lifeline per actor, one for the test function and one per monitor; an arrow per
    delivered message from its real sender; states as they change; timers, random choices,
    monitor events (hot/cold) and the failing step. The HTML folds quiet stretches, filters
    by actor, jumps to the bug and shows log lines on demand (`logs=True` also captures
    DEBUG lines such as LoggingFSM's, and puts log lines in the Mermaid text). Arrows carry
    the message's type and up to `payload_length` characters of its payload (`Debit(o-2)`).

    With the trace's `explanation` (`bug.explain(test)`), the page highlights the causal
    slice (a checkbox shows only it), states the explanation, marks the decisive steps, and
    a button switches to the passing run with the decisive change made.

        html = testkit.sequence_diagram(execute, "testkit-traces/bug.trace")
        Path("bug.html").write_text(html)
        why = report.bug.explain(execute)
        Path("why.html").write_text(testkit.sequence_diagram(execute, report.bug.trace,
                                                             explanation=why))
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
    if (
        isinstance(payload_length, bool)
        or not isinstance(payload_length, int)
        or payload_length < 0
    ):
        raise TestkitError(
            "sequence_diagram(..., payload_length=...): a number of characters >= 0, got "
            f"{payload_length!r}"
        )
    loaded = trace if isinstance(trace, Trace) else Trace.load(Path(trace))
    check_target(loaded.test, test_name(test))
    diagram = record(test, loaded, logs, payload_length)
    if explanation is not None:
        explained(diagram, explanation, test, logs, payload_length)
    if format == "mermaid":
        return to_mermaid(diagram, logs)
    return sequence_html(diagram)


def explained(
    diagram: Diagram,
    explanation: Explanation,
    test: TestFunction,
    logs: bool,
    payload_length: int,
) -> None:
    """Mark `explanation`'s slice and decisive steps on `diagram`, and draw the passing
    variant beside it."""
    if not isinstance(explanation, Explanation):
        raise TestkitError(
            f"sequence_diagram(..., explanation=...): an Explanation (bug.explain(test)), "
            f"got {explanation!r}"
        )
    if diagram.trace_steps != len(explanation.trace.steps):
        raise TestkitError(
            "sequence_diagram(..., explanation=...): the explanation is of another trace "
            f"({len(explanation.trace.steps)} steps, this one has {diagram.trace_steps}); "
            "explain this trace (bug.explain explains bug.trace)"
        )
    diagram.slice = explanation.slice_steps
    diagram.explanation = explanation.story  # the bug is shown above it
    change = explanation.decisive
    if change is None or explanation.passing is None:
        return
    diagram.decisive = change.steps
    diagram.change = change.text
    passing = record(test, explanation.passing, logs, payload_length)
    passing.note = ""
    passing.bug = ""
    passing.decisive = change.passing_steps
    passing.change = change.text
    passing.explanation = explanation.text
    diagram.passing = passing


def record(
    test: TestFunction, trace: Trace, logs: bool, payload_length: int = DEFAULT_PAYLOAD_LENGTH
) -> Diagram:
    """Replay `trace` with a recorder installed; what ran, even if the bug did not recur."""
    note = ""
    with recording(logs, payload_length) as recorder:
        try:
            replay(test, trace)
        except TestkitError as exc:  # ReplayDivergence too: draw what ran, and say why
            if recorder.runtime is None:
                raise
            note = f"the replay did not reproduce the trace's bug: {exc}"
    return diagram_of(recorder, trace.test or test_name(test), trace, note)
