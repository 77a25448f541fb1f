"""What the tester reads and writes: where traces go, the names tests go by, what the command
line prints, and the pages it draws, including from hostile input."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

import fsm
import testkit
from testkit import TestkitError, Trace, explore
from testkit._cli import main

from . import io_systems

ROOT = Path(__file__).resolve().parent.parent
LOST_UPDATE = ["-i", "50", "--max-steps", "500", "-s", "random", "--seed", "1", "-j", "1"]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


# ---- where --trace-out puts a trace -------------------------------------------------------


def test_trace_out_ending_in_a_separator_is_a_directory_created_for_it(tmp_path: Path) -> None:
    folder = tmp_path / "newdir"
    code, text = run(
        "test", "tests.buggy_systems:lost_update", *LOST_UPDATE, "--trace-out", f"{folder}/"
    )
    assert code == 1, text
    assert folder.is_dir()
    trace = next(
        p for p in folder.iterdir() if p.name.endswith(".trace") and ".original." not in p.name
    )
    assert trace.name == Trace.load(trace).file_name()
    assert f"trace written to {trace}" in text
    assert (folder / trace.name.replace(".trace", ".original.trace")).is_file()
    assert trace.with_suffix(".html").is_file()


def test_trace_out_naming_an_existing_directory_puts_the_trace_inside(tmp_path: Path) -> None:
    code, text = run(
        "test", "tests.buggy_systems:lost_update", *LOST_UPDATE, "--no-shrink",
        "--trace-out", str(tmp_path),
    )  # fmt: skip
    assert code == 1, text
    (trace,) = tmp_path.glob("*.trace")
    assert trace.name.startswith("tests.buggy_systems_lost_update-random-seed1-it")


def test_trace_out_without_the_suffix_gets_it_and_its_neighbours_match(tmp_path: Path) -> None:
    code, text = run(
        "test", "tests.buggy_systems:lost_update", *LOST_UPDATE, "--trace-out",
        str(tmp_path / "bug"),
    )  # fmt: skip
    assert code == 1, text
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bug.html",
        "bug.original.trace",
        "bug.trace",
    ]
    assert "replay it with: python -m testkit replay tests.buggy_systems:lost_update " in text
    assert str(tmp_path / "bug.trace") in text


def test_trace_save_adds_the_suffix_to_a_bare_name(tmp_path: Path) -> None:
    trace = Trace([], test="m:f", strategy="random", seed=1)
    assert trace.save(tmp_path / "plain") == tmp_path / "plain.trace"
    assert trace.save(str(tmp_path / "v1.2")) == tmp_path / "v1.2.trace"
    assert trace.save(tmp_path / "kept.trace") == tmp_path / "kept.trace"


def test_several_bugs_into_one_file_name_are_numbered(tmp_path: Path) -> None:
    code, text = run(
        "test", "tests.io_systems:overdraft", "-i", "200", "-s", "random", "--seed", "3",
        "-j", "1", "--all-bugs", "--no-shrink", "--no-progress",
        "--trace-out", str(tmp_path / "found.trace"),
    )  # fmt: skip
    assert code == 1, text
    names = sorted(p.name for p in tmp_path.glob("*.trace"))
    assert names == ["found-1.trace", "found-2.trace"], text


# ---- tests made by a factory --------------------------------------------------------------


def test_a_factory_made_test_gets_a_replay_command_that_works(tmp_path: Path) -> None:
    for target in ("tests.io_systems:made", "tests.io_systems:make()"):
        folder = tmp_path / target.replace(":", "_").replace("()", "_call")
        code, text = run("test", target, *LOST_UPDATE, "--trace-out", f"{folder}/")
        assert code == 1, text
        assert "sequence diagram written to" in text, text
        (command,) = re.findall(r"replay it with: (.*)", text)
        argv = shlex.split(command)
        assert argv[:5] == ["python", "-m", "testkit", "replay", target]
        assert Trace.load(argv[5]).test == target
        code, again = run("replay", target, argv[5])
        assert code == 1, again
        assert "reproduced the bug" in again


def test_explore_names_a_factory_made_test_by_its_module_level_name() -> None:
    report = explore(io_systems.made, iterations=50, max_steps=500, strategy="random", seed=1)
    assert report.bug is not None
    assert report.bug.trace.test == "tests.io_systems:made"
    assert testkit.replay(io_systems.made, report.bug.trace).bug is not None
    assert report.test == "tests.io_systems:made" and "made_test" not in report.bug.headline()


def test_a_factory_made_test_runs_in_workers(tmp_path: Path) -> None:
    code, text = run(
        "test", "tests.io_systems:make()", "-i", "40", "-s", "random", "--seed", "1",
        "-j", "2", "--no-shrink", "--trace-out", f"{tmp_path}/",
    )  # fmt: skip
    assert code == 1, text
    assert "reproduced" not in text and "cannot be imported" not in text


def test_bad_factory_targets_are_clear_errors() -> None:
    for target, message in [
        ("tests.io_systems:make(1)", "MODULE:FACTORY() for a factory called without arguments"),
        ("tests.io_systems:HOSTILE()", "HOSTILE is not a factory to call"),
        ("tests.io_systems:Withdraw()", "calling the factory Withdraw() failed: TypeError"),
    ]:
        code, text = run("test", target, "-j", "1")
        assert code == 2, text
        assert message in text, text


# ---- hostile text: pages, terminals, shells -----------------------------------------------


def _hostile_page() -> str:
    report = explore(io_systems.hostile_html, iterations=5, strategy="random", seed=1)
    assert report.bug is not None and io_systems.HOSTILE in report.bug.message
    return testkit.sequence_diagram(io_systems.hostile_html, report.bug.trace)


def test_a_hostile_message_cannot_end_the_pages_data_block() -> None:
    page = _hostile_page()
    assert "<!--" not in page.split("<body>", 1)[1]
    block = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert block is not None and "<" not in block.group(1)
    assert io_systems.HOSTILE in json.dumps(json.loads(block.group(1)), ensure_ascii=False)
    coverage = explore(io_systems.hostile_html, iterations=2, seed=1).coverage
    assert "<!--" not in coverage.to_html(io_systems.HOSTILE).split("<body>", 1)[1]


BROWSER = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)


@pytest.mark.skipif(BROWSER is None, reason="no headless browser (apt-get install chromium)")
def test_a_hostile_message_leaves_the_page_drawn_in_a_browser(tmp_path: Path) -> None:
    assert BROWSER is not None
    page = tmp_path / "hostile.html"
    page.write_text(_hostile_page())
    dom = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert 'data-lifeline="Parrot#1"' in dom and 'id="bug"' in dom
    assert "cannot repeat &lt;!--&lt;script&gt;document.body.innerHTML='gone'" in dom


def _edited(trace: Path, **header: str) -> Path:
    lines = trace.read_text().splitlines()
    for key, value in header.items():
        lines = [f"# {key}: {value}" if line.startswith(f"# {key}:") else line for line in lines]
    trace.write_text("\n".join(lines) + "\n")
    return trace


def test_control_characters_from_a_trace_are_escaped_and_commands_quoted(
    tmp_path: Path,
) -> None:
    code, _ = run("test", "tests.buggy_systems:lost_update", *LOST_UPDATE, "--no-shrink",
                  "--trace-out", str(tmp_path / "t"))  # fmt: skip
    assert code == 1
    trace = _edited(tmp_path / "t.trace", bug="\x1b[2J\x1b]0;pwned\x07 cleared")
    code, text = run("replay", "tests.buggy_systems:lost_update", str(trace))
    assert code == 1, text
    assert "\x1b" not in text and "\x07" not in text
    assert "note: the trace recorded a different bug: \\x1b[2J\\x1b]0;pwned\\x07 cleared" in text
    _edited(trace, test="tests.buggy_systems:lost_update;touch x\x1b[1A")
    code, text = run("replay", "tests.io_systems:overdraft", str(trace))
    assert code == 2, text
    assert "\x1b" not in text
    assert "(python -m testkit replay 'tests.buggy_systems:lost_update;touch x\\x1b[1A' TRACE)" in (
        text
    )


def test_the_replay_command_quotes_an_odd_trace_path(tmp_path: Path) -> None:
    odd = tmp_path / "a b;c"
    code, text = run("test", "tests.buggy_systems:lost_update", *LOST_UPDATE, "--no-shrink",
                     "--trace-out", str(odd))  # fmt: skip
    assert code == 1
    assert (
        f"replay it with: python -m testkit replay tests.buggy_systems:lost_update '{odd}.trace'"
        in (text)
    )


@pytest.mark.parametrize("option", ["--seed", "--max-steps", "--timer-delay", "--iterations"])
def test_numbers_a_trace_could_not_hold_are_refused_up_front(option: str) -> None:
    code, text = run("test", "tests.buggy_systems:lost_update", "-j", "1", option, "9" * 31)
    assert code == 2, text
    assert "has 31 digits; a trace keeps at most 30" in text
    with pytest.raises(TestkitError, match=r"seed=\.\.\.\) has 31 digits"):
        explore(io_systems.made, seed=-(10**30))
    big = 10**30 - 1  # the largest a trace holds still round-trips
    trace = Trace([], test="m:f", seed=-big, max_steps=big, timer_delay=big)
    assert Trace.from_text(trace.to_text()).seed == -big


def test_an_error_about_a_huge_trace_line_quotes_only_its_start(tmp_path: Path) -> None:
    bad = tmp_path / "huge.trace"
    bad.write_text("# testkit-trace 2\n0 start A#1\n1 " + "x" * 5_000_000 + "\n")
    with pytest.raises(TestkitError) as error:
        Trace.load(bad)
    assert len(str(error.value)) < 1000 and "5,000,002 characters" in str(error.value)
    bad.write_text("# testkit-trace 2\n# seed: " + "1" * 1_000_000 + "\n")
    with pytest.raises(TestkitError) as error:
        Trace.load(bad)
    assert len(str(error.value)) < 1000


def test_the_fsm_docstring_points_to_what_exists() -> None:
    assert "SPEC.md" not in (fsm.__doc__ or "")
    assert "README" in (fsm.__doc__ or "")


def test_help_states_each_default_once(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("test", "replay", "shrink", "show"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "(default: None)" not in text and "(default: False)" not in text
        assert not re.search(r"\(default: [^)]*\) \(default:", text), text
    with pytest.raises(SystemExit):
        main(["test", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 100)" in text and "(default: all cores)" in text


def test_the_readme_shows_what_the_main_job_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from failover_examples.__main__ import main as main_job

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## What the main job shows", 1)[1]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    assert main_job([]) == 0
    printed = capsys.readouterr().out.splitlines()
    shown = [line for line in block.splitlines() if "..." not in line and " steps/s" not in line]
    missing = [line for line in shown if line not in printed]
    assert not missing, "\n".join(printed)


# ---- --all-bugs: progress and grouping ----------------------------------------------------


def test_progress_after_a_bug_prints_a_line_per_new_bug_not_per_iteration() -> None:
    from testkit import Progress
    from testkit._reporting.progress import ProgressBar

    log = io.StringIO()
    lines = ProgressBar(log, enabled=True, lines=True)
    for done in range(1, 501):  # 500 iterations in 0.13 s, the first bug at 10, another at 300
        bugs = 0 if done < 10 else 1 if done < 300 else 2
        lines(Progress(done, 500, bugs, done * 0.13 / 500))
    assert log.getvalue().splitlines() == [
        "progress: 10/500 iterations  3,846 it/s  bugs: 1",
        "progress: 300/500 iterations  3,846 it/s  bugs: 2",
        "progress: 500/500 iterations  3,846 it/s  bugs: 2",
    ]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_all_bugs_progress_does_not_flood_a_log(
    workers: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        ["test", "tests.io_systems:overdraft", "-i", "500", "-s", "random", "--seed", "3",
         "-j", workers, "--all-bugs", "--no-shrink", "--trace-out", f"{tmp_path}/"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1, captured.out
    progress = [line for line in captured.err.splitlines() if line.startswith("progress:")]
    assert len(progress) <= 6, progress  # first, two new bugs, last (and one per 5 s)


def test_one_race_with_another_id_in_its_message_is_one_bug() -> None:
    report = explore(
        io_systems.overdraft,
        iterations=200,
        strategy="random",
        seed=3,
        stop_at_first_bug=False,
        shrink=False,
    )
    assert len(report.bugs) == 2, report.summary()  # the assertion and the KeyError
    assertion, key_error = sorted(report.bugs, key=lambda bug: bug.kind, reverse=True)
    assert assertion.signature[:3] == ("safety", "Account", "AssertionError")
    assert key_error.signature[:3] == ("exception", "Account", "KeyError")
    assert assertion.location is not None and assertion.location.endswith("io_systems.py:97")
    assert report.buggy_iterations == assertion.count + key_error.count
    assert "(raised at tests/io_systems.py:97)" in report.summary()
    parallel = explore(
        io_systems.overdraft,
        iterations=200,
        strategy="random",
        seed=3,
        stop_at_first_bug=False,
        shrink=False,
        workers=2,
    )
    assert [(b.signature, b.count) for b in parallel.bugs] == [
        (b.signature, b.count) for b in report.bugs
    ]


def test_liveness_and_deadlock_signatures_stay_the_message() -> None:
    from . import buggy_systems

    report = explore(buggy_systems.never_served, iterations=5, max_steps=400, strategy="fair-pos",
                     seed=1, shrink=False)  # fmt: skip
    assert report.bug is not None and report.bug.kind == "liveness"
    assert report.bug.location is None
    assert report.bug.signature == ("liveness", report.bug.actor, report.bug.message)


def test_trace_out_dev_null_writes_nothing_beside_it(tmp_path: Path) -> None:
    sink = tmp_path / "sink"
    os.mkfifo(sink)  # not a regular file, like /dev/null
    reader = os.open(sink, os.O_RDONLY | os.O_NONBLOCK)
    try:
        code, text = run("test", "tests.buggy_systems:lost_update", *LOST_UPDATE,
                         "--trace-out", str(sink))  # fmt: skip
    finally:
        os.close(reader)
    assert code == 1, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sink"]
    assert f"trace written to {sink}\n" in text and "shrunk from" in text
