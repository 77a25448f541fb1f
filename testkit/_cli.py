"""`python -m testkit test|replay|shrink|show MODULE:FUNCTION ...`: the command line."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from testkit._engine.faults import check_faults
from testkit._engine.replaying import check_target
from testkit._engine.test_function import test_name
from testkit._engine.trace import TRACE_DIR, Trace, bug_line
from testkit._engine.watchdog import DEFAULT_WATCHDOG
from testkit._errors import ReplayDivergence, TestkitError
from testkit._exploration.diagrams import sequence_diagram
from testkit._exploration.explore import explore
from testkit._exploration.replay import replay
from testkit._exploration.settings import check_arguments
from testkit._exploration.shrink import DEFAULT_SHRINK_BUDGET, original_path, shrink_file
from testkit._reporting.progress import ProgressBar
from testkit._reporting.report import Interrupted, NeverHappened, Report, describe_bug
from testkit._strategies import NAMES, make_strategy

EXIT_OK, EXIT_BUG, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


EXIT_CODES = """exit codes: 0 no bug found, 1 bug found (or reproduced, or a sometimes condition or
a strict declared fault never happened), 2 bad input or misuse of the tester (the message says
what to change), 130 interrupted (Ctrl-C, SIGTERM, SIGHUP; the partial report is printed)"""


def _add_target_and_trace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="MODULE:FUNCTION", help="the test the trace was made for")
    parser.add_argument("trace", type=Path, help="a trace file")


def _add_watchdog(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--watchdog",
        type=_seconds,
        default=DEFAULT_WATCHDOG,
        metavar="SECONDS",
        help="stop a handler or the test function that runs this long without a step",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m testkit",
        description="Systematic testing of FSM actors: explore schedules, replay and shrink bugs.",
        epilog=EXIT_CODES,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    formatter = argparse.ArgumentDefaultsHelpFormatter
    test = commands.add_parser(
        "test",
        help="explore schedules of a test function",
        description="Run MODULE:FUNCTION (a function taking the runtime) under many schedules; "
        "on a bug, print it, write its trace and the command that replays it.",
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    test.add_argument(
        "target",
        metavar="MODULE:FUNCTION",
        help="the test, e.g. failover_examples.coffee_machine:execute",
    )
    test.add_argument(
        "-i", "--iterations", type=_positive_int, default=100, help="schedules to explore"
    )
    test.add_argument(
        "--max-steps",
        "-ms",
        type=_positive_int,
        default=10_000,
        help="steps per iteration before it is cut off (liveness is judged there under a fair "
        "strategy)",
    )
    test.add_argument(
        "-s", "--strategy", default="portfolio", help=f"one of {', '.join(NAMES)}; e.g. pct:5"
    )
    test.add_argument(
        "--seed", type=int, default=None, help="seed (default: a random one, printed)"
    )
    test.add_argument(
        "--trace-out",
        type=Path,
        default=None,
        help=f"file or directory for the bug's trace (default: {TRACE_DIR}/, a unique name per "
        "bug)",
    )
    test.add_argument(
        "--liveness-threshold",
        type=int,
        default=None,
        help="steps a monitor may stay hot at max_steps (default: max_steps // 2)",
    )
    test.add_argument(
        "--timer-delay", type=int, default=20, help="steps before a timer may fire: 0..N-1"
    )
    test.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="stop starting iterations after this many seconds",
    )
    _add_watchdog(test)
    test.add_argument(
        "--all-bugs",
        action="store_true",
        help="keep going after the first bug; group bugs by kind, actor class and message, "
        "one trace per distinct bug",
    )
    test.add_argument(
        "-j",
        "--workers",
        type=_positive_int,
        default=os.cpu_count() or 1,
        help="processes to run iterations in (default: all cores); -j 1 runs in this one",
    )
    test.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="run the iterations on the dask.distributed cluster whose scheduler is at ADDRESS "
        "(e.g. tcp://scheduler:8786) instead of local processes",
    )
    test.add_argument(
        "--coverage",
        type=Path,
        default=None,
        metavar="FILE.html",
        help="write a coverage page: one state diagram per FSM class and monitor",
    )
    test.add_argument(
        "--no-shrink",
        action="store_true",
        help="save the bug's trace as found, without shrinking it",
    )
    test.add_argument(
        "--shrink-timeout",
        type=_seconds,
        default=DEFAULT_SHRINK_BUDGET,
        metavar="SECONDS",
        help="seconds to spend shrinking, on top of --timeout, shared among the bugs",
    )
    test.add_argument(
        "--faults",
        metavar="SPEC",
        default=None,
        help="declared faults to inject, e.g. 'crash=CoffeeMachine;restart=CoffeeMachine;"
        "drop=Sensors->CoffeeMachine;partition=A|B,C;budget=2;heal_after=500;strict' "
        "(settings separated by ';', classes by ',', partition groups by '|')",
    )
    test.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
    test.add_argument(
        "-v", "--verbose", action="store_true", help="show the actors' logs and whole tracebacks"
    )
    rep = commands.add_parser(
        "replay",
        help="replay a trace written by `test`",
        description="Re-run the decisions of TRACE against MODULE:FUNCTION and reproduce its bug.",
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _add_target_and_trace(rep)
    rep.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print each step as it runs, and the bug's whole traceback",
    )
    _add_watchdog(rep)
    shr = commands.add_parser(
        "shrink",
        help="shrink a trace written by `test`",
        description="Cut TRACE down to a shorter trace that replays to the same bug, write it "
        "and print both lengths.",
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _add_target_and_trace(shr)
    shr.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="file for the shrunk trace (default: TRACE's name with .shrunk.trace)",
    )
    shr.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_SHRINK_BUDGET,
        metavar="SECONDS",
        help="stop shrinking after this many seconds (the best trace so far is written)",
    )
    _add_watchdog(shr)
    shr.add_argument(
        "-v", "--verbose", action="store_true", help="show the actors' logs and whole tracebacks"
    )
    show = commands.add_parser(
        "show",
        help="draw a trace as a sequence diagram",
        description="Replay TRACE against MODULE:FUNCTION and draw it: an HTML page (offline, "
        "self-contained) or Mermaid text.",
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _add_target_and_trace(show)
    show.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="where to write it (default: the trace's name with .html; Mermaid: stdout)",
    )
    show.add_argument("--mermaid", action="store_true", help="Mermaid sequenceDiagram text")
    show.add_argument(
        "--logs", action="store_true", help="capture DEBUG log lines (LoggingFSM) and show them"
    )
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (see `EXIT_CODES`)."""
    stream = out or sys.stdout
    args = _parser().parse_args(argv)
    quiet = logging.ERROR if args.command == "replay" else logging.CRITICAL
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO if getattr(args, "verbose", False) else quiet)
    saved_signals = _terminate_as_interrupt()
    try:
        test = load_test(args.target)
        if args.command == "test":
            return _test(args, test, stream)
        if args.command == "show":
            return _show(args, test, stream)
        if args.command == "shrink":
            return _shrink(args, test, stream)
        return _replay(args, test, stream)
    except TestkitError as exc:
        stream.write(f"error: {exc}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        stream.write("interrupted\n")
        return EXIT_INTERRUPTED
    finally:
        for number, previous in saved_signals.items():
            signal.signal(number, previous)
        root.removeHandler(handler)
        root.setLevel(saved_level)


def _terminate_as_interrupt() -> dict[int, Any]:
    """SIGTERM and SIGHUP end the command as Ctrl-C does (exit 130, with the partial report
    when a run was going on), also outside a run; returns the handlers to put back."""
    saved: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return saved
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is signal.SIG_DFL:
            saved[number] = signal.signal(number, _raise_interrupt)
    return saved


def _raise_interrupt(number: int, frame: object) -> None:
    raise KeyboardInterrupt


def _test(args: argparse.Namespace, test: Callable[..., Any], stream: TextIO) -> int:
    # bad input is an error before anything is printed
    make_strategy(args.strategy)
    if args.coverage is not None and args.coverage.is_dir():
        raise TestkitError(f"--coverage {args.coverage}: that is a directory; name an .html file")
    check_arguments(
        test, args.iterations, args.max_steps, args.seed, args.liveness_threshold, args.timer_delay
    )
    faults = check_faults(args.faults, args.max_steps, "--faults")
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
            time_budget=args.timeout,
            watchdog=args.watchdog,
            workers=1 if args.dask else args.workers,
            dask=args.dask,
            shrink=not args.no_shrink,
            shrink_budget=args.shrink_timeout,
            faults=faults,
        )
    except NeverHappened as failed:  # no bug, but not green either: exit 1
        bar.close()
        stream.write(failed.report.summary() + "\n")
        stream.write("no bug found, but what had to happen never did (see FAILED above)\n")
        return EXIT_BUG
    except Interrupted as interrupted:
        bar.close()
        _print_report(interrupted.report, args, stream)
        stream.write("interrupted\n")
        return EXIT_INTERRUPTED
    bar.close()
    return _print_report(report, args, stream)


def _print_report(report: Report, args: argparse.Namespace, stream: TextIO) -> int:
    stream.write(report.summary(full_traceback=args.verbose) + "\n")
    if args.coverage is not None:
        try:
            args.coverage.write_text(report.coverage.to_html(f"coverage of {args.target}"))
        except OSError as exc:
            raise TestkitError(f"cannot write --coverage {args.coverage}: {exc}") from None
        stream.write(f"coverage written to {args.coverage}\n")
    if report.bug is None:
        stream.write("no bug found\n")
        return EXIT_OK
    for bug in report.bugs:
        target = args.trace_out
        if target is None or len(report.bugs) > 1:  # a directory: one trace per distinct bug
            target = (target or TRACE_DIR) / bug.trace.file_name()
        path = bug.trace.save(target)
        if len(report.bugs) > 1:
            stream.write(f"{bug.count} x {bug.signature_text()}\n")
        original = bug.original_trace
        if original is not None and original is not bug.trace:
            found = original.save(original_path(path))
            stream.write(f"shrunk from {len(original)} to {len(bug.trace)} steps\n")
            stream.write(f"original trace written to {found}\n")
        stream.write(f"trace written to {path}\n")
        _draw_next_to(args, path, stream)
        stream.write(
            f"replay it with: python -m testkit replay {args.target} {shlex.quote(str(path))}\n"
        )
    return EXIT_BUG


def _draw_next_to(args: argparse.Namespace, trace: Path, stream: TextIO) -> None:
    """The bug's sequence diagram as HTML beside its trace (a note if it cannot be drawn)."""
    page = trace.with_suffix(".html")
    try:
        page.write_text(sequence_diagram(load_test(args.target), trace))
    except (TestkitError, OSError) as exc:
        stream.write(f"note: no sequence diagram drawn: {exc}\n")
        return
    stream.write(f"sequence diagram written to {page}\n")


def _show(args: argparse.Namespace, test: Callable[..., Any], stream: TextIO) -> int:
    text = sequence_diagram(
        test, args.trace, format="mermaid" if args.mermaid else "html", logs=args.logs
    )
    output = args.output
    if output is None and args.mermaid:
        stream.write(text)
        return EXIT_OK
    output = output or args.trace.with_suffix(".html")
    try:
        output.write_text(text)
    except OSError as exc:
        raise TestkitError(f"cannot write {output}: {exc}") from None
    stream.write(f"sequence diagram written to {output}\n")
    return EXIT_OK


def _shrink(args: argparse.Namespace, test: Callable[..., Any], stream: TextIO) -> int:
    trace = Trace.load(args.trace)
    check_target(trace.test, test_name(test))  # before the banner: an error stands alone
    output = args.output
    if output is None:
        name = args.trace.name.removesuffix(".trace")
        output = args.trace.with_name(f"{name}.shrunk.trace")
    stream.write(f"testkit: shrinking {args.trace} ({len(trace)} steps) against {args.target}\n")
    stream.flush()
    shrunk = shrink_file(test, trace, args.timeout, args.watchdog)
    path = shrunk.trace.save(output)
    stream.write(describe_bug(shrunk.bug, full_traceback=args.verbose) + "\n")
    budget = " (time budget used up: the best so far)" if shrunk.timed_out else ""
    stream.write(
        f"shrunk from {len(trace)} to {len(shrunk.trace)} steps in {shrunk.seconds:.2f}s, "
        f"{shrunk.runs} runs{budget}\n"
    )
    stream.write(f"original trace: {args.trace}\n")
    stream.write(f"shrunk trace written to {path}\n")
    stream.write(
        f"replay it with: python -m testkit replay {args.target} {shlex.quote(str(path))}\n"
    )
    return EXIT_BUG


def _replay(args: argparse.Namespace, test: Callable[..., Any], stream: TextIO) -> int:
    trace = Trace.load(args.trace)
    check_target(trace.test, test_name(test))  # before the banner: an error stands alone
    stream.write(f"testkit: replaying {args.trace} ({len(trace)} steps) against {args.target}\n")
    try:
        report = replay(test, trace, log_steps=args.verbose, watchdog=args.watchdog)
    except ReplayDivergence as exc:
        stream.write(f"could not reproduce the bug: {exc}\n")
        return EXIT_ERROR
    bug = report.bug
    assert bug is not None
    stream.write(describe_bug(bug, full_traceback=args.verbose) + "\n")
    if trace.bug and bug_line(bug.headline()) != trace.bug:
        stream.write(f"note: the trace recorded a different bug: {trace.bug}\n")
    else:
        stream.write(f"reproduced the bug in {report.steps} steps\n")
    return EXIT_BUG
