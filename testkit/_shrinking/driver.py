"""Shrinking one trace: check that it replays to its bug, let the passes drive a `Shrinker`
until none helps or the time budget is spent, and describe the shortest run found."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from testkit._engine.bug import Bug
from testkit._engine.interrupts import interruptible
from testkit._engine.iteration import finish_replayed
from testkit._engine.observer import Observer, installed
from testkit._engine.runtime import Runtime
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.test_function import TestFunction
from testkit._engine.trace import Step, Trace
from testkit._errors import TestkitError
from testkit._shrinking.passes import run_passes
from testkit._shrinking.shrinker import Shrinker, strict_run


@dataclass
class Shrunk:
    """The outcome: the shrunk trace, its bug as a report shows it, and what it took."""

    trace: Trace
    bug: Bug
    original: Trace
    seconds: float
    runs: int
    timed_out: bool
    notes: list[str] = field(default_factory=list)
    """How the shrunk story differs from the one found (a restart gone, a stop new)."""


def shrink_trace(
    test: TestFunction,
    trace: Trace,
    time_budget: float,
    watchdog: float | None,
    keep: frozenset[str] = frozenset(),
) -> Shrunk:
    """Shrink `trace` for at most `time_budget` seconds, keeping every step of the kinds in
    `keep` (arguments checked by the caller)."""
    started = wall_clock()
    with interruptible(), Sandbox(watchdog) as sandbox:
        try:
            found_story = _StoryTeller()
            with installed(found_story):
                runtime, bug = strict_run(test, trace, sandbox)
        except TestkitError as exc:
            raise TestkitError(f"cannot shrink this trace: it does not replay: {exc}") from None
        if bug is None:
            raise TestkitError(
                f"cannot shrink this trace: it replays to its end ({runtime.steps} steps) "
                "without a bug; shrink a trace written for a bug by `python -m testkit test` "
                "or explore()"
            )
        bound_liveness = runtime.bound_reached and bug.kind == "liveness"
        shrinker = Shrinker(test, trace, bug, sandbox, started + time_budget, bound_liveness, keep)
        run_passes(shrinker)
        best = shrinker.trace_of(shrinker.best)
        if len(best) > len(trace):  # never longer: keep the original
            best = trace
        shrunk_story = _StoryTeller()
        with installed(shrunk_story):
            runtime, final = strict_run(test, best, sandbox)
    assert final is not None
    finished = _finished(final, runtime, best)
    return Shrunk(
        finished.trace,
        finished,
        trace,
        wall_clock() - started,
        shrinker.runs,
        shrinker.timed_out,
        story_notes(found_story.story(trace.steps), shrunk_story.story(best.steps), keep),
    )


class _StoryTeller(Observer):
    """Watches a replay for what makes a bug's story: actors stopping, and restarts (a
    class's next instance starting after one of its instances stopped)."""

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()
        self.gone: set[str] = set()
        """Classes one of whose instances stopped."""

    def stopped(self, step: int, mailbox: Any) -> None:
        cls = str(mailbox.id).split("#", 1)[0]
        self.events[f"stop of {cls}"] += 1
        self.gone.add(cls)

    def started(self, step: int, mailbox: Any) -> None:
        cls = str(mailbox.id).split("#", 1)[0]
        if cls in self.gone:
            self.events[f"restart of {cls}"] += 1

    def story(self, steps: Sequence[Step]) -> Counter[str]:
        """What happened, with the trace's faults (`fault` steps)."""
        story = Counter(self.events)
        for step in steps:
            if step.kind == "fault":
                story[f"fault {step.actor} {step.what}".strip()] += 1
        return story


def story_notes(
    before: Counter[str], after: Counter[str], keep: frozenset[str] = frozenset()
) -> list[str]:
    """What the shrunk trace's story (`after`) lost or gained next to the original's: its
    stops, restarts and faults, e.g. "the shrunk trace no longer has the restart of
    CoffeeMachine the original had"."""
    notes = []
    for item in before:
        if after[item] < before[item]:
            kinds = ("fault",) if item.startswith("fault") else ("start", "stop")
            wanted = ", ".join(f'"{kind}"' for kind in kinds) + ("," if len(kinds) == 1 else "")
            hint = "" if set(kinds) <= keep else f" (shrink with keep=({wanted}) to keep it)"
            notes.append(f"the shrunk trace no longer has the {item} the original had{hint}")
    for item in after:
        if after[item] > before[item]:
            notes.append(f"the shrunk trace has a {item} the original did not have")
    return notes


def _finished(bug: Bug, runtime: Runtime, trace: Trace) -> Bug:
    """`bug` with its trace, events and logs, as `explore` reports a bug."""
    finish_replayed(bug, runtime, trace, check=False)
    bug.trace.versions = trace.versions
    return bug


def check_budget(time_budget: object, where: str) -> float:
    """A time budget is a number of seconds > 0."""
    if (
        isinstance(time_budget, bool)
        or not isinstance(time_budget, (int, float))
        or not time_budget > 0
    ):
        raise TestkitError(
            f"{where}: time_budget must be a number of seconds > 0, got {time_budget!r}"
        )
    return float(time_budget)
