"""The sequence diagram of a replayed trace: its recorder, its rows, and its Mermaid text.

The `Recorder` turns the runtime's observer events into rows of a sequence diagram (one
lifeline per actor, one for the test function, one per monitor); `fold_quiet` groups long
stretches where no state changed; the rows become Mermaid text here or an HTML page in
`sequence_page`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fsm._actor import _StateTimeoutFired, _TimerFired
from fsm._dead_letters import DeadLetter
from testkit._engine.bug import state_text
from testkit._engine.iteration import actor_name
from testkit._engine.observer import Observer, installed
from testkit._engine.operations import Mailbox, TimerQueue
from testkit._engine.payloads import Wait, describe_message
from testkit._engine.trace import Trace
from testkit._reporting.state_diagrams import short_label
from testkit._reporting.words import DEFAULT_PAYLOAD_LENGTH, message_text

QUIET_RUN = 6
"""Consecutive rows without a state change, start, stop, timer, random choice or monitor
event that fold into one "quiet stretch" row."""
KEEP_BEFORE_BUG = 12
"""Rows just before the failing step that are never folded away."""


_QUIET = frozenset({"deliver", "timer-fired", "log", "timeout-set", "timeout-cancelled"})
"""Row kinds that fold into quiet stretches (unless a delivery changed a state); a state
timeout is cancelled and set again by every message, so its rows are quiet too."""


@dataclass
class Row:
    """One thing the diagram draws, at trace step `step`.

    kind: deliver, dead-letter (a message that reached a stopped actor), start, stop,
    timer-set, timer-fired, timer-cancelled, random, monitor, bug, log. `source`/`target`
    are lifeline names (an arrow from source to target; a note
    has only `target`).
    """

    step: int
    kind: str
    target: str
    source: str = ""
    label: str = ""
    detail: str = ""
    state: str = ""  # the state entered (deliveries and monitor events that changed it)
    temperature: str = ""  # "hot" / "cold" for monitor states
    timer: bool = False  # a delivery whose message came from a timer
    plain: bool = False  # a delivery to a plain Pykka actor (it has no states to show)
    until: int = -1  # a blocking handler's delivery: the step its handler finished in

    @property
    def eventful(self) -> bool:
        """Whether the row must stay visible when quiet stretches are folded: a plain
        actor's messages always do (no state change can say they mattered)."""
        return self.kind not in _QUIET or bool(self.state) or self.plain

    def as_json(self) -> dict[str, Any]:
        data = {"s": self.step, "k": self.kind, "b": self.target}
        for key, value in (
            ("a", self.source),
            ("t", self.label),
            ("d", self.detail),
            ("st", self.state),
            ("h", self.temperature),
        ):
            if value:
                data[key] = value
        if self.timer:
            data["tm"] = 1
        if self.until >= 0:
            data["u"] = self.until
        return data


@dataclass
class Lifeline:
    name: str
    kind: str  # test, actor, monitor
    initial: str = ""


@dataclass
class Diagram:
    """Everything drawn: lifelines left to right, rows top to bottom, and the outcome."""

    test: str
    trace_steps: int
    lifelines: list[Lifeline] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    bug: str = ""
    bug_step: int = -1
    bug_actor: str = ""
    note: str = ""
    """Set when the replay did not reproduce the trace's bug: what happened instead."""
    traceback: str = ""
    """The bug's traceback, when an exception made it."""
    slice: frozenset[int] = frozenset()
    """Steps of the failing step's causal slice (empty: not explained)."""
    decisive: tuple[int, ...] = ()
    """Steps the decisive change is about."""
    explanation: str = ""
    """The explanation in words, when the diagram draws an explained bug."""
    change: str = ""
    """The decisive change in words (shown on its steps)."""
    passing: Diagram | None = None
    """The passing variant (the decisive change made), drawn the same way."""


def _timer_name(message: Any) -> str:
    if message.__class__ is _TimerFired:
        return f"timer {message.name!r}"
    if message.__class__ is _StateTimeoutFired:
        return "state timeout"
    return "timer"


def _message_label(message: Any, payload_length: int) -> tuple[str, str]:
    """(short label: the type and a short payload, full text) of a delivered message."""
    kind, what, detail = describe_message(message)
    if message.__class__ is _TimerFired:
        inner = message.message
        return message_text(inner, payload_length), f"{what}: {detail}"
    if message.__class__ is _StateTimeoutFired:
        return "StateTimeout", what
    if kind == "stop":
        return "stop", "stop()"
    if what.startswith("call:"):
        return f"{what[5:]}()", detail or what
    return message_text(message, payload_length), detail or what


class Recorder(Observer):
    """An observer that records one replay as diagram rows (see `Row`); arrows carry the
    message's type and up to `payload_length` characters of its payload."""

    def __init__(self, payload_length: int = DEFAULT_PAYLOAD_LENGTH) -> None:
        self.payload_length = payload_length
        self.runtime: Any = None
        self.rows: list[Row] = []
        self.senders: dict[Any, str] = {}
        self.monitors: list[Lifeline] = []
        self.bug: Any = None
        self.changed: set[tuple[int, str]] = set()  # (step, actor) where a state was entered

    def attached(self, runtime: Any) -> None:
        self.runtime = runtime

    @staticmethod
    def _name(op: Any) -> str:
        if op.__class__ is TimerQueue:
            return str(op.mailbox.id)
        return str(op.id)

    def sent(self, step: int, sender: Any, receiver: Mailbox, envelope: Any) -> None:
        self.senders[envelope] = self._name(sender)
        if sender.__class__ is TimerQueue:
            self.senders[envelope] = "timer:" + self._name(sender)

    def delivered(
        self, step: int, receiver: Mailbox, envelope: Any, before: Any, after: Any
    ) -> None:
        target = str(receiver.id)
        source = self.senders.pop(envelope, "")
        timer = source.startswith("timer:")
        if timer:
            source = source[6:]
        label, detail = _message_label(envelope.message, self.payload_length)
        entered = ""
        began = _handler_step(self.runtime, receiver, envelope.message, step)
        if after is not None and after is not before and after.notifies and not after.stop_reason:
            entered = state_text(after.state_name)
            self.changed.add((began, target))
        row = Row(began, "deliver", target, source or target, label, detail, entered)
        row.timer = timer
        row.plain = bool(receiver.plain)
        if began != step and _blocked(self.runtime, receiver, began, step):
            row.until = step  # drawn where the handler began; it finished at `step`
        if before is not None:
            row.detail = f"{detail}  (in {short_label(state_text(before.state_name))})".strip()
        self._insert(row)

    def _insert(self, row: Row) -> None:
        """Add the row of a step's own operation before what its handler did meanwhile."""
        rows = self.rows
        index = len(rows)
        while index and rows[index - 1].step >= row.step:
            index -= 1
        rows.insert(index, row)

    def started(self, step: int, mailbox: Mailbox) -> None:
        current = getattr(mailbox.actor, "_sm_current", None)
        state = state_text(current.state_name) if current is not None else ""
        self._insert(Row(step, "start", str(mailbox.id), label="start", state=state))

    def stopped(self, step: int, mailbox: Mailbox) -> None:
        self.rows.append(Row(step, "stop", str(mailbox.id), label="stopped"))

    def timer_set(self, step: int, mailbox: Mailbox, entry: Any) -> None:
        name = _timer_name(entry.message)
        delay = entry.deadline - self.runtime.now
        every = f", every {entry.interval:g}s" if entry.interval else ""
        kind = "timeout-set" if entry.message.__class__ is _StateTimeoutFired else "timer-set"
        row = Row(step, kind, str(mailbox.id), label=f"set {name}", detail=f"{delay:g}s{every}")
        self.rows.append(row)

    def timer_fired(self, step: int, mailbox: Mailbox, entry: Any) -> None:
        name = _timer_name(entry.message)
        label = f"{name} fired at {self.runtime.now:g}s"
        self.rows.append(Row(step, "timer-fired", str(mailbox.id), label=label))

    def timer_cancelled(self, step: int, mailbox: Mailbox, entry: Any) -> None:
        name = _timer_name(entry.message)
        kind = "timeout" if entry.message.__class__ is _StateTimeoutFired else "timer"
        self.rows.append(Row(step, f"{kind}-cancelled", str(mailbox.id), label=f"cancel {name}"))

    def dead_letter(self, step: int, letter: DeadLetter) -> None:
        label, detail = _message_label(letter.message, self.payload_length)
        target, source = actor_name(letter.recipient), actor_name(letter.sender)
        row = Row(step, "dead-letter", target, source, f"\u2717 {label} (dead letter)", detail)
        self.rows.append(row)

    def random(self, step: int, owner: Any, choice: Any) -> None:
        self.rows.append(Row(step, "random", self._name(owner), label=choice.describe()))

    def monitor_registered(self, step: int, monitor: Any) -> None:
        name = type(monitor).__name__
        current = monitor._sm_current
        state = state_text(current.state_name) if current is not None else ""
        self.monitors.append(Lifeline(name, "monitor", state))

    def monitor_event(
        self, step: int, sender: Any, monitor: Any, event: Any, before: Any, after: Any
    ) -> None:
        entered = ""
        if after is not None and after is not before and after.notifies:
            entered = state_text(after.state_name)
        temperature = "hot" if monitor.is_hot else "cold" if monitor.is_cold else ""
        label, detail = _message_label(event, self.payload_length)
        row = Row(step, "monitor", type(monitor).__name__, self._name(sender), label, detail)
        row.state, row.temperature = entered, temperature
        self.rows.append(row)

    def failed(self, step: int, bug: Any) -> None:
        self.bug = bug

    # ---- log lines (LoggingFSM's and the actors' own), on the lifeline that logged them ----

    def log(self, record: logging.LogRecord) -> None:
        runtime = self.runtime
        if runtime is None:
            return
        step = max(runtime.steps - 1, 0)
        owner = self._name(runtime.sender())
        try:
            text = record.getMessage()
        except Exception as exc:  # a broken log call must not break the picture
            text = f"<log message failed: {exc!r}>"
        row = Row(step, "log", owner, label=f"{record.levelname.lower()}: {text}"[:300])
        self.rows.append(row)


class _LogTap(logging.Handler):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__(logging.DEBUG)
        self.recorder = recorder

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("testkit"):
            self.recorder.log(record)


def _handler_step(runtime: Any, receiver: Mailbox, message: Any, step: int) -> int:
    """The step at which `receiver` began handling `message` (a handler that blocked on a
    reply finishes steps after it began)."""
    ops, payloads = runtime.trace.ops, runtime.trace.payloads
    if step < len(ops) and ops[step] is receiver and payloads[step] is message:
        return step
    for index in range(min(step, len(ops) - 1), -1, -1):
        if ops[index] is receiver and payloads[index] is message:
            return index
    return step


def _blocked(runtime: Any, receiver: Mailbox, began: int, ended: int) -> bool:
    """Whether `receiver`'s handler waited on a reply between the two steps."""
    ops, payloads = runtime.trace.ops, runtime.trace.payloads
    return any(
        ops[i] is receiver and payloads[i].__class__ is Wait for i in range(began + 1, ended + 1)
    )


def _wait_rows(runtime: Any) -> list[Row]:
    """A row for every wait of a handler on a reply, and for every resume after it."""
    rows = []
    record = runtime.trace
    for index, (op, payload) in enumerate(zip(record.ops, record.payloads, strict=True)):
        if payload.__class__ is Wait:
            if payload.kind == "wait":
                label = f"waits for {payload.target} ({payload.what})"
            else:
                label = f"resumes ({payload.what})"
            rows.append(Row(index, payload.kind, str(op.id), label=label))
    return rows


@contextlib.contextmanager
def recording(logs: bool, payload_length: int = DEFAULT_PAYLOAD_LENGTH) -> Iterator[Recorder]:
    """A `Recorder` of the runs inside the block, which also captures their log lines
    (INFO and up, or DEBUG with `logs`) instead of letting them reach the root's handlers."""
    recorder = Recorder(payload_length)
    root = logging.getLogger()
    saved, saved_handlers = root.level, root.handlers[:]
    root.handlers = [_LogTap(recorder)]  # the replay's log lines go to the picture only
    root.setLevel(logging.DEBUG if logs else logging.INFO)
    try:
        with installed(recorder):
            yield recorder
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved)


def diagram_of(recorder: Recorder, title: str, trace: Trace, note: str = "") -> Diagram:
    """The diagram of what `recorder` saw while `trace` was replayed; `note` says why the
    replay did not reproduce the trace's bug (then the trace's bug is named, not marked)."""
    runtime = recorder.runtime
    diagram = Diagram(title, len(trace.steps), note=note)
    diagram.lifelines.append(Lifeline("test", "test"))
    for mailbox in runtime.mailboxes:
        diagram.lifelines.append(Lifeline(str(mailbox.id), "actor"))
    diagram.lifelines.extend(recorder.monitors)
    diagram.rows = recorder.rows
    for row in _wait_rows(runtime):
        recorder._insert(row)
    bug = recorder.bug
    if bug is not None and not note:
        diagram.bug, diagram.bug_step = bug.headline(), bug.step
        diagram.traceback = getattr(bug, "traceback", "")
        diagram.bug_actor = (
            bug.actor if any(line.name == bug.actor for line in diagram.lifelines) else ""
        )
        diagram.bug_actor = diagram.bug_actor or "test"
        diagram.rows.append(Row(bug.step, "bug", diagram.bug_actor, label=bug.headline()))
    elif trace.bug:
        diagram.bug = trace.bug
    return diagram


def fold_quiet(
    rows: list[Row], bug_step: int, keep: frozenset[int] = frozenset()
) -> list[Row | list[Row]]:
    """Rows with each run of more than `QUIET_RUN` quiet rows (no state change, start, stop,
    timer set, random choice or monitor event) replaced by the list of those rows; the rows
    just before the failing step, and those of the steps in `keep`, always stay."""
    keep_from = len(rows)
    if bug_step >= 0:
        indexes = [i for i, r in enumerate(rows) if r.kind != "log" and r.step <= bug_step]
        if indexes:
            keep_from = indexes[max(0, len(indexes) - KEEP_BEFORE_BUG)]
    out: list[Row | list[Row]] = []
    quiet: list[Row] = []

    def flush() -> None:
        if len([r for r in quiet if r.kind != "log"]) > QUIET_RUN:
            out.append(list(quiet))
        else:
            out.extend(quiet)
        quiet.clear()

    for index, row in enumerate(rows):
        if row.eventful or index >= keep_from or row.step in keep:
            flush()
            out.append(row)
        else:
            quiet.append(row)
    flush()
    return out


_MERMAID_CODES = {"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;", "\n": " "}


def _mermaid_text(text: str, limit: int = 60) -> str:
    """Text safe in a Mermaid message or note (its entity codes for what it would parse)."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "".join(_MERMAID_CODES.get(char, char) for char in text)


def to_mermaid(diagram: Diagram, logs: bool = False) -> str:
    """Mermaid `sequenceDiagram` text of `diagram`, quiet stretches folded into notes."""
    ids = {line.name: f"P{index}" for index, line in enumerate(diagram.lifelines)}
    lines = ["sequenceDiagram"]
    if diagram.note:
        lines.append(f"    %% {_mermaid_text(diagram.note, 300)}")
    for line in diagram.lifelines:
        kind = "actor" if line.kind == "test" else "participant"
        lines.append(f"    {kind} {ids[line.name]} as {_mermaid_text(line.name)}")
    first, last = ids[diagram.lifelines[0].name], ids[diagram.lifelines[-1].name]
    rows = [r for r in diagram.rows if logs or r.kind != "log"]
    for item in fold_quiet(rows, diagram.bug_step):
        if isinstance(item, list):
            steps = [r.step for r in item]
            who = sorted({r.target for r in item if r.target in ids})
            text = (
                f"… {len(item)} quiet events, steps {min(steps)}-{max(steps)} "
                f"({', '.join(who[:4])}{', …' if len(who) > 4 else ''})"
            )
            lines.append(f"    Note over {first},{last}: {_mermaid_text(text, 200)}")
            continue
        lines.extend(_mermaid_row(item, ids, first, last))
    return "\n".join(lines) + "\n"


def _mermaid_row(row: Row, ids: dict[str, str], first: str, last: str) -> list[str]:
    target = ids.get(row.target)
    if target is None:
        return []
    step = f"{row.step}: "
    if row.kind in ("deliver", "monitor", "dead-letter"):
        source = ids.get(row.source, target)
        arrow = {"monitor": "-)", "dead-letter": "-x"}.get(row.kind, "->>")
        label = f"{step}{row.label}{' (timer)' if row.timer else ''}"
        out = [f"    {source}{arrow}{target}: {_mermaid_text(label)}"]
        if row.state:
            hot = f" ({row.temperature})" if row.temperature else ""
            out.append(f"    Note over {target}: {_mermaid_text(short_label(row.state))}{hot}")
        return out
    if row.kind == "bug":
        return [
            "    rect rgb(255, 215, 215)",
            f"    Note over {target}: BUG at step {_mermaid_text(row.label, 160)}",
            "    end",
        ]
    if row.kind == "start":
        state = f" in {short_label(row.state)}" if row.state else ""
        return [f"    Note over {target}: {step}started{_mermaid_text(state)}"]
    if row.kind == "timer-fired":
        return [f"    Note over {target}: {step}{_mermaid_text(row.label)}"]
    if row.kind.startswith(("timer", "timeout")):
        return [f"    Note over {target}: {step}{_mermaid_text(row.label + ' ' + row.detail)}"]
    if row.kind == "random":
        return [f"    Note over {target}: {step}{_mermaid_text(row.label)}"]
    if row.kind == "stop":
        return [f"    Note over {target}: {step}stopped"]
    if row.kind in ("wait", "resume"):
        return [f"    Note over {target}: {step}{_mermaid_text(row.label)}"]
    return [f"    Note over {target}: {_mermaid_text(row.label, 100)}"]
