"""The causal graph of one replayed trace, and the slice of the failing step.

Replaying a trace strictly with a `CausalGraph` installed (it is both the replay's observer and
the source of the replay strategy's enabled-hook) records, for every step, the earlier steps it
depends on:

- a delivery on the step that sent the message (a timer's message on the timer's firing);
- a timer firing on the step that set (or, for a repeating timer, re-armed) it;
- an actor's start on the step that created it; a handler resuming after a wait on the step
  that answered it and on the wait itself; the test function going on on its own previous
  step and on the step that gave it what it waited for;
- a random choice or a wait on the step of the handler it belongs to;
- any step on the steps that answered its operation's asks since its previous step (the
  test function's: also on the deliveries to its probes);
- a handler on the last writers of the state it read: the FSM's state and data, and each of
  the actor's own attributes, found by comparing their fingerprints before and after each
  handler; reads are tracked per attribute while the handler runs. An object two actors
  hold (a shared counter) is memory outside the actor model: the slice follows messages and
  each actor's own state, not that;
- a monitor event on the last event that changed that monitor.

The slice is the closure of these edges from the failing step (for a liveness bug, from the
step that last changed the monitor's state: the one that left it hot).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pykka
from pykka import messages as pykka_messages

from fsm._actor import _StateTimeoutFired, _TimerFired
from testkit._engine.bug import Bug, state_text
from testkit._engine.faults import RestartOp
from testkit._engine.iteration import build_steps, run_like
from testkit._engine.journal import JournalOp
from testkit._engine.observer import Observer, installed
from testkit._engine.operations import Mailbox, TimerQueue
from testkit._engine.payloads import Choice, Wait
from testkit._engine.replaying import ReplayStrategy
from testkit._engine.runtime import Runtime
from testkit._engine.sandbox import Sandbox
from testkit._engine.test_body import TestBody
from testkit._engine.test_function import TestFunction
from testkit._engine.trace import Step, Trace
from testkit._errors import TestkitError
from testkit._probes.probe import _ProbeActor
from testkit._reporting.words import DEFAULT_PAYLOAD_LENGTH, message_text

_FRAMEWORK = ("_sm_", "_fsm_", "_actor_", "_log_", "_testkit_")
_PYKKA_ATTRIBUTES = frozenset({"actor_urn", "actor_inbox", "actor_ref", "actor_stopped"})
_STATE = "<state>"
"""The variable of an FSM's state name and data (every delivery to an FSM reads it)."""
_FINGERPRINT_LIMIT = 4000


@dataclass
class StepFacts:
    """What a step did, in the words an explanation uses."""

    kind: str
    actor: str
    sender: str = ""
    message: str = ""
    """The message as `Type(payload)` (deliveries and timers), or the random choice."""
    state: str = ""
    """The receiver's state before the step (FSMs), as `state_text` shows it."""
    key: tuple[str, str] = ("", "")
    """(sender, message): what identifies this delivery when two runs are compared."""


@dataclass
class CausalGraph(Observer):
    """Records the dependencies of every step of one replay (see the module's docstring)."""

    payload_length: int = DEFAULT_PAYLOAD_LENGTH
    track: bool = True
    """Whether handlers report the attributes they read (else: they read everything)."""
    tracked: set[int] = field(default_factory=set)
    """The actors (their mailboxes' ids) whose handlers' reads are tracked."""
    deps: dict[int, set[int]] = field(default_factory=dict)
    facts: dict[int, StepFacts] = field(default_factory=dict)
    runtime: Any = None
    bug: Bug | None = None
    monitor_writers: dict[str, int] = field(default_factory=dict)
    open_waits: dict[int, int] = field(default_factory=dict)
    """Per operation, its wait that no resume followed (a deadlock's waits)."""
    _send_step: dict[int, int] = field(default_factory=dict)
    _senders: dict[int, str] = field(default_factory=dict)
    _timer_of_envelope: dict[int, Any] = field(default_factory=dict)
    _armed: dict[int, int] = field(default_factory=dict)
    _enabler: dict[int, int] = field(default_factory=dict)
    _creator: dict[int, int] = field(default_factory=dict)
    _writer: dict[Any, int] = field(default_factory=dict)
    _before: dict[int, dict[Any, Any]] = field(default_factory=dict)
    _reads: dict[int, set[str] | None] = field(default_factory=dict)
    _monitor_fp: dict[str, Any] = field(default_factory=dict)
    _holders: dict[int, set[str]] = field(default_factory=dict)
    _askers: dict[int, int] = field(default_factory=dict)
    _replies: dict[int, set[int]] = field(default_factory=dict)
    """Per operation, the steps that answered its asks (or filled its probes) since its last
    step: its next step may read what they gave."""
    _crash_step: dict[str, int] = field(default_factory=dict)
    """Per crashed actor (its id), the step of its crash: its restart depends on it."""
    _write_step: dict[int, int] = field(default_factory=dict)
    """Per pending journal write, the step that issued it: its completion depends on it."""
    _route_send: dict[tuple[str, str], int] = field(default_factory=dict)
    """Per (sender, receiver) ids, the last send: a message dropped or doubled came from it."""
    _keep: list[Any] = field(default_factory=list)
    """Envelopes and timer entries whose ids key the dicts above, kept alive until the end."""

    # ---- the replay strategy's side -------------------------------------------------------

    def now(self) -> int:
        return int(self.runtime.steps) - 1 if self.runtime is not None else -1

    def enabled(self, op: Any) -> None:
        """The runtime enabled `op` during the current step."""
        key = id(op)
        step = self.now()
        self._enabler[key] = step
        if op.__class__ is Mailbox and key not in self._creator:
            self._creator[key] = step
            if self.track:
                _track_reads(op.actor, self, key)

    def picked(self, step: int, op: Any) -> None:
        """The replay chose `op` for `step`: the step's edges that are known before it runs."""
        deps = self.deps.setdefault(step, set())
        deps.update(self._replies.pop(id(op), ()))
        cls = op.__class__
        if cls is TestBody:
            deps.add(self._enabler.get(id(op), -1))
            self.facts[step] = StepFacts("continue", "test")
        elif cls is TimerQueue:
            entry = op.heap[0]
            deps.add(self._armed.get(id(entry), -1))
            self.facts[step] = StepFacts(
                "timer", str(op.mailbox.id), message=_timer_text(entry.message)
            )
        elif cls is RestartOp:
            deps.add(self._crash_step.get(str(op.mailbox.id), -1))
            self.facts[step] = StepFacts("restart", str(op.mailbox.id))
        elif cls is JournalOp:
            deps.add(self._write_step.get(id(op.write), -1))
            self.facts[step] = StepFacts("journal", str(op.mailbox.id), message=op.write.wait_text)
        elif op.waiter is not None:
            deps.add(self._enabler.get(id(op), -1))
            deps.add(op.waiter.step)
            self.facts[step] = StepFacts("resume", str(op.id), message=op.waiter.what)
        elif not op.started:
            deps.add(self._creator.get(id(op), -1))
            self.facts[step] = StepFacts("start", str(op.id))
        else:
            envelope = op.items[0]
            deps.add(self._send_step.get(id(envelope), -1))
            self._reads[id(op)] = set() if id(op) in self.tracked else None
            self._before[id(op)] = self._fingerprints(op)
            current = getattr(op.actor, "_sm_current", None)
            message = envelope.message
            kind = "stop" if message.__class__ is pykka_messages._ActorStop else "deliver"
            sender = self._senders.get(id(envelope), "")
            text = _message(message, self.payload_length)
            self.facts[step] = StepFacts(
                kind,
                str(op.id),
                sender,
                text,
                state_text(current.state_name) if current is not None else "",
                (sender, text),
            )

    # ---- the observer's side ------------------------------------------------------------

    def attached(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def sent(self, step: int, sender: Any, receiver: Mailbox, envelope: Any) -> None:
        self._keep.append(envelope)
        self._send_step[id(envelope)] = step
        if envelope.reply_to is not None:
            self._askers[id(envelope)] = id(sender)
        if sender.__class__ is TimerQueue:
            self._senders[id(envelope)] = f"timer of {sender.mailbox.id}"
            firing = self.runtime._firing
            entry = self._firing_entry
            if firing is not None and entry is not None:
                self._timer_of_envelope[id(envelope)] = entry
        else:
            self._senders[id(envelope)] = str(sender.id)
            self._route_send[(str(sender.id), str(receiver.id))] = step

    _firing_entry: Any = None

    def timer_set(self, step: int, mailbox: Mailbox, entry: Any) -> None:
        self._keep.append(entry)
        self._armed[id(entry)] = step

    def timer_fired(self, step: int, mailbox: Mailbox, entry: Any) -> None:
        self._firing_entry = entry

    def delivered(
        self, step: int, receiver: Mailbox, envelope: Any, before: Any, after: Any
    ) -> None:
        key = id(receiver)
        asker = self._askers.pop(id(envelope), None)
        if asker is not None:  # the asker's next step may read the reply
            self._replies.setdefault(asker, set()).add(step)
        if isinstance(receiver.actor, _ProbeActor):  # the test function reads its probes
            self._replies.setdefault(id(self.runtime.body), set()).add(step)
        entry = self._timer_of_envelope.pop(id(envelope), None)
        if entry is not None and entry.interval:  # a repeating timer re-armed by this tick
            self._armed[id(entry)] = step
        previous = self._before.pop(key, None)
        reads = self._reads.pop(key, None)
        started = self._delivery_step(receiver, envelope)
        if previous is None or started is None:
            return
        deps = self.deps.setdefault(started, set())
        late = self.deps.setdefault(step, set())
        for variable, (name, _) in previous.items():
            writer = self._writer.get(variable)
            if writer is None or (reads is not None and name != _STATE and name not in reads):
                continue
            (deps if writer < started else late).add(writer)
        for variable, (_, fingerprint) in self._fingerprints(receiver).items():
            if previous.get(variable, (None, _MISSING))[1] != fingerprint:
                self._writer[variable] = step
        late.discard(step)

    def _delivery_step(self, receiver: Mailbox, envelope: Any) -> int | None:
        """The step whose handler `envelope` started (a blocked one finishes steps later)."""
        ops, payloads = self.runtime.trace.ops, self.runtime.trace.payloads
        message = envelope.message
        for index in range(len(ops) - 1, -1, -1):
            if ops[index] is receiver and payloads[index] is message:
                return index
        return None

    def started(self, step: int, mailbox: Mailbox) -> None:
        self.deps.setdefault(step, set())
        for variable in self._fingerprints(mailbox):
            self._writer[variable] = self.now()

    def random(self, step: int, owner: Any, choice: Choice) -> None:
        self.facts[step] = StepFacts("random", str(owner.id), message=choice.describe())

    def monitor_event(
        self, step: int, sender: Any, monitor: Any, event: Any, before: Any, after: Any
    ) -> None:
        name = type(monitor).__name__
        deps = self.deps.setdefault(step, set())
        if name in self.monitor_writers and self.monitor_writers[name] != step:
            deps.add(self.monitor_writers[name])
        current = monitor._sm_current
        fingerprint = (
            None if current is None else (current.state_name, _fingerprint(current.state_data))
        )
        if self._monitor_fp.get(name, _MISSING) != fingerprint:
            self.monitor_writers[name] = step
            self._monitor_fp[name] = fingerprint

    def monitor_registered(self, step: int, monitor: Any) -> None:
        current = monitor._sm_current
        self._monitor_fp[type(monitor).__name__] = (
            None if current is None else (current.state_name, _fingerprint(current.state_data))
        )

    def failed(self, step: int, bug: Bug) -> None:
        self.bug = bug

    def fault(self, step: int, kind: str, target: str, source: str, detail: str) -> None:
        deps = self.deps.setdefault(step, set())
        if kind == "crash":
            self._crash_step[target] = step
            self.facts[step] = StepFacts("crash", target)
        elif kind == "restart":
            deps.add(self._crash_step.get(source, -1))
        elif kind in ("drop", "duplicate"):
            deps.add(self._route_send.get((source, target), -1))
            self.facts[step] = StepFacts(kind, target, source, detail, key=(source, detail))
        elif kind == "partition":
            self.facts[step] = StepFacts("partition", detail)

    def journal(self, step: int, mailbox: Mailbox, event: str, write: Any) -> None:
        if event == "write":
            self._keep.append(write)
            self._write_step[id(write)] = step

    # ---- state -----------------------------------------------------------------------------

    def _fingerprints(self, mailbox: Mailbox) -> dict[Any, tuple[str, Any]]:
        """Each variable of `mailbox`'s actor: the attribute that holds it, its fingerprint."""
        actor = mailbox.actor
        out: dict[Any, tuple[str, Any]] = {}
        if actor is None:
            return out
        current = getattr(actor, "_sm_current", None)
        if current is not None:
            state = (current.state_name, _fingerprint(current.state_data))
            out[(mailbox.id, _STATE)] = (_STATE, state)
        for name, value in list(object.__getattribute__(actor, "__dict__").items()):
            if name in _PYKKA_ATTRIBUTES or name.startswith(_FRAMEWORK):
                continue
            if _shareable(value):
                holders = self._holders.setdefault(id(value), set())
                holders.add(mailbox.id)
                if len(holders) > 1:  # memory shared between actors: outside the model
                    continue
                self._keep.append(value)
            out[(mailbox.id, name)] = (name, _fingerprint(value))
        return out

    def read(self, key: int, name: str) -> None:
        reads = self._reads.get(key)
        if reads is not None:
            reads.add(name)

    # ---- after the replay -------------------------------------------------------------------

    def finish(self, runtime: Runtime) -> None:
        """Edges only the whole record shows: a random choice or a wait on the step before
        it of the same operation; a resume or the test going on on its own previous step."""
        last: dict[int, int] = {}
        for index, (op, payload, _) in enumerate(runtime.trace):
            key = id(op.mailbox) if op.__class__ is TimerQueue else id(op)
            deps = self.deps.setdefault(index, set())
            previous = last.get(key)
            passive = payload.__class__ is Choice or (
                payload.__class__ is Wait and payload.kind == "wait"
            )
            going_on = op.__class__ is TestBody or payload.__class__ is Wait
            if previous is not None and (passive or going_on) and op.__class__ is not TimerQueue:
                deps.add(previous)
            if op.__class__ is not TimerQueue:
                last[key] = index
            if payload.__class__ is Wait and payload.kind == "wait":
                self.facts[index] = StepFacts("wait", str(op.id), payload.target, payload.what)
                self.open_waits[key] = index
            elif payload.__class__ is Wait:
                self.open_waits.pop(key, None)
        for deps in self.deps.values():
            deps.discard(-1)

    def roots(self, bug: Bug, runtime: Runtime) -> list[int]:
        """The steps the bug is about: the failing step; for a liveness bug the step that
        left the monitor hot, and the run's last step when the run ended quiescent (what
        should have cooled the monitor never came); every wait of a deadlock."""
        last = max(runtime.steps - 1, 0)
        if bug.kind == "liveness" and bug.actor in self.monitor_writers:
            hot = self.monitor_writers[bug.actor]
            return [hot] if runtime.bound_reached else [hot, last]
        if bug.kind == "deadlock":
            return [last, *self.open_waits.values()]
        return [last]

    def reaches(self, sources: Iterable[int], low: int, high: int) -> bool:
        """Whether any of `sources` depends (transitively) on a step in [low, high)."""
        seen: set[int] = set()
        todo = [s for s in sources if s >= low]
        while todo:
            step = todo.pop()
            for dep in self.deps.get(step, ()):
                if low <= dep < high:
                    return True
                if dep > low and dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return False

    def closure(self, roots: Iterable[int]) -> set[int]:
        """Every step the `roots` depend on, the roots included."""
        seen: set[int] = set()
        todo = [root for root in roots if root >= 0]
        while todo:
            step = todo.pop()
            if step in seen:
                continue
            seen.add(step)
            todo.extend(d for d in self.deps.get(step, ()) if d not in seen and d >= 0)
        return seen


_MISSING: Any = object()


def _shareable(value: Any) -> bool:
    """A mutable object two actors might hold (a counter object, a list)."""
    if isinstance(value, (list, dict, set, bytearray)):
        return True
    if isinstance(value, (pykka.ActorRef, pykka.ActorProxy, type)):
        return False
    return hasattr(value, "__dict__") and not callable(value)


def _default_repr(value: Any) -> bool:
    return vars(type(value)).get("__repr__") is None and type(value).__repr__ is _OBJECT_REPR


_OBJECT_REPR: Any = object.__repr__


def _fingerprint(value: Any, depth: int = 0) -> Any:
    """A comparable summary of `value`'s content (not its identity), within limits; a
    proxy by its actor (looking anything up on a proxy would send that actor a message)."""
    if isinstance(value, pykka.ActorProxy):
        return ("proxy", str(value.actor_ref.actor_urn))
    try:
        if hasattr(value, "__dict__") and _default_repr(value) and depth < 3:
            return (
                type(value).__name__,
                tuple((k, _fingerprint(v, depth + 1)) for k, v in sorted(vars(value).items())),
            )
        text = repr(value)
    except Exception:
        return id(value)
    return text[:_FINGERPRINT_LIMIT]


def _timer_text(message: Any) -> str:
    if message.__class__ is _TimerFired:
        return f"timer {message.name!r}"
    if message.__class__ is _StateTimeoutFired:
        return "state timeout"
    return "timer"


def _message(message: Any, limit: int) -> str:
    if message.__class__ is _TimerFired:
        return message_text(message.message, limit)
    if message.__class__ is _StateTimeoutFired:
        return "StateTimeout"
    if message.__class__ is pykka_messages._ActorStop:
        return "stop"
    if message.__class__ is pykka_messages.ProxyCall:
        return f"{'.'.join(message.attr_path)}()"
    return message_text(message, limit)


_TRACKED: dict[type, type] = {}
_OBJECT_GETATTRIBUTE: Any = object.__getattribute__


def _track_reads(actor: Any, graph: CausalGraph, key: int) -> None:
    """Let `actor` report each of its own attributes its handlers read, by giving it (for
    this replay) a subclass of its class that looks attribute reads up through the graph.
    Where that cannot be done, its handlers count as reading everything."""
    if actor is None:
        return
    cls = type(actor)
    if cls.__getattribute__ is not _OBJECT_GETATTRIBUTE:  # its own: leave it alone
        return
    tracked = _TRACKED.get(cls)
    if tracked is None:
        try:
            tracked = type(
                cls.__name__,
                (cls,),
                {
                    "__getattribute__": _tracking_getattribute,
                    "__module__": cls.__module__,
                    "__qualname__": cls.__qualname__,
                    "__slots__": (),
                },
            )
        except Exception:
            return
        _TRACKED[cls] = tracked
    try:
        object.__setattr__(actor, "__class__", tracked)
        object.__setattr__(actor, "_testkit_reads", (graph, key))
    except Exception:
        return
    graph.tracked.add(key)


def _tracking_getattribute(self: Any, name: str) -> Any:
    value = object.__getattribute__(self, name)
    if name[0] != "_" or not name.startswith(_FRAMEWORK):
        instance = object.__getattribute__(self, "__dict__")
        if name in instance:
            tap = instance.get("_testkit_reads")
            if tap is not None:
                tap[0].read(tap[1], name)
    return value


_TRACKING: Any = _tracking_getattribute


class _Recording(ReplayStrategy):
    """Strict replay that tells the graph what it picks and what the runtime enables."""

    def __init__(self, trace: Trace, graph: CausalGraph) -> None:
        super().__init__(trace, False)
        self.graph = graph

    def pick(self, enabled: Any, step: int) -> Any:
        op = super().pick(enabled, step)
        self.graph.picked(step, op)
        return op

    def enabled_hook(self) -> Any:
        return self.graph.enabled


@dataclass
class Replayed:
    """A strict replay with its causal graph: the steps, the bug and the runtime's record."""

    graph: CausalGraph
    steps: list[Step]
    bug: Bug | None
    runtime: Runtime


def causal_replay(
    test: TestFunction, trace: Trace, sandbox: Sandbox, payload_length: int
) -> Replayed:
    """Replay `trace` exactly, recording its causal graph (`ReplayDivergence` where the
    program decides differently). Should tracking the handlers' reads change what the
    program does (code that checks `type(self) is Cls`), it replays again without: each
    handler then counts as reading all of its actor's state."""
    try:
        replayed = _causal_replay(test, trace, sandbox, payload_length, True)
    except TestkitError:
        replayed = None
    if replayed is None or replayed.runtime.steps != len(trace.steps):
        replayed = _causal_replay(test, trace, sandbox, payload_length, False)
    return replayed


def _causal_replay(
    test: TestFunction, trace: Trace, sandbox: Sandbox, payload_length: int, track: bool
) -> Replayed:
    graph = CausalGraph(payload_length, track=track)
    strategy = _Recording(trace, graph)
    strategy.begin(0, random.Random(0), trace.max_steps)
    try:
        with installed(graph):
            runtime, bug = run_like(test, strategy, trace, sandbox)
    finally:
        _untrack(graph)
    graph.finish(runtime)
    return Replayed(graph, build_steps(runtime.trace), bug, runtime)


def _untrack(graph: CausalGraph) -> None:
    """Give every actor of the replay its own class back."""
    runtime = graph.runtime
    if runtime is None:
        return
    for mailbox in runtime.mailboxes:
        actor = mailbox.actor
        cls = type(actor) if actor is not None else None
        if cls is not None and vars(cls).get("__getattribute__") is _TRACKING:
            base = cls.__mro__[1]
            object.__setattr__(actor, "__class__", base)
            object.__getattribute__(actor, "__dict__").pop("_testkit_reads", None)
