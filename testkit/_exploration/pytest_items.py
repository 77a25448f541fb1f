"""A collected pytest test as the test function of an iteration: every schedule runs the
item's setup, call and teardown afresh under the deterministic runtime.

`pytest --testkit-explore N` (the plugin, a front end) explores an `ItemRun` like any test
function of the runtime, so strategies, seeds, traces and shrinking work as for `explore`;
`run_on_trace` runs it once on the schedule of a trace (`--testkit-replay`, and to show a
bug found by the pytest report of the run that reproduces it).

Function-scoped fixtures, `setUp`/`tearDown` and `setup_method` belong to one schedule.
Fixtures of a wider scope are set up by the first schedule and torn down after the last, where
pytest's own `SetupState` decides, as in a normal run.
"""

from __future__ import annotations

import contextlib
import random
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from fsm import _dispatch
from testkit._engine.bug import Abort, Bug
from testkit._engine.iteration import finish_replayed, run_like
from testkit._engine.replaying import ReplayStrategy
from testkit._engine.runtime import Runtime
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.test_body import CONTROLLED_THREADS, Cancelled
from testkit._engine.trace import Trace
from testkit._engine.watchdog import DEFAULT_WATCHDOG, Hung, user_frame
from testkit._errors import TestkitError

Phase = Literal["setup", "call", "teardown"]

TESTER_EXCEPTIONS: tuple[type[BaseException], ...] = (Cancelled, Abort, Hung)
"""How the tester unwinds the test function: never a failure of the test itself."""


WATCHDOG_THREAD = "testkit-watchdog"
"""The name of the thread every run of the tester starts (see `Watchdog.start`)."""


class RunsTheTester(TestkitError):
    """The test runs the tester itself (`deterministic()`, `explore()`, `replay()`): it
    explores by itself, so it runs as written, on real threads."""

    __test__ = False


class PhaseFailed(AssertionError):
    """A phase failed with something other than an `Exception` (`pytest.fail`, `SystemExit`),
    raised in its place so that the iteration counts it as a bug of the test."""

    __test__ = False


class ItemRun:
    """The test function of one schedule made from a pytest item: its setup, call and
    teardown phases, each giving the `TestReport` pytest would have made.

    A phase that fails makes the iteration a bug of the test (its exception, or `PhaseFailed`).
    When the runtime unwinds the test function (a bug in an actor, the step bound), what is
    left of the teardown runs at the start of the next run or in `finish()`, outside this
    iteration's runtime: the actors are gone by then, so a teardown that stops them finds
    them stopped.

        run = ItemRun(item)
        report = testkit.explore(run, iterations=10, name=item.nodeid)
        run.finish()
        final = run.teardown(nextitem)
    """

    __test__ = False

    def __init__(self, item: pytest.Item, pykka_failures: bool = True) -> None:
        self.item = item
        self.pykka_failures = pykka_failures
        """A plain Pykka actor's failure is what Pykka makes of it on threads, not a bug
        (`Runtime.pykka_failures`): the test's own outcome decides."""
        self.reports: list[pytest.TestReport] = []
        """The reports of the latest run's phases that ended (not unwound by the tester)."""
        self.ended_in: Phase = "setup"
        """The phase the latest run was in when it ended (or was unwound)."""
        self.failed: pytest.TestReport | None = None
        """The latest run's first failed phase report, if a phase failed."""
        self.failed_excinfo: Any = None
        """The exception info of `failed`'s phase (pytest's `ExceptionInfo`), if it raised."""
        self.runs_the_tester = False
        """Set when the test ran the tester itself (it then runs as written, on threads)."""
        self.runs = 0
        self._phase_now: Phase = "setup"
        self._pending = False  # the item is set up and its teardown has not run to its end
        self._leftover: list[Callable[[], object]] | None = None

    def __call__(self, runtime: Runtime) -> None:
        """One schedule: setup, call and teardown of the item under `runtime`."""
        self.finish()
        runtime.pykka_failures = self.pykka_failures
        item = self.item
        self.runs += 1
        self.reports, self.failed, self.failed_excinfo = [], None, None
        self.ended_in = "setup"
        sections = getattr(item, "_report_sections", None)
        if isinstance(sections, list):
            sections.clear()  # each report shows the output of its own run only
        function: Any = item
        if hasattr(function, "_request") and not function._request:
            function._initrequest()  # as pytest's own re-runs (runtestprotocol) do
        saved_start = threading.Thread.start
        threading.Thread.start = _thread_guard(saved_start, self)  # type: ignore[method-assign]
        try:
            self._pending = True
            unwound: BaseException | None = None
            try:
                if self._phase("setup").passed:
                    self._phase("call")
            except TESTER_EXCEPTIONS as exc:
                self.ended_in = self._phase_now
                if not isinstance(exc, Abort):
                    raise  # the runtime is unwinding: the teardown runs later, outside it
                unwound = exc  # misuse or a monitor's bug in the test: tear down first
            try:
                self._teardown()
            except TESTER_EXCEPTIONS:
                if unwound is None:
                    self.ended_in = "teardown"
                raise
            if unwound is not None:
                raise unwound
            if self.runs_the_tester:
                raise Abort(error=RunsTheTester("the test runs the tester itself"))
            self.ended_in = self.failed.when if self.failed is not None else "teardown"
        finally:
            threading.Thread.start = saved_start  # type: ignore[method-assign]
        if self.failed is not None:
            raise _failure(self.failed, self.failed_excinfo)

    def finish(self) -> None:
        """Run what is left of the latest run's teardown (after its runtime unwound it)."""
        if not self._pending:
            return
        leftover, self._leftover = self._leftover, None
        if leftover is None:
            _forget_tester_exceptions(self.item)
            with contextlib.suppress(*TESTER_EXCEPTIONS):  # their runtime is gone
                self._phase("teardown", self.item.parent, record=False)
        else:  # the teardown began under the runtime: run its remaining finalizers
            while leftover:
                finalizer = leftover.pop()
                with contextlib.suppress(Exception):  # the actors they stop are gone already
                    finalizer()
        self._done()

    def teardown(self, nextitem: pytest.Item | None) -> pytest.TestReport:
        """The teardown pytest does after the last schedule: the scopes `nextitem` does not
        share (module, class, session fixtures), outside the tester.

        Each schedule's own teardown ran pytest's teardown hooks already (plugins pair them
        with a setup), so this one tears down through pytest's `SetupState` alone."""
        self.finish()
        item = self.item
        state: Any = getattr(item.session, "_setupstate", None)
        if state is None or not hasattr(state, "teardown_exact"):
            return self._phase("teardown", nextitem, record=False)
        started = wall_clock()
        call = pytest.CallInfo.from_call(
            lambda: state.teardown_exact(nextitem),
            when="teardown",
            reraise=(pytest.exit.Exception, KeyboardInterrupt),
        )
        report: pytest.TestReport = item.ihook.pytest_runtest_makereport(item=item, call=call)
        report.duration = wall_clock() - started
        return report

    # ---- one phase ----------------------------------------------------------------------------

    def _teardown(self) -> None:
        """The function-scoped teardown of this schedule (the item's own finalizers only)."""
        state = getattr(self.item.session, "_setupstate", None)
        entry = getattr(state, "stack", {}).get(self.item)
        # teardown_exact pops from this very list: if the runtime unwinds a finalizer, the
        # ones not yet run are still in it
        self._leftover = entry[0] if entry is not None and isinstance(entry[0], list) else None
        self._phase("teardown", self.item.parent)
        self._done()

    def _done(self) -> None:
        self._pending = False
        self._leftover = None
        item: Any = self.item
        if hasattr(item, "_request"):
            item._request = False
            item.funcargs = None

    def _phase(
        self,
        when: Phase,
        nextitem: pytest.Item | pytest.Collector | None = None,
        record: bool = True,
    ) -> pytest.TestReport:
        """Run one phase as pytest's runner does, but let the tester's own exceptions through."""
        item = self.item
        ihook = item.ihook
        self._phase_now = when
        hooks: dict[str, Callable[..., object]] = {
            "setup": ihook.pytest_runtest_setup,
            "call": ihook.pytest_runtest_call,
            "teardown": ihook.pytest_runtest_teardown,
        }
        hook = hooks[when]
        arguments: dict[str, Any] = {"item": item}
        if when == "teardown":
            arguments["nextitem"] = nextitem
        reraise = (pytest.exit.Exception, KeyboardInterrupt, *TESTER_EXCEPTIONS)
        started = wall_clock()
        call = pytest.CallInfo.from_call(lambda: hook(**arguments), when=when, reraise=reraise)
        report: pytest.TestReport = ihook.pytest_runtest_makereport(item=item, call=call)
        report.duration = wall_clock() - started  # this phase alone, in real seconds
        raised = call.excinfo.value if call.excinfo is not None else None
        if isinstance(raised, TESTER_EXCEPTIONS):  # unittest catches everything: let it go on
            raise raised
        if record:
            self.reports.append(report)
            if report.failed and self.failed is None:
                self.failed, self.failed_excinfo = report, call.excinfo
        return report


def _forget_tester_exceptions(item: pytest.Item) -> None:
    """Drop what the tester raised in the test from the exceptions a unittest item keeps for
    its next reports (`TestCaseFunction._excinfo`): unittest catches everything, so an
    unwound run may leave one, e.g. a teardown's stop of an actor after the run ended, which
    would show in the next phase, outside that run."""
    kept: Any = getattr(item, "_excinfo", None)
    if isinstance(kept, list):
        kept[:] = [
            info for info in kept if not isinstance(getattr(info, "value", None), TESTER_EXCEPTIONS)
        ]


def _thread_guard(start: Callable[[threading.Thread], None], run: ItemRun | None = None) -> Any:
    """`Thread.start` while the test runs: the test function may not start threads, whose
    messages the tester could neither schedule nor replay."""

    def guarded_start(thread: threading.Thread) -> None:
        if thread.name == WATCHDOG_THREAD and run is not None:
            # the test runs the tester itself; failing here would leave that run's sandbox
            # half entered, so it goes on and the iteration ends when the test does
            run.runs_the_tester = True
        elif threading.get_ident() in CONTROLLED_THREADS:
            where = user_frame(sys._getframe(1))
            error = TestkitError(
                f"the test started thread {thread.name!r} (in {where}), which the "
                "deterministic tester does not control: what it does could be neither "
                "scheduled nor replayed."
            )
            runtime = _dispatch.current()
            raise runtime.refuse(error) if isinstance(runtime, Runtime) else Abort(error=error)
        start(thread)

    return guarded_start


def _failure(report: pytest.TestReport, excinfo: Any) -> BaseException:
    """What the iteration raises for a failed phase: its own exception when it is one (an
    assertion's text with object addresses masked, so that every run of the same failure
    is the same bug for the shrinker)."""
    value = excinfo.value if excinfo is not None else None
    if isinstance(value, AssertionError):
        return AssertionError(_ADDRESS.sub(" at 0x?", str(value)))
    if isinstance(value, Exception):
        return value
    text = report.longreprtext.strip().splitlines()
    last = text[-1] if text else f"the {report.when} phase failed"
    return PhaseFailed(last)


_ADDRESS = re.compile(r" at 0x[0-9A-Fa-f]+")


def run_on_trace(
    run: ItemRun, trace: Trace, watchdog: float | None = DEFAULT_WATCHDOG
) -> Bug | None:
    """Run `run` once on the schedule of `trace`, checking every step against it; the bug it
    reproduces (with its trace), or None when the run passed. Raises `ReplayDivergence` when the
    program decided differently, `TestkitError` on misuse."""
    strategy = ReplayStrategy(trace, False)
    with Sandbox(watchdog) as sandbox:
        strategy.begin(0, random.Random(0), trace.max_steps)
        runtime, bug = run_like(run, strategy, trace, sandbox)
    if bug is None:
        return None
    return finish_replayed(bug, runtime, trace)


def load_trace(path: str | Path) -> Trace:
    """A trace file for `--testkit-replay`; `TestkitError` if it is not one."""
    return Trace.load(path)
