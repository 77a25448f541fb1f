"""`Report`: what an exploration did and found, and how a bug reads to a person."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from testkit._bug import Bug
from testkit._trace import Trace


@dataclass
class Progress:
    """Where a running `explore` is, for progress bars."""

    iteration: int
    iterations: int
    bugs: int
    elapsed: float


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
    bugs: list[Bug] = field(default_factory=list)

    @property
    def bug(self) -> Bug | None:
        """The first bug found, or None."""
        return self.bugs[0] if self.bugs else None

    @property
    def buggy_percent(self) -> float:
        return 100.0 * self.buggy_iterations / self.iterations if self.iterations else 0.0

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def iterations_per_second(self) -> float:
        return self.iterations / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> str:
        """A few lines in the spirit of Coyote's test report."""
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
        if self.bug is not None:
            lines.append(describe_bug(self.bug))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


class BugFound(AssertionError):
    """Raised by `deterministic()` when the program under test has a bug."""

    def __init__(self, bug: Bug) -> None:
        super().__init__(describe_bug(bug))
        self.bug = bug


def describe_bug(bug: Bug) -> str:
    """The bug, where it happened, and what each actor did just before."""
    lines = [f"BUG: {bug.headline()}"]
    trace = bug.trace
    if isinstance(trace, Trace):
        lines.append(
            f"  iteration {trace.iteration}, strategy {trace.strategy}, seed {trace.seed}, "
            f"{len(trace)} steps"
        )
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


def test_name(test: Callable[..., Any]) -> str:
    """`module:function` of a test, as the command line takes it."""
    module = getattr(test, "__module__", None) or "?"
    name = getattr(test, "__qualname__", None) or getattr(test, "__name__", None) or repr(test)
    return f"{module}:{name}"
