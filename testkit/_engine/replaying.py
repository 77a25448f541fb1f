"""Forced replay: a strategy that makes every decision a trace recorded, and says at which
step the program diverges from it (used by `replay`, the shrinker and the pictures)."""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from testkit._engine.bug import Abort, state_text
from testkit._engine.entropy import hash_seed
from testkit._engine.operations import Mailbox, TimerQueue
from testkit._engine.payloads import CONTINUE, START, describe_message
from testkit._engine.test_function import TestFunction, test_name
from testkit._engine.trace import Step, Trace, comparable
from testkit._errors import UNCONTROLLED, ReplayDivergence, TestkitError
from testkit._strategies import Strategy

_replay_log = logging.getLogger("testkit.replay")


class ReplayStrategy(Strategy):
    """Forces every decision recorded in a trace, and reports the first divergence."""

    def __init__(self, trace: Trace, log_steps: bool) -> None:
        super().__init__()
        self.steps = trace.steps
        self.fair = trace.fair
        self.name = f"replay of {trace.strategy}"
        self.log_steps = log_steps
        self.hash_seed = trace.hash_seed

    def _diverged(self, step: int, expected: str, got: str, planned: Step | None = None) -> Abort:
        """The `Abort` for a divergence, its message saying what differed and why it likely
        did."""
        cause = likely_cause(self.hash_seed)
        if planned is not None and step < len(self.steps):
            differed = what_differed(self.steps[step], planned)
            cause = f"{differed[0].upper()}{differed[1:]}. {cause}"
        return Abort(error=ReplayDivergence(step, expected, got, cause))

    def _expected(self, step: int, got: str) -> Step:
        if step >= len(self.steps):
            raise self._diverged(
                step, f"the end of the trace ({len(self.steps)} steps, then the bug)", got
            )
        expected = self.steps[step]
        if self.log_steps:
            _replay_log.info("%s", expected)
        return expected

    def pick(self, enabled: Sequence[Any], step: int) -> Any:
        names = ", ".join(op_label(op) for op in enabled)
        expected = self._expected(step, f"a scheduling choice among [{names}]")
        if expected.kind in ("random", "wait"):
            raise self._diverged(step, str(expected), f"a scheduling choice among [{names}]")
        wanted = f"timer {expected.actor}" if expected.kind == "timer" else expected.actor
        for op in enabled:
            if op_label(op) == wanted:
                planned = Step(step, *_next_step(op))
                if comparable(str(planned)) != comparable(str(expected)):
                    raise self._diverged(step, str(expected), str(planned), planned)
                return op
        cannot = f"{expected.actor} cannot run; enabled: [{names}]"
        raise self._diverged(step, str(expected), cannot)

    def expect_event(self, step: int, kind: str, actor: str, what: str, detail: str) -> None:
        """A step the program takes by itself (a handler began to wait): check it."""
        got = Step(step, kind, actor, what, detail)
        expected = self._expected(step, str(got))
        if comparable(str(expected)) != comparable(str(got)):
            raise self._diverged(step, str(expected), str(got), got)

    def pick_int(self, n: int, step: int) -> int:
        expected = self._expected(step, f"a random choice in [0, {n})")
        if expected.kind != "random" or expected.bound != n:
            raise self._diverged(step, str(expected), f"a random choice in [0, {n})")
        return expected.value


def what_differed(expected: Step, got: Step) -> str:
    """In words, how a step of the replay differs from the recorded one."""
    if (expected.kind, expected.actor) != (got.kind, got.actor):
        return (
            f"another operation ran: {got.kind} {got.actor}, where the trace has "
            f"{expected.kind} {expected.actor}"
        )
    if expected.what != got.what:
        return f"{got.actor} got {got.what or 'nothing'} where the trace has {expected.what}"
    before, now = _state_of(expected.detail), _state_of(got.detail)
    if before != now:
        return f"{got.actor} was in state {now or '?'} where the trace has {before or '?'}"
    return f"the same {got.what or got.kind} to {got.actor}, with other contents"


def _state_of(detail: str) -> str:
    """The state of a delivery's detail (`<payload> @<state>` or `@<state>`), if any."""
    if detail.startswith("@"):
        return detail[1:]
    return detail.rpartition(" @")[2] if " @" in detail else ""


def likely_cause(recorded_hash_seed: str) -> str:
    """Why a replay likely diverged: another string hash seed than the recording's, when
    that is so, else what the tester does not control."""
    current = hash_seed()
    if recorded_hash_seed and recorded_hash_seed != current:
        now = f"PYTHONHASHSEED={current}" if current else "a random hash seed"
        return (
            f"The trace was recorded under PYTHONHASHSEED={recorded_hash_seed} and this "
            f"process runs under {now}: a program that iterates over a set or a frozenset "
            "(or a dict filled from one) takes the elements in another order. Replay it "
            f"with PYTHONHASHSEED={recorded_hash_seed} in the environment. Otherwise: "
            + UNCONTROLLED[0].lower()
            + UNCONTROLLED[1:]
        )
    return UNCONTROLLED


def _next_step(op: Any) -> tuple[str, str, str, str]:
    """(kind, actor, what, detail) of the step `op` would run next, as the explorer records
    it: a delivery's detail is the message's repr and ` @<state>`, the receiver's state."""
    if op.__class__ is TimerQueue:
        kind, what, detail = describe_message(op.heap[0].message)
        return "timer", str(op.mailbox.id), what, detail
    if op.__class__ is not Mailbox:
        kind, what, detail = describe_message(CONTINUE)
        return kind, str(op.id), what, detail
    waiter = op.waiter
    if waiter is not None:
        what = waiter.what + (":timeout" if waiter.timed_out else "")
        return "resume", str(op.id), waiter.target, what
    if not op.started:
        kind, what, detail = describe_message(START)
        return kind, str(op.id), what, detail
    kind, what, detail = describe_message(op.items[0].message)
    current = getattr(op.actor, "_sm_current", None)
    if current is not None and kind == "deliver":
        state = f"@{state_text(current.state_name)}"
        detail = f"{detail} {state}" if detail else state
    return kind, str(op.id), what, detail


def op_label(op: Any) -> str:
    if op.__class__ is TimerQueue:
        return f"timer {op.mailbox.id}"
    return str(op.id)


def checked_trace(test: TestFunction, trace: Trace | str | Path, where: str) -> Trace:
    """The trace to re-run (`replay`, `shrink`): a `Trace` or a file, with its `max_steps`,
    recorded for `test`; else a `TestkitError` saying what is wrong."""
    if not isinstance(trace, (Trace, str, os.PathLike)):
        raise TestkitError(
            f"{where}(test, trace): trace must be a Trace or the path of a trace file, "
            f"got {trace!r}"
        )
    loaded = trace if isinstance(trace, Trace) else Trace.load(trace)
    if not loaded.max_steps:
        raise TestkitError(
            "the trace's '# max_steps:' header is missing or 0; a trace written by testkit "
            "has the max_steps of the run that found the bug"
        )
    check_target(loaded.test, test_name(test))
    return loaded


def check_target(recorded: str, target: str) -> None:
    """A trace recorded for another test function cannot replay: say so before running.

    The function names must match; the modules may differ when one is a package the other
    belongs to (a function re-exported by its package) or `__main__`. A header without
    `module:function` (a custom `explore(name=...)`, or none) cannot be checked.
    """
    recorded_module, sep, recorded_function = recorded.partition(":")
    if not sep:
        return
    target_module, _, target_function = target.partition(":")
    related = {recorded_module, target_module} & {"__main__"} or any(
        a == b or a.startswith(b + ".")
        for a, b in ((recorded_module, target_module), (target_module, recorded_module))
    )
    if recorded_function != target_function or not related:
        shown = recorded if len(recorded) <= 200 else f"{recorded[:200]}..."
        raise TestkitError(
            f"this trace was recorded for {shown}, you asked to replay it against {target}; "
            f"replay it against {shown} (python -m testkit replay {shlex.quote(shown)} TRACE)"
        )
