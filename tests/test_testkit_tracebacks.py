"""`Bug.traceback`: the failing handler's (or test function's) frames, file:line, user frames
first and the tester's left out; printed by the command line (short, whole with -v), in pytest
failures and on the sequence diagram page; text that survives workers, replay and shrinking."""

from __future__ import annotations

import pickle
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

import testkit
from fsm import Event, Monitor, State
from testkit import Bug, explore
from testkit._cli import main
from testkit._engine.tracebacks import short_traceback

from . import buggy_systems
from . import ending_systems as endings
from .test_testkit_browser import BROWSER, _browser

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = endings.__file__
TESTER = str(ROOT / "testkit")


def _frames(text: str) -> list[tuple[str, str]]:
    """(file, function) of each frame of a traceback's text."""
    return re.findall(r'  File "([^"]+)", line \d+, in (\S+)', text)


def _bug(test: Any, **kwargs: Any) -> Bug:
    arguments: dict[str, Any] = {"iterations": 5, "seed": 1, "strategy": "random", **kwargs}
    report = explore(test, **arguments)
    assert report.bug is not None
    return report.bug


def test_an_exception_in_a_handler_carries_its_traceback() -> None:
    bug = _bug(endings.key_error_in_handler, shrink=False)
    text = bug.traceback
    assert text.startswith("Traceback (most recent call last):\n")
    assert text.rstrip().endswith("KeyError: 'missing'")
    frames = _frames(text)
    assert frames == [(SYSTEMS, "ready"), (SYSTEMS, "fail")]
    assert 'lookup["missing"] += 1' in text  # the source line, as Python shows it
    assert TESTER not in text and "greenlet" not in text  # the tester's frames left out


def test_an_exception_in_the_test_function_carries_its_traceback() -> None:
    bug = _bug(endings.deep_error_in_test, shrink=False)
    assert (bug.actor, bug.message) == ("test", "ValueError: deep down")
    frames = _frames(bug.traceback)
    assert frames[0] == (SYSTEMS, "deep_error_in_test")
    assert [name for _, name in frames[1:]] == ["_nested"] * 3


class Strict(Monitor):
    """Fails on its first event."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("watching", None)
        self.when("watching", self.watching)
        self.initialize()

    def watching(self, event: Event) -> State:
        assert event.message != "bad", "a bad event"
        return self.stay()


def strict_monitor(runtime: testkit.Runtime) -> None:
    runtime.register_monitor(Strict)
    runtime.monitor(Strict, "bad")


def test_a_monitor_assertion_carries_its_traceback() -> None:
    bug = _bug(strict_monitor, shrink=False)
    assert (bug.kind, bug.actor) == ("safety", "Strict")
    assert _frames(bug.traceback) == [(__file__, "watching")]  # from the monitor's handler on
    assert "AssertionError: a bad event" in bug.traceback


def test_bugs_that_no_exception_made_have_none() -> None:
    bug = _bug(buggy_systems.never_served, shrink=False, strategy="fair-pos", max_steps=400)
    assert bug.kind == "liveness" and bug.traceback == ""


def test_the_traceback_travels_from_workers_and_through_pickle() -> None:
    here = _bug(endings.deep_error_in_handler, shrink=False)
    there = _bug(endings.deep_error_in_handler, shrink=False, workers=2)
    assert there.traceback == here.traceback != ""
    assert pickle.loads(pickle.dumps(here)).traceback == here.traceback


def test_replayed_and_shrunk_bugs_carry_it_too() -> None:
    found = _bug(endings.deep_error_in_handler, shrink=False)
    replayed = testkit.replay(endings.deep_error_in_handler, found.trace).bug
    assert replayed is not None and replayed.traceback == found.traceback
    shrunk = _bug(endings.deep_error_in_handler, shrink=True)
    assert shrunk.traceback == found.traceback


def test_the_short_form_keeps_the_innermost_frames_and_says_what_it_left_out() -> None:
    text = _bug(endings.deep_error_in_handler, shrink=False).traceback
    assert len(_frames(text)) == 6  # ready, fail, _nested x 4
    short = short_traceback(text)
    assert [name for _, name in _frames(short)] == ["_nested"] * 3
    assert "  ... 3 more frame(s): -v shows them all" in short
    assert short.endswith("ValueError: deep down")


def test_the_command_line_prints_the_short_form_and_all_of_it_with_v(tmp_path: Path) -> None:
    target = "tests.ending_systems:deep_error_in_handler"
    args = ["test", target, "-i", "3", "-j", "1", "--seed", "1", "--no-progress"]
    short, full = StringIO(), StringIO()
    assert main([*args, "--trace-out", str(tmp_path / "a")], out=short) == 1
    assert main([*args, "--trace-out", str(tmp_path / "b"), "-v"], out=full) == 1
    assert "  ... 3 more frame(s): -v shows them all" in short.getvalue()
    assert "in ready" not in short.getvalue() and "ValueError: deep down" in short.getvalue()
    assert "in ready" in full.getvalue() and "more frame(s)" not in full.getvalue()
    replayed = StringIO()
    trace = str(tmp_path / "a.trace")  # --trace-out gave the name its suffix
    assert main(["replay", target, trace, "-v"], out=replayed) == 1
    assert "in ready" in replayed.getvalue()


def test_a_pytest_failure_shows_the_whole_traceback(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert(ROOT)
    pytester.makepyfile(
        test_failing="""
        from tests import ending_systems

        def test_deep(explore):
            explore(ending_systems.deep_error_in_handler, iterations=3, seed=1)
        """
    )
    result = pytester.runpytest("-p", "testkit.pytest_plugin", "-rN")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*BUG: exception bug in Raiser#1*ValueError: deep down",
            "*Traceback (most recent call last):",
            f'*File "{SYSTEMS}", line *, in ready',
            "*ValueError: deep down",
        ]
    )


def test_the_sequence_page_shows_it_folded_under_the_bug() -> None:
    bug = _bug(endings.key_error_in_handler, shrink=False)
    page = testkit.sequence_diagram(endings.key_error_in_handler, bug.trace)
    block = re.search(
        r'<details id="traceback"><summary>traceback</summary><pre>(.*?)</pre>', page, re.S
    )
    assert block is not None
    assert "KeyError: &#x27;missing&#x27;" in block.group(1)
    assert "in fail" in block.group(1)
    fixed = testkit.explore(buggy_systems.lost_update, iterations=50, seed=1).bug
    assert fixed is not None and fixed.kind == "safety"
    page = testkit.sequence_diagram(buggy_systems.lost_update, fixed.trace)
    assert '<details id="traceback">' in page  # an assertion in the test function: its frames


@pytest.mark.skipif(BROWSER is None, reason="no headless browser (see test_testkit_browser.py)")
def test_a_browser_shows_the_folded_traceback_under_the_bug(tmp_path: Path) -> None:
    bug = _bug(endings.deep_error_in_handler, shrink=False)
    page = tmp_path / "bug.html"
    page.write_text(testkit.sequence_diagram(endings.deep_error_in_handler, bug.trace))
    dom = _browser(page, "--dump-dom")
    assert '<details id="traceback"><summary>traceback</summary><pre>' in dom
    assert "ValueError: deep down</pre></details>" in dom
    assert 'id="heads" style="top:' in dom  # the page's script ran and laid the page out
