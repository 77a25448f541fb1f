"""`Report`: what an exploration did and found, and how a bug reads to a person."""

from __future__ import annotations

from dataclasses import dataclass, field

from testkit._engine.bug import Bug
from testkit._engine.faults import Faults, IterationFacts
from testkit._engine.trace import Trace
from testkit._engine.tracebacks import short_traceback
from testkit._reporting.coverage import Coverage

MAX_DISTINCT_BUGS = 100
"""`explore(stop_at_first_bug=False)` keeps the trace of at most this many distinct bugs;
later new ones are only counted (`Report.untracked_bugs`), so memory stays bounded."""


@dataclass
class Report:
    """What `explore` did and found."""

    test: str
    strategy: str
    seed: int
    max_steps: int
    iterations: int = 0
    buggy_iterations: int = 0
    schedules: int = 0
    steps: int = 0
    bound_reached: int = 0
    elapsed: float = 0.0
    exhausted: bool = False
    timed_out: bool = False
    """True when `explore(time_budget=...)` ran out before all iterations ran."""
    interrupted: bool = False
    """True when Ctrl-C stopped the run (see `testkit.Interrupted`)."""
    bugs: list[Bug] = field(default_factory=list)
    """One bug per distinct signature, in the order found; `bug.count` counts iterations."""
    untracked_bugs: int = 0
    """Buggy iterations of signatures beyond `MAX_DISTINCT_BUGS` (counted, not kept)."""
    warnings: list[str] = field(default_factory=list)
    """Why a green run may mean less than it seems (every run cut short, a monitor unused)."""
    coverage: Coverage = field(default_factory=Coverage)
    """States, transitions and events each FSM class and monitor went through."""
    faults: FaultCounts = field(default_factory=lambda: FaultCounts())
    """The declared faults injected, per kind, over all iterations (empty: none declared)."""
    sometimes: dict[str, int] = field(default_factory=dict)
    """Each `sometimes` name used, and in how many iterations its condition held."""

    @property
    def bug(self) -> Bug | None:
        """The first bug found, or None."""
        return self.bugs[0] if self.bugs else None

    def add_bug(self, bug: Bug) -> bool:
        """Count `bug`; True if it is a new signature to keep (then the caller fills in its
        trace), False if it adds to a bug already kept or past `MAX_DISTINCT_BUGS`."""
        signature = bug.signature
        for kept in self.bugs:
            if kept.signature == signature:
                kept.count += 1
                return False
        if len(self.bugs) >= MAX_DISTINCT_BUGS:
            self.untracked_bugs += 1
            return False
        self.bugs.append(bug)
        return True

    def count_facts(self, facts: IterationFacts | None) -> None:
        """Add one iteration's faults and `sometimes` conditions."""
        if facts is None:
            return
        self.faults.count(facts)
        for name in facts.sometimes_named:
            self.sometimes[name] = self.sometimes.get(name, 0) + (name in facts.sometimes_held)

    @property
    def unmet(self) -> list[str]:
        """What a green exploration promised and did not do: `sometimes` conditions that
        held in no iteration, and with `Faults(strict=True)` declared kinds that never fired."""
        return [*self.unmet_sometimes, *self.unmet_faults]

    @property
    def unmet_sometimes(self) -> list[str]:
        """The `sometimes` conditions that held in no iteration."""
        return [
            f"sometimes {name!r} never happened in {self.iterations} iteration(s)"
            for name, count in sorted(self.sometimes.items())
            if not count
        ]

    @property
    def unmet_faults(self) -> list[str]:
        """With `Faults(strict=True)`, the declared kinds that never fired."""
        declared = self.faults.declared
        if declared is None or not declared.strict:
            return []
        return [
            f"declared fault {kind!r} never fired in {self.iterations} iteration(s) "
            "(Faults(strict=True))"
            for kind in self.faults.never_fired
        ]

    @property
    def buggy_percent(self) -> float:
        return 100.0 * self.buggy_iterations / self.iterations if self.iterations else 0.0

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def iterations_per_second(self) -> float:
        return self.iterations / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self, full_traceback: bool = False) -> str:
        """A few lines in the spirit of Coyote's test report; the bug's traceback in its short
        form unless `full_traceback`."""
        lines = [
            f"testkit: {self.test} with strategy {self.strategy}, seed {self.seed}",
            f"  explored {self.iterations} iteration(s), {self.schedules} distinct schedule(s)"
            + (" (search space exhausted)" if self.exhausted else "")
            + (" (time budget used up)" if self.timed_out else ""),
            f"  found {self.buggy_iterations} buggy iteration(s) ({self.buggy_percent:.2f}%)",
            f"  {self.steps} steps in {self.elapsed:.2f}s ({self.steps_per_second:,.0f} steps/s, "
            f"{self.iterations_per_second:,.1f} iterations/s); "
            f"{self.bound_reached} iteration(s) reached max_steps={self.max_steps}",
        ]
        if self.coverage:
            lines.append(f"  {self.coverage.figure()}")
        if self.faults:
            lines.append(f"  {self.faults.summary()}")
        if self.sometimes:
            held = ", ".join(f"{name!r} {count}" for name, count in sorted(self.sometimes.items()))
            lines.append(f"  sometimes (iterations where each held): {held}")
        if self.bug is None:
            lines.extend(f"FAILED: {problem}" for problem in self.unmet)
        if self.interrupted:
            lines.append("  interrupted (Ctrl-C): these figures cover the iterations that ran")
        if len(self.bugs) > 1 or self.untracked_bugs:
            lines.append(f"  {len(self.bugs)} distinct bug(s):")
            lines.extend(f"    {bug.count} x {bug.signature_text()}" for bug in self.bugs)
            if self.untracked_bugs:
                lines.append(f"    {self.untracked_bugs} x other bugs (not kept)")
        lines.extend(f"warning: {warning}" for warning in self.warnings)
        if self.bug is not None:
            lines.append(describe_bug(self.bug, full_traceback))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


class FaultCounts:
    """`Report.faults`: the declared faults (`declared`, a `Faults` or None), how many of each
    kind were injected over the exploration (`injected`), and the declared kinds that never
    fired (`never_fired`): a fault that never fired tested nothing.

        assert not report.faults.never_fired, report.faults.summary()
    """

    def __init__(self, declared: Faults | None = None) -> None:
        self.declared = declared
        self.injected: dict[str, int] = dict.fromkeys(declared.declared if declared else (), 0)
        self.started: set[str] = set()
        """Declared class names some iteration started (the others were never tested)."""

    def count(self, facts: IterationFacts) -> None:
        for kind, number in facts.faults:
            self.injected[kind] = self.injected.get(kind, 0) + number
        self.started.update(facts.started)

    @property
    def never_fired(self) -> list[str]:
        """The declared kinds injected in no iteration."""
        return [kind for kind, number in self.injected.items() if not number]

    def __bool__(self) -> bool:
        return self.declared is not None

    def summary(self) -> str:
        counts = ", ".join(f"{kind} {number}" for kind, number in self.injected.items())
        never = self.never_fired
        tail = f" (never fired: {', '.join(never)})" if never else ""
        return f"faults injected: {counts or 'none declared'}{tail}"

    def __repr__(self) -> str:
        return f"FaultCounts({self.injected!r})"


class NeverHappened(AssertionError):
    """`explore` found no bug, but what it was told must happen never did: a `sometimes`
    condition held in no iteration, or (with `Faults(strict=True)`) a declared fault kind
    never fired. `.report` is the full report, `.unmet` lists what did not happen."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.unmet = report.unmet
        super().__init__(
            "the exploration is not green: "
            + "; ".join(self.unmet)
            + " (a condition that never holds means the runs never reached that situation: "
            "raise iterations or max_steps, declare the faults that lead there, or fix the "
            "condition)"
        )


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped `explore`; `.report` holds what the iterations that ran found."""

    __test__ = False

    def __init__(self, report: Report) -> None:
        super().__init__("interrupted")
        self.report = report


class BugFound(AssertionError):
    """Raised by `deterministic()` when the program under test has a bug."""

    def __init__(self, bug: Bug, hint: str = "") -> None:
        super().__init__(describe_bug(bug) + (f"\n{hint}" if hint else ""))
        self.bug = bug


def describe_bug(bug: Bug, full_traceback: bool = True) -> str:
    """The bug, where it happened, its traceback (the innermost frames only unless
    `full_traceback`) and what each actor did just before."""
    lines = [f"BUG: {bug.headline()}"]
    trace = bug.trace
    if isinstance(trace, Trace):
        original = getattr(bug, "original_trace", None)
        shrunk = (
            f" (shrunk from {len(original)})"
            if isinstance(original, Trace) and original is not trace
            else ""
        )
        lines.append(
            f"  iteration {trace.iteration}, strategy {trace.strategy}, seed {trace.seed}, "
            f"{len(trace)} steps{shrunk}"
        )
    text = getattr(bug, "traceback", "")  # a Bug pickled before it had one
    if text:
        text = text if full_traceback else short_traceback(text)
        lines.extend(f"  {line}" for line in text.rstrip("\n").splitlines())
    if bug.events:
        lines.append("last events of each actor (oldest first):")
        for actor, events in bug.events.items():
            lines.append(f"  {actor}:")
            lines.extend(f"    {event}" for event in events)
    if bug.logs:
        lines.append("LoggingFSM logs:")
        for actor, entries in bug.logs.items():
            lines.append(f"  {actor}:")
            lines.extend(f"    {entry}" for entry in entries)
    return "\n".join(lines)
