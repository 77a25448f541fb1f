"""pytest integration: existing tests under the tester, and the `explore` fixture.

pytest finds the plugin through its `pytest11` entry point (or `pytest_plugins =
["testkit.pytest_plugin"]` in a `conftest.py`); nothing changes until a `--testkit-*` option
or the `testkit` marker is used.

Existing tests, unchanged: `pytest --testkit-explore 10` runs every collected test (functions,
classes with `setup_method`, unittest `TestCase`s) under the deterministic runtime, 10
schedules each, fixtures and set-up/tear-down afresh for every schedule; a bug fails the test
with its trace and the command that replays it (`pytest NODEID --testkit-replay TRACE`).

    @pytest.mark.testkit(iterations=50, strategy="pct")   # this test: 50 schedules of pct
    def test_checkout(shop): ...

    @pytest.mark.testkit(enabled=False)   # stays on real threads (or: ini testkit_real_threads)
    def test_thread_names(): ...

Systematic tests: the `explore` fixture fails the test on a bug, with trace and replay.

    @pytest.mark.testkit(max_steps=2000)
    def test_coffee_machine(explore):
        report = explore(execute_fixed, iterations=200, seed=1)

Settings of one `explore(...)` call come, first found wins, from the command line
(`--testkit-iterations`, ...), the `testkit` marker (closest to the test first), the call's own
arguments, then `explore`'s defaults: a nightly CI raises iterations without editing tests.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import inspect
import logging
import math
import os
import shlex
import sys
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
from _pytest.runner import runtestprotocol

from testkit._engine.bug import Bug
from testkit._engine.faults import Faults, check_faults
from testkit._engine.sandbox import wall_clock
from testkit._engine.test_function import test_name
from testkit._engine.trace import TRACE_DIR, Trace
from testkit._engine.watchdog import BEFORE_EXIT
from testkit._errors import ReplayDivergence, TestkitError
from testkit._exploration import explore as _explore
from testkit._exploration.pytest_items import ItemRun, RunsTheTester, run_on_trace
from testkit._exploration.shrink import original_path
from testkit._probes.manual_time import ManualTime
from testkit._reporting.report import Interrupted, NeverHappened, Report, describe_bug
from testkit._reporting.sometimes_tally import SometimesTally
from testkit._strategies import NAMES, make_strategy

OPTIONS = {
    "iterations": "iterations",
    "seed": "seed",
    "strategy": "strategy",
    "workers": "workers",
    "timeout": "time_budget",
    "shrink_budget": "shrink_budget",
}
"""`--testkit-<option>` and the `explore` argument it sets."""

MARKER_KEYWORDS = (
    "iterations",
    "max_steps",
    "strategy",
    "seed",
    "workers",
    "time_budget",
    "liveness_threshold",
    "timer_delay",
    "stop_at_first_bug",
    "faults",
)
"""What `@pytest.mark.testkit(...)` always accepts (plus `enabled` and any other keyword
`explore` takes)."""

ENABLED = "enabled"
"""The marker keyword that keeps a test on real threads (`enabled=False`) or puts it under the
tester without `--testkit-explore` (`enabled=True`)."""
REASON = "reason"
"""A marker keyword for people: why a test stays on real threads (`enabled=False`)."""
REAL_THREADS_INI = "testkit_real_threads"
ACTOR_FAILURES = "actor_failures"
"""The marker keyword (and, as `testkit_actor_failures`, the ini option) saying what a plain
Pykka actor's failure is under `--testkit-explore`: `"pykka"` (the default) what Pykka makes of
it on threads (logged, the actor stops; the test decides), `"bug"` a bug of the test."""
ACTOR_FAILURES_INI = "testkit_actor_failures"
ACTOR_FAILURE_MODES = ("pykka", "bug")
DEFAULT_MARKED_ITERATIONS = 100
"""Schedules of a test that only its marker puts under the tester (`explore`'s default)."""
_SUITE_IGNORED = frozenset({"workers", "dask", "progress", "name", "test", "coverage"})
"""Marker keywords the explore fixture uses but a test run under the tester does not: its
schedules run in this process (pytest's own fixtures cannot move to another one)."""
_CARRIED_OPTIONS = {
    "-p": True,
    "-o": True,
    "--override-ini": True,
    "-c": True,
    "--config-file": True,
    "--rootdir": True,
    "--import-mode": True,
    "--confcutdir": True,
    "-W": True,
    "--pythonwarnings": True,
    "--noconftest": False,
}
"""Options of the invocation a replay command carries (True: takes a value): they change
which code runs, so the schedule could differ without them."""

_NOT_SETTINGS = frozenset({"test", "progress", "name"})
_NAMED_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
MORE_BUGS = 10
"""With `stop_at_first_bug=False`, how many bugs after the first a failure lists."""
LOG_TAIL = 20
"""How many log records of the buggy iteration a failure shows."""
_LOG_LINE = 240


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "testkit", "testkit deterministic tester (existing tests, and the explore fixture)"
    )
    group.addoption(
        "--testkit-explore",
        metavar="N",
        help="run every collected test under the deterministic tester, N schedules each "
        "(fixtures, setUp/tearDown and setup_method afresh for every schedule); N=1 is one "
        "seeded schedule. A bug fails the test with its trace and replay command",
    )
    group.addoption(
        "--testkit-replay",
        metavar="TRACE",
        help="run the selected test once on the schedule of TRACE (a trace saved by "
        "--testkit-explore for that test)",
    )
    parser.addini(
        REAL_THREADS_INI,
        type="args",
        default=[],
        help="node-id globs (e.g. tests/test_io.py::* or *::test_thread_names) of tests that "
        "stay on real threads under --testkit-explore, as @pytest.mark.testkit(enabled=False)",
    )
    parser.addini(
        ACTOR_FAILURES_INI,
        default="pykka",
        help="under --testkit-explore, what a plain Pykka actor's failure (an exception in a "
        "told message, in on_start, on_failure or on_stop, a BaseException) is: 'pykka' (the "
        "default) as on threads, logged and the actor stopped, the test deciding; 'bug' a bug "
        "of the test. An FSM's failure is always a bug",
    )
    first = "overrides the testkit marker and the explore(...) call"
    group.addoption(
        "--testkit-iterations",
        type=int,
        metavar="N",
        help=f"iterations of every explore fixture call; {first} (default: the test's, else 100)",
    )
    group.addoption(
        "--testkit-seed",
        type=int,
        metavar="N",
        help=f"seed of every explore fixture call; {first} (default: the test's, else random; "
        "a failure prints the seed it used)",
    )
    group.addoption(
        "--testkit-strategy",
        metavar="NAME",
        help=f"strategy of every explore fixture call, one of {', '.join(NAMES)} (with an "
        f"optional bound, e.g. pct:5); {first} (default: the test's, else portfolio)",
    )
    group.addoption(
        "--testkit-workers",
        type=int,
        metavar="N",
        help=f"processes each explore fixture call runs its iterations in; {first} "
        "(default: the test's, else 1)",
    )
    group.addoption(
        "--testkit-shrink-budget",
        dest="testkit_shrink_budget",
        type=float,
        metavar="SECONDS",
        help="seconds each test's (or explore fixture call's) bugs may take to shrink; 0 "
        f"reports the trace as found; {first} (default: the test's, else 30). A test that "
        "fails on every schedule spends the whole budget: lower it when many tests fail",
    )
    group.addoption(
        "--testkit-timeout",
        type=float,
        metavar="SECONDS",
        help="each explore fixture call starts no new iteration after this many seconds "
        f"(explore's time_budget); {first} (default: the test's, else no limit)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "testkit(iterations=..., max_steps=..., strategy=..., seed=..., enabled=..., "
        "reason=..., time_budget=..., ...): this test under the deterministic tester "
        "(enabled=False: on real threads), or the settings of its explore fixture's calls; "
        "--testkit-* options override them",
    )
    _let_the_watchdog_speak(config)
    for option, keyword in OPTIONS.items():
        value = config.getoption(f"testkit_{option}")
        if value is None:
            continue
        problem = check_setting(keyword, value)
        if problem is not None:
            raise pytest.UsageError(f"--testkit-{option.replace('_', '-')} {value}: {problem}")
    config.stash[_SUITE] = Suite.from_config(config)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Name the `sometimes` conditions no explored test reached."""
    suite = config.stash.get(_SUITE, None)
    unmet = [] if suite is None else suite.sometimes.never_happened()
    if not unmet:
        return
    terminalreporter.section("testkit: what had to happen never did", sep="=", red=True)
    for line in unmet:
        terminalreporter.line(f"FAILED: {line}")
    terminalreporter.line(
        "(a condition that never holds means no test reached that situation: explore more "
        "schedules, add the scenario's test, declare the faults that lead there, or fix it)"
    )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A session whose `sometimes` conditions never held is not green (exit 1)."""
    suite = session.config.stash.get(_SUITE, None)
    if suite is not None and suite.sometimes.never_happened() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _let_the_watchdog_speak(config: pytest.Config) -> None:
    """When the watchdog has to end the process (user code it cannot unwind), it first stops
    pytest's output capture, so that its message reaches the terminal."""
    capture: Any = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        return

    def uncapture() -> None:
        capture.suspend_global_capture(in_=True)

    BEFORE_EXIT.append(uncapture)
    config.add_cleanup(lambda: BEFORE_EXIT.remove(uncapture))


def check_setting(keyword: str, value: Any) -> str | None:
    """What is wrong with `value` for the `explore` argument `keyword`, or None."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if keyword in ("iterations", "max_steps", "workers"):
        return None if is_int and value >= 1 else f"{keyword} must be an integer >= 1"
    if keyword == "seed":
        return None if is_int or value is None else "seed must be an integer"
    if keyword in ("liveness_threshold", "timer_delay"):
        ok = (is_int and value >= 0) or (value is None and keyword == "liveness_threshold")
        return None if ok else f"{keyword} must be an integer >= 0"
    if keyword == "time_budget":
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = value is None or (number and value > 0 and math.isfinite(value))
        return None if ok else "the time budget must be a finite number of seconds > 0"
    if keyword == "shrink_budget":
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = number and value >= 0 and math.isfinite(value)
        return None if ok else "the shrink budget must be a finite number of seconds >= 0"
    if keyword in ("stop_at_first_bug", ENABLED, "shrink"):
        return None if isinstance(value, bool) else f"{keyword} must be True or False"
    if keyword == ACTOR_FAILURES:
        return (
            None
            if value in ACTOR_FAILURE_MODES
            else f"actor_failures must be 'pykka' (as on threads) or 'bug', got {value!r}"
        )
    if keyword == REASON:
        return (
            None if isinstance(value, str) else "reason must be a string (why it stays on threads)"
        )
    if keyword == "strategy":
        try:
            make_strategy(value)
        except TestkitError as exc:
            return str(exc)
    if keyword == "faults" and value is not None:
        try:
            Faults.parse(value) if isinstance(value, str) else check_faults(value, 1 << 62)
        except TestkitError as exc:
            return str(exc)
    return None


def read_markers(node: pytest.Item, accepted: frozenset[str]) -> tuple[dict[str, Any], list[str]]:
    """The `testkit` markers' keywords, the marker closest to the test winning, and what is
    wrong with them (positional arguments, unknown keywords, bad values), each saying what to
    write instead."""
    settings: dict[str, Any] = {}
    problems: list[str] = []
    for marker in node.iter_markers("testkit"):
        if marker.args:
            problems.append(
                f"@pytest.mark.testkit takes keywords only, got {marker.args!r}; "
                f"e.g. @pytest.mark.testkit(iterations=1000)"
            )
        unknown = sorted(set(marker.kwargs) - accepted)
        if unknown:
            hints = []
            for keyword in unknown:
                close = difflib.get_close_matches(keyword, sorted(accepted), n=1)
                if close:
                    hints.append(f"{close[0]}= instead of {keyword}=")
            hint = f" (write {', '.join(hints)})" if hints else ""
            problems.append(
                f"@pytest.mark.testkit: unknown keyword(s) {', '.join(unknown)}{hint}; "
                f"it accepts {', '.join(sorted(accepted))}"
            )
        for keyword, value in marker.kwargs.items():
            if keyword in accepted:
                settings.setdefault(keyword, value)
    for keyword, value in settings.items():
        problem = check_setting(keyword, value)
        if problem is not None:
            problems.append(f"@pytest.mark.testkit({keyword}={value!r}): {problem}")
    return settings, problems


def marker_settings(node: pytest.Item, accepted: frozenset[str]) -> dict[str, Any]:
    """The `testkit` markers' keywords, the marker closest to the test winning; a clear
    failure for positional arguments, unknown keywords and bad values."""
    settings, problems = read_markers(node, accepted)
    if problems:
        _fail(problems[0])
    return settings


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _explore_parameters() -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(_explore.explore).parameters)


def accepted_keywords() -> frozenset[str]:
    """What `@pytest.mark.testkit(...)` accepts: `enabled` and `explore`'s settings."""
    parameters = _explore_parameters()
    named = {n for n, p in parameters.items() if p.kind in _NAMED_KINDS} - _NOT_SETTINGS
    return frozenset(MARKER_KEYWORDS) | named | {ENABLED, REASON, ACTOR_FAILURES}


def _accepts(parameters: dict[str, inspect.Parameter], keyword: str) -> bool:
    return keyword in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def effective_arguments(
    parameters: dict[str, inspect.Parameter],
    call: inspect.BoundArguments,
    marker: dict[str, Any],
    options: dict[str, Any],
) -> dict[str, Any]:
    """The keyword arguments for `explore`: options over marker over the call's own."""
    own: dict[str, Any] = {}
    for keyword, value in call.arguments.items():
        if parameters[keyword].kind is inspect.Parameter.VAR_KEYWORD:
            own.update(value)
        else:
            own[keyword] = value
    arguments = {**own, **marker, **options}
    if arguments.get("workers", 1) == 1 and "workers" not in own:
        arguments.pop("workers", None)  # works with an explore that has no workers yet
    for keyword in arguments:
        if not _accepts(parameters, keyword):
            _fail(
                f"{keyword}={arguments[keyword]!r} was asked for, but this version of "
                f"testkit.explore has no {keyword!r} parameter; upgrade pykka-fsm or drop it"
            )
    return arguments


class LogTail(logging.Handler):
    """Keeps the log records of the first buggy iteration (its last `LOG_TAIL`) instead of
    letting every iteration's records into pytest's report."""

    def __init__(self) -> None:
        super().__init__()
        self.current: deque[str] = deque(maxlen=LOG_TAIL)
        self.current_count = 0
        self.total = 0
        self.bugs = 0
        self.kept: list[str] | None = None
        self.kept_count = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string in user code must not hide the bug
            text = f"{record.msg!r} % {record.args!r}"
        line = f"{record.levelname} {record.name}: {text}".replace("\n", " | ")
        if len(line) > _LOG_LINE:
            line = line[: _LOG_LINE - 3] + "..."
        self.current.append(line)
        self.current_count += 1
        self.total += 1

    def end_iteration(self, bugs: int) -> None:
        """An iteration ended with `bugs` distinct bugs found so far."""
        if bugs > self.bugs and self.kept is None:
            self.kept, self.kept_count = list(self.current), self.current_count
        self.bugs = bugs
        self.current.clear()
        self.current_count = 0

    def text(self, split: bool) -> str:
        """The kept records as lines for a failure message ('' if there are none)."""
        if self.kept is not None:
            lines, count, where = self.kept, self.kept_count, "of the buggy iteration"
        else:  # an error stopped an iteration, or explore gave no iteration boundaries
            lines, count = list(self.current), self.current_count
            where = "of the iteration that failed" if split else "logged last while exploring"
        if not lines:
            return ""
        shown = f"the last {len(lines)} of {count}" if count > len(lines) else f"all {count}"
        return "\n".join(
            [f"log records {where} ({shown}; {self.total} in all, kept out of pytest's log):"]
            + [f"  {line}" for line in lines]
        )


@contextmanager
def log_tail() -> Iterator[LogTail]:
    """While exploring, the root logger's handlers (pytest's log capture among them) get no
    records: a `LogTail` gets them instead."""
    root = logging.getLogger()
    tail = LogTail()
    saved = root.handlers[:]
    root.handlers = [tail]
    try:
        yield tail
    finally:
        root.handlers = saved + [h for h in root.handlers if h is not tail and h not in saved]


def _progress_chain(user: Any, tail: LogTail) -> tuple[Any, bool]:
    """A progress callback that tells `tail` where iterations end and calls the user's; or
    the user's value unchanged (and False) when it is neither a callable nor None/False."""
    if user is not None and user is not False and not callable(user):
        return user, False

    def progress(state: Any) -> None:
        tail.end_iteration(state.bugs)
        if callable(user):
            user(state)

    return progress, True


def _shown_path(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _replay_hint(test: Callable[..., Any], path: Path) -> str:
    name = test_name(test)
    if "<locals>" in name or "<lambda>" in name:
        return f"testkit.replay(<your test function>, {str(path)!r})"
    return f"python -m testkit replay {name} {shlex.quote(str(path))}"


def _trace_lines(test: Callable[..., Any], bug: Bug, config: pytest.Config) -> list[str]:
    """Save the bug's trace under `<rootdir>/testkit-traces/` (and the trace as found, when
    it was shrunk, next to it); where they are and how to replay them."""
    trace = bug.trace
    try:
        path = trace.save(Path(config.rootpath) / TRACE_DIR / trace.file_name())
        original = getattr(bug, "original_trace", None)
        found = None
        if isinstance(original, Trace) and original is not trace:
            found = original.save(original_path(path))
    except TestkitError as exc:  # Trace.save's clear error for an unwritable target
        return [f"trace not saved ({exc}); rerun with the seed below instead"]
    shown = _shown_path(path)
    if found is None:
        return [f"trace: {shown}", f"replay: {_replay_hint(test, shown)}"]
    assert isinstance(original, Trace)
    return [
        f"trace: {shown}",
        f"  shrunk from {len(original)} to {len(trace)} steps; as found: {_shown_path(found)}",
        f"replay: {_replay_hint(test, shown)}",
    ]


EXPLAIN_BUDGET = 10.0
"""Seconds a failing `explore` fixture call spends explaining its bug (`Bug.explain`)."""


def _why(test: Callable[..., Any], bug: Bug) -> list[str]:
    """The bug's explanation, for the failure message (a line saying why not, if it fails)."""
    try:
        explanation = bug.explain(test, time_budget=EXPLAIN_BUDGET)
    except TestkitError as exc:
        return [f"why: not explained ({exc})"]
    lines = explanation.story.splitlines()
    return ["why:", *(f"  {line}" for line in lines)]


def _more_bugs(test: Callable[..., Any], report: Report, config: pytest.Config) -> list[str]:
    """One line and a saved trace for each bug after the first (up to `MORE_BUGS`)."""
    others = report.bugs[1:]
    if not others:
        return []
    lines = [f"{len(others)} more bug(s):"]
    for bug in others[:MORE_BUGS]:
        count = getattr(bug, "count", 1)  # iterations with this bug, where explore groups them
        times = f" (in {count} iterations)" if isinstance(count, int) and count > 1 else ""
        lines.append(f"  {bug.headline().splitlines()[0]}{times}")
        lines.extend(f"    {line}" for line in _trace_lines(test, bug, config))
    if len(others) > MORE_BUGS:
        lines.append(f"  ... and {len(others) - MORE_BUGS} more")
    return lines


@pytest.fixture(name="explore")
def explore_fixture(request: pytest.FixtureRequest) -> Callable[..., Report]:
    """`explore(test, ...)` that fails the pytest test if a bug is found.

    Its arguments are overridden by the `testkit` marker, and those by `--testkit-*` options.
    """
    marker = marker_settings(request.node, accepted_keywords())
    marker.pop(ENABLED, None)
    marker.pop(REASON, None)
    marker.pop(ACTOR_FAILURES, None)  # the explore fixture's own test function decides
    options = {
        keyword: value
        for option, keyword in OPTIONS.items()
        if (value := request.config.getoption(f"testkit_{option}")) is not None
    }

    def run(test: Callable[..., Any], *args: Any, **kwargs: Any) -> Report:
        parameters = _explore_parameters()
        call = inspect.signature(_explore.explore).bind(test, *args, **kwargs)
        arguments = _zero_budget_shrinks_nothing(
            effective_arguments(parameters, call, marker, options)
        )
        with log_tail() as tail:
            progress, split = _progress_chain(arguments.get("progress"), tail)
            arguments["progress"] = progress
            try:
                report = _explore.explore(**arguments)
            except TestkitError as exc:
                error: TestkitError | None = exc
            else:
                error = None
        logs = tail.text(split)
        if error is not None:
            _fail("\n".join(part for part in (f"TestkitError: {error}", logs) if part))
        bug = report.bug
        if bug is not None:
            parts = [
                describe_bug(bug),
                *_why(test, bug),
                logs,
                *_trace_lines(test, bug, request.config),
            ]
            parts.extend(_more_bugs(test, report, request.config))
            parts.append(
                f"rerun this exploration: pytest {shlex.quote(request.node.nodeid)} "
                f"--testkit-seed {report.seed}"
            )
            _fail("\n".join(part for part in parts if part))
        return report

    return run


@pytest.fixture
def manual_time() -> Iterator[ManualTime]:
    """A `testkit.ManualTime` active for the test: FSM timers armed during it fire only in
    `manual_time.time_passes(seconds)`. Start the actors inside the test."""
    with ManualTime() as clock:
        yield clock


# ---- existing tests under the tester ------------------------------------------------------------


@dataclass
class Suite:
    """What `--testkit-explore`, `--testkit-replay`, the `--testkit-*` settings and the ini
    ask of this session's tests."""

    explore: int | None
    """Schedules per test (`--testkit-explore N`), or None."""
    replay: Trace | None
    replay_path: str | None
    real_threads: list[str]
    options: dict[str, Any]
    """`explore` keywords set on the command line (`--testkit-seed`, ...): they win."""
    given: list[str]
    """Those options as typed, for the commands a failure prints."""
    carried: list[str] = field(default_factory=list)
    """Options of the invocation a printed command carries (`-p`, `-o`, `-c`, ...)."""
    actor_failures: str = "pykka"
    """The ini's `testkit_actor_failures` (see `ACTOR_FAILURES`)."""
    sometimes: SometimesTally = field(default_factory=lambda: SometimesTally())
    """The `sometimes` conditions of every explored test, judged when the session ends."""

    @classmethod
    def from_config(cls, config: pytest.Config) -> Suite:
        """Read and check the options; a usage error saying what to write instead."""
        raw = config.getoption("testkit_explore")
        explore = None if raw is None else _schedules(raw)
        path = config.getoption("testkit_replay")
        trace = None
        if path is not None:
            if explore is not None:
                raise pytest.UsageError(
                    f"--testkit-replay {path} runs the one schedule of that trace; drop "
                    f"--testkit-explore {raw} (or drop --testkit-replay to explore again)"
                )
            trace = _replay_trace(path)
        options: dict[str, Any] = {}
        given: list[str] = []
        for option, keyword in OPTIONS.items():
            value = config.getoption(f"testkit_{option}")
            if value is None or keyword == "workers":
                continue
            options[keyword] = value
            if keyword not in ("seed", "strategy"):
                given.append(f"--testkit-{option.replace('_', '-')} {value}")
        real_threads = [str(glob) for glob in config.getini(REAL_THREADS_INI)]
        carried = _carried(list(config.invocation_params.args))
        failures = str(config.getini(ACTOR_FAILURES_INI)).strip()
        if failures not in ACTOR_FAILURE_MODES:
            raise pytest.UsageError(
                f"{ACTOR_FAILURES_INI} = {failures}: write 'pykka' (a plain Pykka actor's "
                "failure is logged and stops it, as on threads; the test decides) or 'bug' (it "
                "fails the test)"
            )
        return cls(explore, trace, path, real_threads, options, given, carried, failures)

    def pykka_failures(self, item: pytest.Item) -> bool:
        """Whether a plain Pykka actor's failure in `item` is Pykka behaviour, not a bug: the
        marker's `actor_failures`, else the ini's."""
        settings, _ = read_markers(item, accepted_keywords())
        return bool(settings.get(ACTOR_FAILURES, self.actor_failures) == "pykka")

    def on_threads(self, nodeid: str) -> bool:
        """Whether the ini's `testkit_real_threads` keeps `nodeid` on real threads: a glob
        matching the id, or the id of its file or class."""
        for glob in self.real_threads:
            if nodeid == glob or nodeid.startswith(glob.rstrip(":") + "::"):
                return True
            if fnmatch.fnmatchcase(nodeid, glob) or fnmatch.fnmatchcase(nodeid, _literal(glob)):
                return True
        return False

    def plan(self, item: pytest.Item) -> dict[str, Any] | None:
        """The `explore` arguments `item` runs with under the tester, or None: it runs as
        usual (no option or marker asks for it, `enabled=False`, the ini, or it explores by
        itself through the `explore` fixture)."""
        if not isinstance(item, pytest.Function):
            return None
        if self.replay is not None:
            return {}
        marked = next(item.iter_markers("testkit"), None) is not None
        if self.explore is None and not marked:
            return None
        settings, _ = read_markers(item, accepted_keywords())
        if settings.pop(ENABLED, None) is False:
            return None
        if "explore" in getattr(item, "fixturenames", ()) or self.on_threads(item.nodeid):
            return None
        settings.pop(REASON, None)
        settings.pop(ACTOR_FAILURES, None)  # the item's run reads it (`pykka_failures`)
        arguments = {k: v for k, v in settings.items() if k not in _SUITE_IGNORED}
        arguments.setdefault("iterations", self.explore or DEFAULT_MARKED_ITERATIONS)
        arguments.update(self.options)
        return _zero_budget_shrinks_nothing(arguments)

    def opt_out(self, item: pytest.Item) -> str:
        return (
            "To keep this test on real threads, mark it @pytest.mark.testkit(enabled=False), "
            f"or add {item.nodeid!r} (a node-id glob) to {REAL_THREADS_INI} in your pytest "
            "configuration."
        )


_SUITE = pytest.StashKey[Suite]()


def _schedules(raw: str) -> int:
    text = str(raw).strip()
    if text.isascii() and text.isdigit() and int(text) >= 1:
        return int(text)
    raise pytest.UsageError(
        f"--testkit-explore {raw}: give the number of schedules to run each test on, a whole "
        "number >= 1; write e.g. --testkit-explore 10, or --testkit-explore 1 for one seeded "
        "schedule per test"
    )


def _replay_trace(path: str) -> Trace:
    try:
        trace = Trace.load(path)
    except TestkitError as exc:
        raise pytest.UsageError(f"--testkit-replay {path}: {exc}") from None
    if "::" not in trace.test and not trace.test.endswith(".py"):
        recorded = trace.test or "an unnamed test"
        raise pytest.UsageError(
            f"--testkit-replay {path}: this trace was recorded for {recorded}, not for a "
            f"pytest test; replay it with: python -m testkit replay {recorded} {shlex.quote(path)}"
        )
    return trace


def _literal(glob: str) -> str:
    """`glob` with its `[...]` taken literally (parametrized ids contain brackets)."""
    return glob.replace("[", "[[]")


def _carried(args: list[str]) -> list[str]:
    """The options of `args` that a printed pytest command must repeat."""
    carried: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        name, equals, _ = arg.partition("=")
        takes_value = _CARRIED_OPTIONS.get(name)
        if takes_value is not None:
            if takes_value and not equals and index + 1 < len(args):
                carried.extend(args[index : index + 2])
                index += 1
            else:
                carried.append(arg)
        elif len(arg) > 2 and arg[:2] in _CARRIED_OPTIONS and not arg.startswith("--"):
            carried.append(arg)  # -pNAME, -Werror
        index += 1
    return carried


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Bad `testkit` markers are usage errors; `--testkit-replay` keeps its trace's test."""
    accepted = accepted_keywords()
    problems: list[str] = []
    for item in items:
        if next(item.iter_markers("testkit"), None) is None:
            continue
        for problem in read_markers(item, accepted)[1]:
            line = f"{item.nodeid}: {problem}"
            if line not in problems:
                problems.append(line)
    if problems:
        raise pytest.UsageError("\n".join(problems))
    suite = config.stash.get(_SUITE, None)
    if suite is None or suite.replay is None:
        return
    recorded = suite.replay.test
    keep = [item for item in items if item.nodeid == recorded]
    if not keep:
        selected = ", ".join(item.nodeid for item in items[:3]) or "none"
        more = f" and {len(items) - 3} more" if len(items) > 3 else ""
        raise pytest.UsageError(
            f"--testkit-replay {suite.replay_path}: this trace was recorded for {recorded!r}, "
            f"which is not among the selected tests ({selected}{more}); replay it with: "
            f"{_command(config, recorded, ['--testkit-replay', str(suite.replay_path)], suite)}"
        )
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """Run `item` under the tester when the session or its marker asks for it."""
    suite = item.config.stash.get(_SUITE, None)
    arguments = None if suite is None else suite.plan(item)
    if suite is None or arguments is None:
        return None
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    run = ItemRun(item, suite.pykka_failures(item))
    try:
        if suite.replay is not None:
            reports = _replay_item(item, run, suite)
        else:
            reports = _explore_item(item, run, suite, arguments)
    except RunsTheTester:
        reports = []
    finally:
        run.finish()
    if run.runs_the_tester:  # it explores by itself, as a test with the explore fixture does
        runtestprotocol(item, log=True, nextitem=nextitem)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True
    teardown = reports.pop() if reports and reports[-1].when == "teardown" else None
    for report in reports:
        ihook.pytest_runtest_logreport(report=report)
    if item.session.shouldfail or item.session.shouldstop:
        nextitem = None
    final = run.teardown(nextitem)
    if teardown is not None:
        if final.failed:
            _add_text(teardown, f"and tearing down after the last schedule:\n{final.longreprtext}")
        final = teardown
    ihook.pytest_runtest_logreport(report=final)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _explore_item(
    item: pytest.Item, run: ItemRun, suite: Suite, arguments: dict[str, Any]
) -> list[pytest.TestReport]:
    """Explore `item`'s schedules; the reports pytest logs for it (a failed one on a bug)."""
    started = wall_clock()
    try:
        report = _explore.explore(
            run, name=item.nodeid, progress=False, coverage=False, **arguments
        )
    except RunsTheTester:
        raise
    except TestkitError as exc:
        run.finish()
        return _misuse(item, run, suite, str(exc), wall_clock() - started)
    except Interrupted:
        raise KeyboardInterrupt from None
    except NeverHappened as failed:
        report = failed.report
        if report.unmet_faults:  # the marker's Faults(strict=True): this test's promise
            run.finish()
            text = (
                "testkit: the exploration is not green: "
                + "; ".join(report.unmet_faults)
                + f"\nrerun this exploration: pytest {shlex.quote(item.nodeid)} "
                f"--testkit-seed {report.seed}"
            )
            done = [r for r in run.reports if r.when == "setup"]
            return [*done, _report(item, "call", text, wall_clock() - started)]
    suite.sometimes.add(report, item.nodeid)
    elapsed = wall_clock() - started
    run.finish()
    bug = report.bug
    if bug is None:
        reports = [r for r in run.reports if r.when != "teardown"]
        for r in reports:
            if r.when == "call":
                r.duration = elapsed  # every schedule's time, as --durations should show
        return reports
    found = bug.original_trace if isinstance(bug.original_trace, Trace) else bug.trace
    repeatable = found is None or not _not_repeatable(found)
    if not repeatable:
        lines = [
            f"testkit: this test failed on schedule {found.iteration} after schedule 1 passed, "
            "though it failed before the tester made any choice or drew any random value: the "
            "schedules had not differed, so the test is not repeatable in one process. It keeps "
            "state from one run to the next (a Mock made once by a @patch decorator, a "
            "module-level cache or counter): make every run start afresh (patch inside the "
            "test or in a fixture), run it on one schedule (--testkit-explore 1), or keep it "
            "on real threads. " + suite.opt_out(item)
        ]
    else:
        lines = _saved_trace_lines(item, bug, suite, report)
    note = ""
    try:  # the run that reproduces the bug gives pytest's own report of it
        again = run_on_trace(run, bug.trace)
    except TestkitError as exc:
        again, note = None, f"note: replaying its trace did not reproduce it: {exc}"
    else:
        if again is None:
            note = "note: replaying its trace did not reproduce it (the test passed)"
    run.finish()
    shown = again if again is not None else bug
    headline = _bug_text(shown) if repeatable else ""  # no bug of a schedule then
    text = "\n".join(p for p in (headline, *lines, *_other_bugs(item, report, suite), note) if p)
    return _failed_reports(item, run, shown, text, elapsed, use_run=again is not None)


def _zero_budget_shrinks_nothing(arguments: dict[str, Any]) -> dict[str, Any]:
    """`--testkit-shrink-budget 0` as `explore` takes it: `shrink=False` (its own budget must
    be > 0)."""
    if arguments.get("shrink_budget") == 0:
        del arguments["shrink_budget"]
        arguments["shrink"] = False
    return arguments


def _not_repeatable(found: Trace) -> bool:
    """Whether a bug found on a later schedule failed before any step or random draw: every
    schedule is the same up to there, and the first passed, so what changed is the state the
    test kept from its earlier runs, not the schedule."""
    return found.iteration > 1 and not found.steps and not found.entropy


def _replay_item(item: pytest.Item, run: ItemRun, suite: Suite) -> list[pytest.TestReport]:
    """Run `item` once on the schedule of `--testkit-replay`'s trace."""
    assert suite.replay is not None
    started = wall_clock()
    try:
        bug = run_on_trace(run, suite.replay)
    except ReplayDivergence as exc:
        run.finish()
        explore_again = _command(item.config, item.nodeid, ["--testkit-explore", "10"], suite)
        return _misuse(
            item,
            run,
            suite,
            f"replaying {suite.replay_path}: {exc}\nexplore it again: {explore_again}",
            wall_clock() - started,
        )
    except TestkitError as exc:
        run.finish()
        return _misuse(item, run, suite, str(exc), wall_clock() - started)
    elapsed = wall_clock() - started
    run.finish()
    if bug is None:
        return [r for r in run.reports if r.when != "teardown"]
    replay = _command(item.config, item.nodeid, ["--testkit-replay", str(suite.replay_path)], suite)
    text = "\n".join(
        [_bug_text(bug), f"trace: {suite.replay_path} (replayed)", f"replay: {replay}"]
    )
    return _failed_reports(item, run, bug, text, elapsed, use_run=True)


def _misuse(
    item: pytest.Item, run: ItemRun, suite: Suite, message: str, elapsed: float
) -> list[pytest.TestReport]:
    """The test could not run under the tester (a thread it does not control, a wait that
    never ends, a trace that diverges): a failure saying so and how to opt out."""
    text = (
        f"testkit could not run this test under the deterministic tester:\n{message}\n"
        f"{suite.opt_out(item)}"
    )
    when = run.ended_in
    done = [r for r in run.reports if r.when in _BEFORE[when]]
    return [*done, _report(item, when, text, elapsed)]


def _failed_reports(
    item: pytest.Item, run: ItemRun, bug: Bug, text: str, elapsed: float, use_run: bool
) -> list[pytest.TestReport]:
    """The reports of a buggy test: pytest's own for a failure of the test's code (with the
    tester's text added), else a failed report of the phase the bug ended."""
    if use_run and run.failed is not None and bug.actor == "test":
        failed = run.failed
        _add_text(failed, text.replace(_bug_text(bug), _bug_text(bug, short=True), 1))
        failed.duration = elapsed
        before = run.reports[: run.reports.index(failed)]
        return [*before, failed]
    when = run.ended_in if use_run else "call"
    if when == "teardown" and len(run.reports) == 3:  # after the test function ended
        when = "call"
    done = [r for r in run.reports if r.when in _BEFORE[when]] if use_run else []
    return [*done, _report(item, when, text, elapsed)]


_BEFORE = {"setup": (), "call": ("setup",), "teardown": ("setup", "call")}


def _report(item: pytest.Item, when: str, text: str, duration: float) -> pytest.TestReport:
    return pytest.TestReport(
        item.nodeid,
        item.location,
        {name: 1 for name in item.keywords},
        "failed",
        text,
        when,  # type: ignore[arg-type]
        duration=duration,
        user_properties=list(item.user_properties),
    )


def _add_text(report: pytest.TestReport, text: str) -> None:
    longrepr: Any = report.longrepr
    if hasattr(longrepr, "addsection"):
        longrepr.addsection("testkit", text)
    else:
        report.longrepr = f"{report.longreprtext}\n{text}"


def _bug_text(bug: Bug, short: bool = False) -> str:
    """The bug as a person acts on it: kind, actor, state, step, schedule, what each actor
    did last, and the failing handler's traceback where the tester kept it. `short`: the
    message's first line only (pytest's report above it shows the whole failure)."""
    shown = bug
    if short and "\n" in bug.message:
        shown = copy.copy(bug)
        shown.message = bug.message.splitlines()[0] + " (see above)"
    parts = [describe_bug(shown)]
    traceback = getattr(bug, "traceback", None)
    if isinstance(traceback, str) and traceback.strip():
        parts.append("traceback:\n" + "\n".join(f"  {line}" for line in traceback.splitlines()))
    return "\n".join(parts)


def _saved_trace_lines(item: pytest.Item, bug: Bug, suite: Suite, report: Report) -> list[str]:
    """Save the bug's trace (and the one as found, when shrunk) under a name of its own;
    where it is, the command that replays it, and the one that reruns the exploration."""
    config = item.config
    trace = bug.trace
    rerun = _command(
        config,
        item.nodeid,
        [
            "--testkit-explore",
            str(suite.explore or report.iterations),
            *" ".join(suite.given).split(),
            "--testkit-strategy",
            report.strategy,
            "--testkit-seed",
            str(report.seed),
        ],
        suite,
    )
    try:
        path = _save_unique(trace, Path(config.rootpath) / TRACE_DIR)
        original = bug.original_trace
        found = None
        if isinstance(original, Trace) and len(original) != len(trace):
            found = original.save(original_path(path))
    except (TestkitError, OSError) as exc:
        return [f"trace not saved ({exc}); rerun the exploration: {rerun}"]
    shown = _shown(config, path)
    replay = _command(config, item.nodeid, ["--testkit-replay", shown], suite)
    lines = [f"trace: {shown}"]
    if found is not None:
        lines.append(
            f"  shrunk from {len(original)} to {len(trace)} steps; as found: "
            f"{_shown(config, found)}"
        )
    return [*lines, f"replay: {replay}", f"rerun this exploration: {rerun}"]


def _other_bugs(item: pytest.Item, report: Report, suite: Suite) -> list[str]:
    """With `stop_at_first_bug=False`: one line and a saved trace per further bug."""
    others = report.bugs[1:]
    if not others:
        return []
    lines = [f"{len(others)} more bug(s):"]
    for bug in others[:MORE_BUGS]:
        lines.append(f"  {bug.headline().splitlines()[0]}")
        try:
            path = _save_unique(bug.trace, Path(item.config.rootpath) / TRACE_DIR)
        except (TestkitError, OSError) as exc:
            lines.append(f"    trace not saved ({exc})")
            continue
        shown = _shown(item.config, path)
        lines.append(
            f"    replay: {_command(item.config, item.nodeid, ['--testkit-replay', shown], suite)}"
        )
    return lines


def _save_unique(trace: Trace, directory: Path) -> Path:
    """Save `trace` as `<test>-<strategy>-seed<N>-it<N>.trace` in `directory`, with `-2`,
    `-3`, ... added when that name is taken: a trace is never overwritten."""
    stem = trace.file_name().removesuffix(".trace")
    directory.mkdir(parents=True, exist_ok=True)
    number = 1
    while True:
        path = directory / (f"{stem}.trace" if number == 1 else f"{stem}-{number}.trace")
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            number += 1
            continue
        return trace.save(path)


def _shown(config: pytest.Config, path: Path) -> str:
    """`path` as typed in a command run where pytest was run."""
    try:
        return os.path.relpath(path, config.invocation_params.dir)
    except ValueError:  # another drive
        return str(path)


def _command(config: pytest.Config, nodeid: str, options: list[str], suite: Suite) -> str:
    """`pytest NODE OPTIONS...` as typed where pytest was run, carrying the invocation's
    options that change which code runs."""
    file, sep, rest = nodeid.partition("::")
    node = _shown(config, Path(config.rootpath) / file) + sep + rest
    words = ["pytest", node, *options, *suite.carried]
    return " ".join(shlex.quote(word) for word in words)


def _keep_own_asserts_as_written() -> None:
    """A `pytest11` entry point makes pytest rewrite the asserts of every module of this
    distribution; those imported after the plugin (the examples whose monitors the golden
    reports show) keep their asserts, and so their messages, as written."""
    own = {"fsm", "testkit", "buncher_example", "failover_examples", "blocking_examples"}
    for finder in sys.meta_path:
        marked = getattr(finder, "_must_rewrite", None)
        if type(finder).__name__ == "AssertionRewritingHook" and isinstance(marked, set):
            marked.difference_update(own)
            cache = getattr(finder, "_marked_for_rewrite_cache", None)
            if isinstance(cache, dict):
                cache.clear()


_keep_own_asserts_as_written()
