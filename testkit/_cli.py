"""`python -m testkit test|replay|shrink|show|explain MODULE:FUNCTION ...`: the command line."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from testkit._engine.replaying import check_target
from testkit._engine.test_function import load_test, test_name
from testkit._engine.trace import TRACE_DIR, Trace, bug_line
from testkit._engine.watchdog import DEFAULT_WATCHDOG
from testkit._errors import ReplayDivergence, TestkitError
from testkit._explaining.explanation import DEFAULT_EXPLAIN_BUDGET, Explanation, explain_trace
from testkit._exploration.diagrams import sequence_diagram
from testkit._exploration.explore import explore
from testkit._exploration.replay import replay
from testkit._exploration.settings import check_arguments
from testkit._exploration.shrink import DEFAULT_SHRINK_BUDGET, original_path, shrink_file
from testkit._exploration.workers import PROCESSES_PER_CORE, process_count
from testkit._reporting.progress import ProgressBar
from testkit._reporting.report import Interrupted, Report, describe_bug
from testkit._reporting.words import DEFAULT_PAYLOAD_LENGTH
from testkit._strategies import NAMES, make_strategy

EXIT_OK, EXIT_BUG, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


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


EXIT_CODES = """exit codes: 0 no bug found, 1 bug found (or reproduced), 2 bad input or misuse of
the tester (the message says what to change), 130 interrupted (Ctrl-C, SIGTERM, SIGHUP; the
partial report is printed)"""


class _DefaultsOnce(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" to an option's help only where the help does not already say
    what the default is, and not for flags and options without a default (None)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is False or default == argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


class _Out(Protocol):
    def write(self, text: str, /) -> object: ...

    def flush(self) -> None: ...


_UNPRINTABLE = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        *range(0x202A, 0x202F),  # bidirectional overrides: text that reads reversed
        *range(0x2066, 0x206A),
    )
    if chr(code) not in "\n\t"
}


class _Printable:
    """The command line's output with control characters escaped (`\\x1b`): text from a
    trace file or a test (a bug's message, a test name) cannot move the cursor, recolour the
    terminal or hide what is printed."""

    def __init__(self, stream: _Out) -> None:
        self.stream = stream

    def write(self, text: str) -> object:
        return self.stream.write(text.translate(_UNPRINTABLE))

    def flush(self) -> None:
        self.stream.flush()


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
    formatter = _DefaultsOnce
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
        default=None,
        metavar="PATH",
        help="the bug's trace file (.trace is added if missing; several bugs are numbered: "
        "NAME-1.trace, ...), or a directory: a PATH ending in / or an existing directory, "
        f"where each trace gets a unique name (default: {TRACE_DIR}/)",
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
        help="keep going after the first bug; group bugs by kind, actor class, exception type "
        "and the file:line that raised it (liveness, deadlock: the message), one trace per "
        "distinct bug",
    )
    test.add_argument(
        "-j",
        "--workers",
        type=_positive_int,
        default=os.cpu_count() or 1,
        help="lanes of iterations, each with a strategy of its own, run in up to N processes "
        "(default: all cores): this one first, then worker processes if the run is long "
        f"enough to gain; at most {PROCESSES_PER_CORE} processes per core. The same N gives "
        "the same report; -j 1 runs all in this process",
    )
    test.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="run the iterations on the dask.distributed cluster whose scheduler is at ADDRESS "
        "(e.g. tcp://scheduler:8786, or tls://scheduler:8786 with the certificates in dask's "
        "configuration) instead of local processes; jobs and results travel as pickles, so "
        "use only a cluster you trust (see the README)",
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
        "--no-explain",
        action="store_true",
        help="do not explain the bug (its causal slice and decisive change) after finding it",
    )
    test.add_argument(
        "--explain-timeout",
        type=_seconds,
        default=DEFAULT_EXPLAIN_BUDGET,
        metavar="SECONDS",
        help="seconds to spend explaining each bug found",
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
    shr.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="KIND",
        help="a kind of step to keep even when the bug happens without it (e.g. stop, start, "
        "fault); repeatable",
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
    show.add_argument(
        "--explain",
        action="store_true",
        help="explain the bug first: highlight its causal slice and decisive steps, and draw "
        "the passing run beside it",
    )
    _add_payload_length(show)
    why = commands.add_parser(
        "explain",
        help="explain a trace's bug: the steps that matter and the change that makes it pass",
        description="Replay TRACE against MODULE:FUNCTION, find the steps its failing step "
        "depends on (the causal slice) and the smallest nearby change that makes the run pass "
        "(the decisive change); print both in words, write the passing trace and a sequence "
        "diagram that highlights them.",
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    _add_target_and_trace(why)
    why.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_EXPLAIN_BUDGET,
        metavar="SECONDS",
        help="stop searching for the decisive change after this many seconds (the "
        "explanation then says what it could not decide)",
    )
    why.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="the sequence diagram (default: TRACE's name with .explained.html)",
    )
    _add_payload_length(why)
    _add_watchdog(why)
    why.add_argument("-v", "--verbose", action="store_true", help="show the actors' logs")
    return parser


def _add_payload_length(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--payload-length",
        type=int,
        default=DEFAULT_PAYLOAD_LENGTH,
        metavar="N",
        help="characters of each message's payload shown on its arrow",
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (see `EXIT_CODES`)."""
    stream = _Printable(out or sys.stdout)
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
        if args.command == "explain":
            return _explain(args, test, stream)
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


def _test(args: argparse.Namespace, test: Callable[..., Any], stream: _Out) -> int:
    # bad input is an error before anything is printed
    make_strategy(args.strategy)
    if args.coverage is not None and args.coverage.is_dir():
        raise TestkitError(f"--coverage {args.coverage}: that is a directory; name an .html file")
    check_arguments(
        test, args.iterations, args.max_steps, args.seed, args.liveness_threshold, args.timer_delay
    )
    bar = ProgressBar(sys.stderr, enabled=not args.no_progress, lines=not sys.stderr.isatty())
    stream.write(
        f"testkit: testing {args.target}: {args.iterations} iteration(s) of up to "
        f"{args.max_steps} steps, strategy {args.strategy}\n"
    )
    processes = process_count(args.workers)
    if not args.dask and processes < args.workers:
        stream.write(
            f"note: -j {args.workers} runs {args.workers} lanes (the same report as anywhere) "
            f"in at most {processes} processes, {PROCESSES_PER_CORE} per core of this "
            "machine: more would only compete for the same cores\n"
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
        )
    except Interrupted as interrupted:
        bar.close()
        _print_report(interrupted.report, args, test, stream)
        stream.write("interrupted\n")
        return EXIT_INTERRUPTED
    bar.close()
    return _print_report(report, args, test, stream)


def _print_report(
    report: Report, args: argparse.Namespace, test: Callable[..., Any], stream: _Out
) -> int:
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
    several = len(report.bugs) > 1
    for number, bug in enumerate(report.bugs, start=1):
        path = bug.trace.save(_trace_target(args.trace_out, number, several))
        if several:
            stream.write(f"{bug.count} x {bug.signature_text()}\n")
        beside = path.is_file()  # not for --trace-out /dev/null: nothing else is written
        original = bug.original_trace
        if original is not None and original is not bug.trace:
            stream.write(f"shrunk from {len(original)} to {len(bug.trace)} steps\n")
            if beside:
                found = original.save(original_path(path))
                stream.write(f"original trace written to {found}\n")
        stream.write(f"trace written to {path}\n")
        explanation = None if args.no_explain else _explain_found(test, bug, args, stream)
        if beside:
            _draw_next_to(test, path, stream, explanation)
        stream.write(f"replay it with: {replay_command(args.target, path)}\n")
    return EXIT_BUG


def replay_command(target: str, trace: Path) -> str:
    """The command that replays `trace`, quoted for a POSIX shell."""
    return f"python -m testkit replay {shlex.quote(target)} {shlex.quote(str(trace))}"


def _trace_target(trace_out: str | None, number: int, several: bool) -> str:
    """Where a bug's trace goes. `--trace-out` spelled with a trailing separator, or naming
    an existing directory, is a directory: each trace goes inside under its own unique
    name (as in the default, testkit-traces/). Otherwise it is a file name (`.trace` is
    added if missing); several distinct bugs are numbered: `bug-1.trace`, `bug-2.trace`."""
    if trace_out is None:
        return f"{TRACE_DIR}{os.sep}"
    if trace_out.endswith(("/", os.sep)) or Path(trace_out).is_dir() or not several:
        return trace_out
    return f"{trace_out.removesuffix('.trace')}-{number}.trace"


def _explain_found(
    test: Callable[..., Any], bug: Any, args: argparse.Namespace, stream: _Out
) -> Explanation | None:
    """Print why `bug` happens (a note if it cannot be explained)."""
    try:
        explanation: Explanation = bug.explain(test, args.explain_timeout)
    except TestkitError as exc:
        stream.write(f"note: the bug was not explained: {exc}\n")
        return None
    stream.write(_why_text(explanation))
    return explanation


def _why_text(explanation: Explanation) -> str:
    lines = explanation.story.splitlines()
    return "why:\n" + "".join(f"  {line}\n" for line in lines)


def _draw_next_to(
    test: Callable[..., Any], trace: Path, stream: _Out, explanation: Explanation | None = None
) -> None:
    """The bug's sequence diagram as HTML beside its trace (a note if it cannot be drawn)."""
    page = trace.with_suffix(".html")
    try:
        page.write_text(sequence_diagram(test, trace, explanation=explanation))
    except (TestkitError, OSError) as exc:
        stream.write(f"note: no sequence diagram drawn: {exc}\n")
        return
    stream.write(f"sequence diagram written to {page}\n")


def _show(args: argparse.Namespace, test: Callable[..., Any], stream: _Out) -> int:
    explanation = None
    if args.explain:
        explanation = explain_trace(test, args.trace, payload_length=_payload_length(args))
    text = sequence_diagram(
        test,
        args.trace,
        format="mermaid" if args.mermaid else "html",
        logs=args.logs,
        explanation=explanation,
        payload_length=_payload_length(args),
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


def _shrink(args: argparse.Namespace, test: Callable[..., Any], stream: _Out) -> int:
    trace = Trace.load(args.trace)
    check_target(trace.test, test_name(test))  # before the banner: an error stands alone
    output = args.output
    if output is None:
        name = args.trace.name.removesuffix(".trace")
        output = args.trace.with_name(f"{name}.shrunk.trace")
    stream.write(f"testkit: shrinking {args.trace} ({len(trace)} steps) against {args.target}\n")
    stream.flush()
    shrunk = shrink_file(test, trace, args.timeout, args.watchdog, args.keep)
    path = shrunk.trace.save(output)
    stream.write(describe_bug(shrunk.bug, full_traceback=args.verbose) + "\n")
    for note in shrunk.notes:
        stream.write(f"note: {note}\n")
    budget = " (time budget used up: the best so far)" if shrunk.timed_out else ""
    stream.write(
        f"shrunk from {len(trace)} to {len(shrunk.trace)} steps in {shrunk.seconds:.2f}s, "
        f"{shrunk.runs} runs{budget}\n"
    )
    stream.write(f"original trace: {args.trace}\n")
    stream.write(f"shrunk trace written to {path}\n")
    stream.write(f"replay it with: {replay_command(args.target, path)}\n")
    return EXIT_BUG


def _payload_length(args: argparse.Namespace) -> int:
    if args.payload_length < 0:
        raise TestkitError(f"--payload-length must be >= 0, got {args.payload_length}")
    return int(args.payload_length)


def _explain(args: argparse.Namespace, test: Callable[..., Any], stream: _Out) -> int:
    trace = Trace.load(args.trace)
    check_target(trace.test, test_name(test))  # before the banner: an error stands alone
    length = _payload_length(args)
    stream.write(f"testkit: explaining {args.trace} ({len(trace)} steps) against {args.target}\n")
    stream.flush()
    explanation = explain_trace(
        test, trace, args.timeout, payload_length=length, watchdog=args.watchdog
    )
    stream.write(f"BUG: {explanation.bug}\n")
    stream.write(_why_text(explanation))
    stream.write(
        f"slice: {len(explanation.slice)} of {len(trace)} steps: "
        f"{', '.join(str(step.index) for step in explanation.slice)}\n"
    )
    name = args.trace.name.removesuffix(".trace")
    if explanation.passing is not None:
        passing = explanation.passing.save(args.trace.with_name(f"{name}.passing.trace"))
        stream.write(f"passing trace written to {passing}\n")
    output = args.output or args.trace.with_name(f"{name}.explained.html")
    page = sequence_diagram(test, trace, explanation=explanation, payload_length=length)
    try:
        output.write_text(page)
    except OSError as exc:
        raise TestkitError(f"cannot write {output}: {exc}") from None
    stream.write(f"sequence diagram written to {output}\n")
    return EXIT_BUG


def _replay(args: argparse.Namespace, test: Callable[..., Any], stream: _Out) -> int:
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
