"""`python -m testkit test|replay MODULE:FUNCTION ...`: the tester from the command line."""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from testkit._errors import ReplayDivergence, TestkitError
from testkit._explore import explore
from testkit._replay import check_target, replay
from testkit._report import Progress, describe_bug, test_name
from testkit._strategies import NAMES
from testkit._trace import Trace, bug_line

EXIT_OK, EXIT_BUG, EXIT_ERROR = 0, 1, 2


def load_test(target: str) -> Callable[..., Any]:
    """The function named by `module:function`, or a TestkitError saying what is wrong."""
    module_name, sep, function_name = target.partition(":")
    if not sep or not module_name or not function_name:
        raise TestkitError(
            f"expected MODULE:FUNCTION (e.g. failover_examples.coffee_machine:execute), "
            f"got {target!r}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TestkitError(
            f"cannot import module {module_name!r}: {exc}; run from the directory that "
            "contains it, or install its package"
        ) from None
    test: Any = module
    for part in function_name.split("."):
        test = getattr(test, part, None)
        if test is None:
            raise TestkitError(f"module {module_name!r} has no function {function_name!r}")
    if not callable(test):
        raise TestkitError(f"{target} is not a function but {type(test).__name__}")
    return test  # type: ignore[no-any-return]


class ProgressBar:
    """Iterations done, iterations/s and bugs found: one self-rewriting line on a terminal,
    or (`lines=True`, for logs) a plain line every few seconds."""

    def __init__(self, stream: TextIO, enabled: bool, lines: bool = False) -> None:
        self.stream = stream
        self.enabled = enabled
        self.lines = lines
        self._last = -1.0

    def __call__(self, progress: Progress) -> None:
        done = progress.iteration == progress.iterations or progress.bugs
        every = 5.0 if self.lines else 0.2
        if not self.enabled or (progress.elapsed - self._last < every and not done):
            return
        self._last = progress.elapsed
        rate = progress.iteration / progress.elapsed if progress.elapsed > 0 else 0.0
        counts = (
            f"{progress.iteration}/{progress.iterations} iterations  {rate:,.0f} it/s  "
            f"bugs: {progress.bugs}"
        )
        if self.lines:
            self.stream.write(f"progress: {counts}\n")
        else:
            width = 30
            filled = int(width * progress.iteration / progress.iterations)
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {counts}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and not self.lines and self._last >= 0:
            self.stream.write("\n")
            self.stream.flush()


def default_trace_path(target: str) -> Path:
    return Path("testkit-traces") / (re.sub(r"[^A-Za-z0-9_.-]+", "_", target) + ".trace")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m testkit",
        description="Systematic testing of FSM actors: explore schedules, replay bugs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    test = commands.add_parser("test", help="explore schedules of a test function")
    test.add_argument("target", metavar="MODULE:FUNCTION")
    test.add_argument("-i", "--iterations", type=int, default=100)
    test.add_argument("--max-steps", "-ms", type=int, default=10_000)
    test.add_argument("-s", "--strategy", default="portfolio", help=f"one of {', '.join(NAMES)}")
    test.add_argument("--seed", type=int, default=None)
    test.add_argument("--trace-out", type=Path, default=None, help="where to write a bug's trace")
    test.add_argument("--liveness-threshold", type=int, default=None)
    test.add_argument(
        "--timer-delay", type=int, default=20, help="steps before a timer may fire: 0..N-1"
    )
    test.add_argument("--all-bugs", action="store_true", help="keep going after the first bug")
    test.add_argument("--no-progress", action="store_true")
    test.add_argument("-v", "--verbose", action="store_true", help="show the actors' logs")
    rep = commands.add_parser("replay", help="replay a trace written by `test`")
    rep.add_argument("target", metavar="MODULE:FUNCTION")
    rep.add_argument("trace", type=Path)
    rep.add_argument("-v", "--verbose", action="store_true", help="print each step as it runs")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (0 no bug, 1 bug, 2 error)."""
    stream = out or sys.stdout
    args = _parser().parse_args(argv)
    quiet = logging.CRITICAL if args.command == "test" else logging.ERROR
    logging.basicConfig(
        level=logging.INFO if args.verbose else quiet,
        format="%(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        test = load_test(args.target)
        if args.command == "test":
            return _test(args, test, stream)
        return _replay(args, test, stream)
    except TestkitError as exc:
        stream.write(f"error: {exc}\n")
        return EXIT_ERROR


def _test(args: argparse.Namespace, test: Callable[..., Any], stream: TextIO) -> int:
    bar = ProgressBar(sys.stderr, enabled=not args.no_progress, lines=not sys.stderr.isatty())
    stream.write(
        f"testkit: testing {args.target}: {args.iterations} iteration(s) of up to "
        f"{args.max_steps} steps, strategy {args.strategy}\n"
    )
    stream.flush()
    try:
        report = explore(
            test,
            iterations=args.iterations,
            max_steps=args.max_steps,
            strategy=args.strategy,
            seed=args.seed,
            stop_at_first_bug=not args.all_bugs,
            liveness_threshold=args.liveness_threshold,
            timer_delay=args.timer_delay,
            progress=bar,
            name=args.target,
        )
    finally:
        bar.close()
    stream.write(report.summary() + "\n")
    if report.bug is None:
        stream.write("no bug found\n")
        return EXIT_OK
    path = report.bug.trace.save(args.trace_out or default_trace_path(args.target))
    stream.write(f"trace written to {path}\n")
    stream.write(
        f"replay it with: python -m testkit replay {args.target} {shlex.quote(str(path))}\n"
    )
    return EXIT_BUG


def _replay(args: argparse.Namespace, test: Callable[..., Any], stream: TextIO) -> int:
    trace = Trace.load(args.trace)
    check_target(trace.test, test_name(test))  # before the banner: an error stands alone
    stream.write(f"testkit: replaying {args.trace} ({len(trace)} steps) against {args.target}\n")
    try:
        report = replay(test, trace, log_steps=args.verbose)
    except ReplayDivergence as exc:
        stream.write(f"could not reproduce the bug: {exc}\n")
        return EXIT_ERROR
    bug = report.bug
    assert bug is not None
    stream.write(describe_bug(bug) + "\n")
    if trace.bug and bug_line(bug.headline()) != trace.bug:
        stream.write(f"note: the trace recorded a different bug: {trace.bug}\n")
    else:
        stream.write(f"reproduced the bug in {report.steps} steps\n")
    return EXIT_BUG
