"""pytest integration: the `explore` fixture fails the test on a bug, with trace and replay.

Enable it in your `conftest.py` with `pytest_plugins = ["testkit.pytest_plugin"]`, then:

    @pytest.mark.testkit(max_steps=2000)
    def test_coffee_machine(explore):
        report = explore(execute_fixed, iterations=200, seed=1)

Settings of one `explore(...)` call come, first found wins, from the command line
(`--testkit-iterations`, ...), the `testkit` marker (closest to the test first), the call's own
arguments, then `explore`'s defaults: a nightly CI raises iterations without editing tests.

(It is not auto-registered: pytest would then rewrite the asserts of every module of this
distribution, changing the messages of the very assertions the tester reports.)
"""

from __future__ import annotations

import inspect
import logging
import math
import shlex
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

from testkit._engine.bug import Bug
from testkit._engine.faults import Faults, check_faults
from testkit._engine.test_function import test_name
from testkit._engine.trace import TRACE_DIR, Trace
from testkit._errors import TestkitError
from testkit._exploration import explore as _explore
from testkit._exploration.shrink import original_path
from testkit._reporting.report import Report, describe_bug
from testkit._strategies import NAMES, make_strategy

OPTIONS = {
    "iterations": "iterations",
    "seed": "seed",
    "strategy": "strategy",
    "workers": "workers",
    "timeout": "time_budget",
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
"""What `@pytest.mark.testkit(...)` always accepts (plus any other keyword `explore` takes)."""

_NOT_SETTINGS = frozenset({"test", "progress", "name"})
_NAMED_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
MORE_BUGS = 10
"""With `stop_at_first_bug=False`, how many bugs after the first a failure lists."""
LOG_TAIL = 20
"""How many log records of the buggy iteration a failure shows."""
_LOG_LINE = 240


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("testkit", "testkit deterministic tester (the explore fixture)")
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
        "--testkit-timeout",
        type=float,
        metavar="SECONDS",
        help="each explore fixture call starts no new iteration after this many seconds "
        f"(explore's time_budget); {first} (default: the test's, else no limit)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "testkit(iterations=..., max_steps=..., strategy=..., seed=..., workers=..., "
        "time_budget=..., ...): settings of the explore fixture's calls in this test; they "
        "override the call's arguments, and --testkit-* options override them",
    )
    for option, keyword in OPTIONS.items():
        value = config.getoption(f"testkit_{option}")
        if value is None:
            continue
        problem = check_setting(keyword, value)
        if problem is not None:
            raise pytest.UsageError(f"--testkit-{option} {value}: {problem}")


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
    if keyword == "stop_at_first_bug":
        return None if isinstance(value, bool) else "stop_at_first_bug must be True or False"
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


def marker_settings(node: pytest.Item, accepted: frozenset[str]) -> dict[str, Any]:
    """The `testkit` markers' keywords, the marker closest to the test winning; a clear
    failure for positional arguments, unknown keywords and bad values."""
    settings: dict[str, Any] = {}
    for marker in node.iter_markers("testkit"):
        if marker.args:
            _fail(
                f"@pytest.mark.testkit takes keywords only, got {marker.args!r}; "
                f"e.g. @pytest.mark.testkit(iterations=1000)"
            )
        unknown = sorted(set(marker.kwargs) - accepted)
        if unknown:
            _fail(
                f"@pytest.mark.testkit: unknown keyword(s) {', '.join(unknown)}; "
                f"it accepts {', '.join(sorted(accepted))}"
            )
        for keyword, value in marker.kwargs.items():
            settings.setdefault(keyword, value)
    for keyword, value in settings.items():
        problem = check_setting(keyword, value)
        if problem is not None:
            _fail(f"@pytest.mark.testkit({keyword}={value!r}): {problem}")
    return settings


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _explore_parameters() -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(_explore.explore).parameters)


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
    parameters = _explore_parameters()
    named = {n for n, p in parameters.items() if p.kind in _NAMED_KINDS} - _NOT_SETTINGS
    accepted = frozenset(MARKER_KEYWORDS) | named
    marker = marker_settings(request.node, accepted)
    options = {
        keyword: value
        for option, keyword in OPTIONS.items()
        if (value := request.config.getoption(f"testkit_{option}")) is not None
    }

    def run(test: Callable[..., Any], *args: Any, **kwargs: Any) -> Report:
        parameters = _explore_parameters()
        call = inspect.signature(_explore.explore).bind(test, *args, **kwargs)
        arguments = effective_arguments(parameters, call, marker, options)
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
            parts = [describe_bug(bug), logs, *_trace_lines(test, bug, request.config)]
            parts.extend(_more_bugs(test, report, request.config))
            parts.append(
                f"rerun this exploration: pytest {shlex.quote(request.node.nodeid)} "
                f"--testkit-seed {report.seed}"
            )
            _fail("\n".join(part for part in parts if part))
        return report

    return run
