"""Dead letters under the tester: published as in production, and kept in the trace and the
sequence diagram with the step they happened in."""

from __future__ import annotations

import testkit
from testkit import Trace

from . import dead_letter_systems as systems


def _bug() -> testkit.Bug:
    report = testkit.explore(systems.late_message, iterations=1, seed=1, progress=False)
    assert report.bug is not None
    assert report.bug.message == "AssertionError: the test ends here, with a trace"
    return report.bug


def test_a_message_left_in_a_stopped_mailbox_reaches_a_subscribed_probe() -> None:
    _bug()  # the system's own expect_dead_letter("late") passed: its bug is the one after


def test_the_trace_shows_the_dead_letter_after_its_step_and_reads_back() -> None:
    trace = _bug().trace
    assert trace.dead_letters == [(3, "str 'late' from test to Sink#1")]
    lines = trace.to_text().splitlines()
    at = lines.index("# dead letter at step 3: str 'late' from test to Sink#1")
    assert lines[at - 1].startswith("3 deliver Sink#1 str 'stop'")
    again = Trace.from_text(trace.to_text())
    assert again.dead_letters == trace.dead_letters and again.steps == trace.steps
    assert again.to_text() == trace.to_text()


def test_a_trace_with_dead_letters_replays_and_shrinks() -> None:
    bug = _bug()
    replayed = testkit.replay(systems.late_message, bug.trace)
    assert replayed.bug is not None and replayed.bug.trace.dead_letters == bug.trace.dead_letters
    shrunk = testkit.shrink(systems.late_message, bug.trace, time_budget=10)
    assert shrunk.dead_letters == bug.trace.dead_letters


def test_the_sequence_diagram_draws_a_crossed_arrow() -> None:
    text = testkit.sequence_diagram(systems.late_message, _bug().trace, format="mermaid")
    assert "P0-xP1: 3: \u2717 late (dead letter)" in text
