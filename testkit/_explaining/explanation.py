"""`Explanation`: why a trace fails, as the steps that matter, the change that makes it pass,
and a sentence or two naming actors, messages, payloads and states."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from testkit._engine.bug import Bug, register_explainer
from testkit._engine.interrupts import interruptible
from testkit._engine.replaying import checked_trace
from testkit._engine.sandbox import Sandbox, wall_clock
from testkit._engine.test_function import TestFunction, check_test
from testkit._engine.trace import Step, Trace
from testkit._engine.watchdog import DEFAULT_WATCHDOG
from testkit._errors import TestkitError
from testkit._explaining.causal import CausalGraph, StepFacts, causal_replay
from testkit._explaining.decisive import REACH, Edit, Layout, search
from testkit._reporting.words import DEFAULT_PAYLOAD_LENGTH

DEFAULT_EXPLAIN_BUDGET = 30.0


@dataclass
class Change:
    """The decisive change: what was changed in the failing schedule, and what it did.

    `steps` are the failing trace's steps the change is about (the two deliveries that swap,
    the timer firing that moves, the random choice that changes); `passing_steps` the same
    events in the passing trace.

        change = report.bug.explain(execute).decisive
        if change is not None:
            print(change.text)  # fails when `Debit(o-2)` reaches `PaymentService#2` before ...
            print([str(report.bug.trace.steps[i]) for i in change.steps])
    """

    kind: str
    """`reorder` (two deliveries the other way round), `timer` (a timer firing moved),
    `random` (a random value changed) or `fault` (a declared fault left out)."""
    text: str
    steps: tuple[int, ...]
    passing_steps: tuple[int, ...]
    edit: str
    """The edit of the schedule itself (which decision moved where), for the curious."""
    in_slice: bool


@dataclass
class Explanation:
    """Why a trace fails (see `Bug.explain`).

    `slice`: the steps the failing step depends on, in order (the failing step last).
    `decisive`: the smallest change near the failing step that makes the run pass, or None
    when none was found (then `undecided` says why). `passing`: the passing trace of that
    change. `text`: all of it in a few sentences.

        explanation = report.bug.explain(execute)
        print(explanation.text)
        print([str(step) for step in explanation.slice])
    """

    trace: Trace
    bug: str
    failing_step: Step
    slice: list[Step]
    decisive: Change | None
    passing: Trace | None
    text: str
    undecided: list[str] = field(default_factory=list)
    tried: int = 0
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        """Whether everything was decided (a decisive change found within the budget)."""
        return self.decisive is not None and not self.undecided

    @property
    def story(self) -> str:
        """`text` without its first line (the bug itself): what to print under a bug that
        is already shown."""
        return "\n".join(self.text.splitlines()[1:])

    @property
    def slice_steps(self) -> frozenset[int]:
        """The indexes of the slice's steps."""
        return frozenset(step.index for step in self.slice)

    def __str__(self) -> str:
        return self.text


def explain_trace(
    test: TestFunction,
    trace: Trace | str | os.PathLike[str],
    time_budget: float = DEFAULT_EXPLAIN_BUDGET,
    *,
    payload_length: int = DEFAULT_PAYLOAD_LENGTH,
    watchdog: float | None = DEFAULT_WATCHDOG,
) -> Explanation:
    """Explain the bug `trace` (a `Trace` or a trace file of `test`) replays to."""
    check_test(test, "explain")
    budget = _check_budget(time_budget)
    loaded = checked_trace(test, trace if isinstance(trace, Trace) else Path(trace), "explain")
    started = wall_clock()
    with interruptible(), Sandbox(watchdog) as sandbox:
        try:
            failing = causal_replay(test, loaded, sandbox, payload_length)
        except TestkitError as exc:
            raise TestkitError(f"cannot explain this trace: it does not replay: {exc}") from None
        # the passing run is replayed once more after the search: keep the time for it
        deadline = started + budget - 2 * (wall_clock() - started)
        bug = failing.bug
        if bug is None:
            raise TestkitError(
                f"cannot explain this trace: it replays to its end ({failing.runtime.steps} "
                "steps) without a bug; explain a trace written for a bug by `python -m testkit "
                "test`, explore() or shrink()"
            )
        graph = failing.graph
        roots = graph.roots(bug, failing.runtime)
        in_slice = graph.closure(roots)
        steps = failing.steps
        layout = Layout.of(steps)
        failing_index = max(roots)
        failing_unit = layout.unit_of[failing_index] if steps else 0
        slice_units = {layout.unit_of[i] for i in in_slice if i < len(steps)}
        ends = [*layout.starts[1:], len(steps)]

        def depends(later: int, earlier: int) -> bool:
            sources = range(layout.starts[later], ends[later])
            return graph.reaches(sources, layout.starts[earlier], ends[earlier])

        found = search(test, loaded, layout, failing_unit, slice_units, depends, sandbox, deadline)
        change: Change | None = None
        undecided: list[str] = []
        if found.edit is not None and found.passing is not None:
            passing = causal_replay_tolerant(test, found.passing, sandbox, payload_length)
            change = describe_change(found.edit, layout, graph, passing, steps)
        elif found.timed_out:
            undecided.append(
                f"which change makes the run pass: the time budget ({budget:g}s) ran out after "
                f"{found.tried} of {found.total} candidate changes near the failing step"
            )
        elif found.total:
            undecided.append(
                f"which change makes the run pass: none of the {found.total} changes near the "
                f"failing step (a random value changed, two concurrent decisions up to {REACH} "
                "apart swapped, a decision put off) made it pass; the bug may happen in every "
                "order of these steps (a handler's logic rather than a race)"
            )
        else:
            undecided.append(
                "which change makes the run pass: nothing before the failing step could be "
                "changed (no random value, no concurrent decisions); the bug happens in every "
                "order of these steps"
            )
    failing_step = steps[failing_index] if steps else Step(0, "start", "test")
    sliced = [steps[i] for i in sorted(in_slice) if i < len(steps)]
    text = _text(
        bug, failing_step, graph.facts.get(failing_index), sliced, steps, change, undecided
    )
    return Explanation(
        loaded,
        bug.headline(),
        failing_step,
        sliced,
        change,
        found.passing if change is not None else None,
        text,
        undecided,
        found.tried,
        wall_clock() - started,
    )


def _check_budget(time_budget: object) -> float:
    if (
        isinstance(time_budget, bool)
        or not isinstance(time_budget, (int, float))
        or not time_budget > 0
    ):
        raise TestkitError(
            f"explain(..., time_budget=...): time_budget must be a number of seconds > 0, "
            f"got {time_budget!r}"
        )
    return float(time_budget)


@dataclass
class _Run:
    """A passing run's steps and what each did."""

    steps: list[Step]
    facts: dict[int, StepFacts]


def causal_replay_tolerant(
    test: TestFunction, trace: Trace, sandbox: Sandbox, payload_length: int
) -> _Run:
    """Replay a passing trace to learn what each of its steps did (nothing, if the program
    decides differently on this replay: the words then come from the edit alone)."""
    try:
        replayed = causal_replay(test, trace, sandbox, payload_length)
    except TestkitError:
        return _Run(trace.steps, {})
    return _Run(replayed.steps, replayed.graph.facts)


# ---- in words -------------------------------------------------------------------------------


def _deliveries(facts: dict[int, StepFacts]) -> dict[str, list[tuple[int, tuple[str, str]]]]:
    """Per receiver, the (step, (sender, message)) of each delivery, in order."""
    out: dict[str, list[tuple[int, tuple[str, str]]]] = {}
    for step in sorted(facts):
        fact = facts[step]
        if fact.kind in ("deliver", "stop"):
            out.setdefault(fact.actor, []).append((step, fact.key))
    return out


def _first_inversion(
    failing: dict[int, StepFacts], passing: dict[int, StepFacts]
) -> tuple[str, int, int, int | None, int | None] | None:
    """The earliest receiver whose deliveries come in another order when the run passes:
    (receiver, failing step of what came first, failing step of what comes first in the
    passing run or -1, and the passing steps of those two)."""
    got, would = _deliveries(failing), _deliveries(passing)
    best: tuple[str, int, int, int | None, int | None] | None = None
    for actor, sequence in got.items():
        other = would.get(actor, [])
        for position, (step, key) in enumerate(sequence):
            if position < len(other) and other[position][1] == key:
                continue
            if position >= len(other):
                break
            first_passing = other[position]
            later = next((s for s, k in sequence[position + 1 :] if k == first_passing[1]), -1)
            moved = next((s for s, k in other[position + 1 :] if k == key), None)
            if best is None or step < best[1]:
                best = (actor, step, later, first_passing[0], moved)
            break
    return best


def _delivery_words(fact: StepFacts, with_state: bool = True) -> str:
    sender = f" from {fact.sender}" if fact.sender and fact.sender != fact.actor else ""
    return f"`{fact.message}`{sender}"


def describe_change(
    edit: Edit, layout: Layout, graph: CausalGraph, passing: _Run, steps: list[Step]
) -> Change:
    """The change in words: the first receiver that gets its messages in another order, or
    the random value, or the timer, that the edit changed."""
    facts = graph.facts
    first_step = layout.starts[edit.first]
    second_step = layout.starts[edit.second]
    mechanics = _edit_words(edit, layout, facts)
    if edit.kind == "random":
        randoms = layout.random_steps(edit.first)
        step = randoms[edit.position]
        head = facts.get(first_step)
        during = _during(head)
        old = step.what
        new = _with_value(step, edit.value)
        text = f"fails when `{step.actor}` draws {old}{during}; passes when it draws {new}"
        return Change("random", text, (step.index,), (step.index,), mechanics, edit.in_slice)
    if edit.kind == "remove":
        step = steps[first_step]
        text = f"fails when {_fault_words(step)}; passes without that {step.actor}"
        return Change("fault", text, (first_step,), (), mechanics, edit.in_slice)
    inversion = _first_inversion(facts, passing.facts)
    if inversion is not None:
        actor, came, later, passing_first, moved = inversion
        first_fact = facts[came]
        state = f" (in state {first_fact.state})" if first_fact.state else ""
        if later >= 0:
            second_fact = facts[later]
            text = (
                f"fails when {_delivery_words(first_fact)} reaches `{actor}`{state} before "
                f"{_delivery_words(second_fact)} reaches it; passes when they are the other way "
                "round"
            )
            failing_steps: tuple[int, ...] = (came, later)
        else:
            other = passing.facts.get(passing_first or 0)
            what = _delivery_words(other) if other is not None else "another message"
            text = (
                f"fails when {_delivery_words(first_fact)} reaches `{actor}`{state} first; "
                f"passes when {what} reaches it first"
            )
            failing_steps = (came,)
        passing_steps = tuple(s for s in (passing_first, moved) if s is not None)
        kind = (
            "timer"
            if steps[first_step].kind == "timer" or steps[second_step].kind == "timer"
            else "reorder"
        )
        return Change(kind, text, failing_steps, passing_steps, mechanics, edit.in_slice)
    moved_fact = facts.get(first_step)
    other_fact = facts.get(second_step)
    text = (
        f"fails when {_step_words(moved_fact, steps[first_step])} comes "
        f"{'after' if edit.kind == 'earlier' else 'before'} "
        f"{_step_words(other_fact, steps[second_step])}; passes when it comes "
        f"{'before' if edit.kind == 'earlier' else 'after'}"
    )
    kind = "timer" if steps[first_step].kind == "timer" else "reorder"
    return Change(kind, text, (first_step, second_step), (), mechanics, edit.in_slice)


def _during(fact: StepFacts | None) -> str:
    if fact is None:
        return ""
    if fact.kind == "start":
        return " as it starts"
    if fact.kind == "deliver":
        state = f" in state {fact.state}" if fact.state else ""
        return f" handling {_delivery_words(fact)}{state}"
    return ""


def _with_value(step: Step, value: int) -> str:
    if step.bound == 2 and step.what.startswith("random_bool"):
        return f"random_bool()={value == 1}"
    return f"random_int({step.bound})={value}"


def _step_words(fact: StepFacts | None, step: Step) -> str:
    if fact is None:
        return f"step {step.index} ({step.kind} {step.actor})"
    if fact.kind in ("deliver", "stop"):
        return f"{_delivery_words(fact)} reaching `{fact.actor}`"
    if fact.kind == "timer":
        return f"the {fact.message} of `{fact.actor}` firing"
    if fact.kind == "start":
        return f"`{fact.actor}` starting"
    if fact.kind == "continue":
        return "the test function going on"
    if fact.kind == "resume":
        return f"`{fact.actor}` resuming after its {fact.message}"
    if fact.kind == "wait":
        return f"`{fact.actor}` waiting for `{fact.sender}` ({fact.message})"
    if fact.kind == "crash":
        return f"`{fact.actor}` crashing"
    if fact.kind == "restart":
        return f"`{fact.actor}` restarting"
    if fact.kind == "journal":
        return f"the journal completing `{fact.actor}`'s {fact.message}"
    if fact.kind in ("drop", "duplicate"):
        how = "lost" if fact.kind == "drop" else "doubled"
        return f"`{fact.message}` from `{fact.sender}` to `{fact.actor}` {how}"
    if fact.kind == "partition":
        return f"the partition `{fact.actor}`"
    return f"step {step.index} ({step.kind} {step.actor})"


def _fault_words(step: Step) -> str:
    """A fault step in words: `B#1` crashes, a message is lost or doubled, a partition cuts."""
    kind, target, detail = step.actor, step.what, step.detail
    sender, _, receiver = target.partition("->")
    message = f"`{detail}`" if detail else "a message"
    route = f" from `{sender}` to `{receiver}`" if receiver else f" to `{target}`"
    if kind == "crash":
        return f"`{target}` crashes at step {step.index}"
    if kind == "drop":
        return f"{message}{route} is lost at step {step.index}"
    if kind == "duplicate":
        return f"{message}{route} is delivered twice at step {step.index}"
    if kind == "partition":
        return f"the partition `{target}` cuts the system at step {step.index}"
    return f"the fault {kind} {target} strikes at step {step.index}"


def _edit_words(edit: Edit, layout: Layout, facts: dict[int, StepFacts]) -> str:
    first = layout.steps[layout.starts[edit.first]]
    second = layout.steps[layout.starts[edit.second]]
    if edit.kind == "random":
        step = layout.random_steps(edit.first)[edit.position]
        return (
            f"step {step.index} ({step.actor}'s {step.what}) given {_with_value(step, edit.value)}"
        )
    if edit.kind == "remove":
        return f"step {first.index} (fault {first.actor} {first.what}) left out"
    if edit.kind == "postpone":
        words = _step_words(facts.get(first.index), first)
        return f"step {first.index} ({words}) put off until nothing else could run"
    verb = "before" if edit.kind == "earlier" else "after"
    return (
        f"step {first.index} ({_step_words(facts.get(first.index), first)}) moved {verb} "
        f"step {second.index} ({_step_words(facts.get(second.index), second)})"
    )


def _text(
    bug: Bug,
    failing: Step,
    failing_fact: StepFacts | None,
    sliced: list[Step],
    steps: list[Step],
    change: Change | None,
    undecided: list[str],
) -> str:
    first = (bug.message.splitlines() or [""])[0]
    lines = [f"{bug.kind} bug in {bug.actor}: {first}"]
    if change is not None:
        lines.append(f"It {change.text}.")
    where = (
        _step_words(failing_fact, failing) if failing_fact is not None else f"step {failing.index}"
    )
    lines.append(
        f"The failing step is step {failing.index} ({where}); it depends on "
        f"{len(sliced)} of the {len(steps)} steps (the causal slice)."
    )
    if change is not None:
        inside = "inside" if change.in_slice else "outside"
        lines.append(f"Decisive change ({inside} the slice): {change.edit}.")
    for item in undecided:
        lines.append(f"Could not decide {item}.")
    return "\n".join(lines)


def _explain_bug(bug: Bug, test: TestFunction, time_budget: float) -> Explanation:
    if bug.trace is None:
        raise TestkitError("this bug has no trace to explain (it was not found by explore)")
    return explain_trace(test, bug.trace, time_budget)


register_explainer(_explain_bug)
