"""Declared faults: what may go wrong in a run (`Faults`), and how one iteration injects it.

A test declares which actor classes may crash (and be restarted), which messages may be
dropped or duplicated, which groups of classes may be cut off from each other, how many faults
one iteration may see (`budget`) and after which step the system heals (`heal_after`). The
runtime then asks its strategy, at the fault points the strategy planned, which of the faults
possible right now to inject (`FaultInjector.point`); each becomes a trace step
(`fault crash Cls#1`, `fault drop A#1->B#1 Msg(...)`, ...) that replay forces, the shrinker
removes and the sequence diagram draws.

What a fault does, and why (each matches what a production system can see):

- **crash**: between two messages, the actor's process dies. No code of the actor runs: not
  `on_stop`, not `on_termination`, not `on_failure` (a killed process runs nothing). Its
  mailbox is lost: queued `ask`s fail with `ActorDeadError` (as Pykka fails the asks queued for
  any stopped actor), queued `tell`s are gone; its timers are gone; it leaves
  `pykka.ActorRegistry`, watchers get `Terminated`, and a `PersistentFSM` releases its
  persistence id (its journal keeps what was written). An actor parked on a blocking `ask`
  is mid-message and does not crash until it goes on; one parked on a journal write (a
  `PersistentFSM` persisting) may crash there, the worst moment: the write is lost if the
  journal had not completed it, kept if it had, and either way its reply never goes out.
- **restart**: a crashed actor of a restartable class comes back later (when the strategy
  picks its restart, like any other operation): a new instance made by `Cls.start(...)` with
  the very arguments of the crashed one's start, so it has a new ref (`Cls#2`). The old ref
  stays dead (`tell` raises `ActorDeadError` and publishes a dead letter), as after any Pykka
  restart: nothing in Pykka outlives its actor. Peers find the new instance as production
  code must: through `pykka.ActorRegistry`, or because it announces itself in `on_start`.
- **drop** / **duplicate**: a message queued for a matching receiver (optionally only from a
  matching sender) is lost, or delivered a second time after the messages queued meanwhile
  (a retransmission). Timer ticks, messages an actor sends itself and `stop()` are local and
  never dropped. A dropped `ask` is never answered (a lost request).
- **partition**: the declared groups of classes are cut off from each other: every message
  from an actor of one group to an actor of another is held back until the partition heals,
  then delivered in the order sent (a reconnecting link); held messages to an actor that died
  meanwhile are dead letters. Actors of classes in no group, and the test function, are
  never cut off. A reply to an `ask` is the asker's future, not a message: only the request
  is held.
- **heal**: at `heal_after` (or, without it, when nothing else can run), partitions heal and
  no further fault is injected; a monitor hot at the heal point must stay hot for the whole
  liveness threshold after it to be a liveness bug, so liveness is judged on the healed system.
"""

from __future__ import annotations

import re
import sys
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import pykka
from pykka import messages as pykka_messages
from pykka._envelope import Envelope

from fsm import _refs
from fsm._actor import _StateTimeoutFired, _TimerFired
from testkit._engine.bug import Abort, Bug, exception_text
from testkit._engine.journal import PendingWrite
from testkit._engine.operations import Mailbox
from testkit._engine.payloads import describe_message
from testkit._engine.trace import comparable
from testkit._errors import TestkitError

if TYPE_CHECKING:
    from testkit._engine.runtime import Runtime
    from testkit._strategies import Strategy

KINDS = ("crash", "restart", "drop", "duplicate", "partition")
"""The kinds of fault a test can declare (the keywords of `Faults`)."""
DECISIONS = frozenset({"crash", "drop", "duplicate", "partition"})
"""The kinds injected at a fault point (each uses one unit of the budget); a restart is an
operation the strategy schedules like a delivery, and counts against no budget."""
POINT_KINDS = ("crash", "drop", "duplicate", "partition")
"""The order of the per-kind lists a strategy's `pick_fault` gets."""
STEP_KINDS = frozenset({*KINDS, "heal"})
"""What follows `fault` in a trace step."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LOCAL = frozenset({_TimerFired, _StateTimeoutFired, pykka_messages._ActorStop})


def _name_of(item: object, where: str) -> str:
    """A class (its `__name__`) or a class name, checked."""
    if isinstance(item, type):
        return item.__name__
    if isinstance(item, str) and _NAME.match(item.strip()):
        return item.strip()
    raise TestkitError(
        f"Faults({where}=...): expected an actor class or a class name, got {item!r}"
    )


def _names(value: object, where: str) -> tuple[str, ...]:
    """One class or name, or an iterable of them."""
    if isinstance(value, (type, str)):
        value = (value,)
    if not isinstance(value, Iterable):
        raise TestkitError(
            f"Faults({where}=...): expected actor classes or class names, got {value!r}"
        )
    return tuple(dict.fromkeys(_name_of(item, where) for item in value))


def _links(value: object, where: str) -> tuple[tuple[str | None, str], ...]:
    """Receivers (`B`) and sender/receiver pairs (`(A, B)`)."""
    if isinstance(value, (type, str)) or (
        isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, type) for v in value)
    ):
        value = (value,)
    if not isinstance(value, Iterable):
        raise TestkitError(
            f"Faults({where}=...): expected receiver classes or (sender, receiver) pairs, "
            f"got {value!r}"
        )
    links: list[tuple[str | None, str]] = []
    for item in value:
        if isinstance(item, (tuple, list)):
            if len(item) != 2:
                raise TestkitError(
                    f"Faults({where}=...): a pair is (sender class, receiver class), got {item!r}"
                )
            links.append((_name_of(item[0], where), _name_of(item[1], where)))
        else:
            links.append((None, _name_of(item, where)))
    return tuple(dict.fromkeys(links))


def _groups(value: object) -> tuple[tuple[str, ...], ...]:
    if isinstance(value, (type, str)) or not isinstance(value, Iterable):
        raise TestkitError(
            "Faults(partition=...): expected groups of actor classes, e.g. "
            f"partition=[(Leader,), (Follower, Client)], got {value!r}"
        )
    groups = tuple(_names(group, "partition") for group in value)
    if not groups:
        return ()
    if len(groups) < 2:
        raise TestkitError(
            "Faults(partition=...): a partition needs at least two groups to cut apart, "
            f"got {value!r}"
        )
    seen: dict[str, int] = {}
    for index, group in enumerate(groups):
        for name in group:
            if name in seen and seen[name] != index:
                raise TestkitError(
                    f"Faults(partition=...): {name} is in two groups; a class is on one side"
                )
            seen[name] = index
    return groups


@dataclass(frozen=True, init=False)
class Faults:
    """The faults a systematic test allows: `explore(test, faults=Faults(...))`.

    `crash`: actor classes that may crash between two messages (see the module's notes for
    exactly what a crash does); `restart`: crashed classes that come back as a new instance
    started with the same arguments; `drop` / `duplicate`: messages that may be lost or
    delivered twice, by receiver class (`B`) or sender and receiver (`(A, B)`); `partition`:
    groups of classes that may be cut off from each other; `budget`: faults per iteration
    (crashes, drops, duplicates, partitions; restarts are free); `heal_after`: the step after
    which no fault is injected and partitions heal (None: faults may come all run long and a
    partition heals when nothing else can run); `strict`: a declared kind that never fired in
    the whole exploration fails it. A class matches its subclasses too (`crash=CoffeeMachine`
    covers `FixedCoffeeMachine`); classes may be given by name.

        faults = Faults(crash=CoffeeMachine, restart=CoffeeMachine, budget=1)
        report = testkit.explore(order_coffee, 200, 2000, faults=faults)

    The command line takes the same as text (`str(faults)` gives it back, `Faults.parse`
    reads it): `crash=CoffeeMachine;restart=CoffeeMachine;drop=Sensors->CoffeeMachine;`
    `partition=Leader|Follower,Client;budget=2;heal_after=500;strict`.
    """

    crash: tuple[str, ...]
    restart: tuple[str, ...]
    drop: tuple[tuple[str | None, str], ...]
    duplicate: tuple[tuple[str | None, str], ...]
    partition: tuple[tuple[str, ...], ...]
    budget: int
    heal_after: int | None
    strict: bool

    def __init__(
        self,
        crash: Any = (),
        restart: Any = (),
        drop: Any = (),
        duplicate: Any = (),
        partition: Any = (),
        budget: int = 2,
        heal_after: int | None = None,
        strict: bool = False,
    ) -> None:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
            raise TestkitError(f"Faults(budget=...) must be an integer >= 0, got {budget!r}")
        if heal_after is not None and (
            isinstance(heal_after, bool) or not isinstance(heal_after, int) or heal_after < 1
        ):
            raise TestkitError(
                f"Faults(heal_after=...) must be a number of steps >= 1 or None, got {heal_after!r}"
            )
        if not isinstance(strict, bool):
            raise TestkitError(f"Faults(strict=...) must be True or False, got {strict!r}")
        crashes = _names(crash, "crash")
        restarts = _names(restart, "restart")
        orphans = [name for name in restarts if name not in crashes]
        if orphans:
            raise TestkitError(
                f"Faults(restart={', '.join(orphans)}): only a class that may crash can be "
                f"restarted; add it to crash= too"
            )
        set_ = object.__setattr__
        set_(self, "crash", crashes)
        set_(self, "restart", restarts)
        set_(self, "drop", _links(drop, "drop"))
        set_(self, "duplicate", _links(duplicate, "duplicate"))
        set_(self, "partition", _groups(partition))
        set_(self, "budget", budget)
        set_(self, "heal_after", heal_after)
        set_(self, "strict", strict)

    @property
    def declared(self) -> tuple[str, ...]:
        """The kinds this declares, in `KINDS` order."""
        return tuple(kind for kind in KINDS if getattr(self, kind))

    @property
    def class_names(self) -> frozenset[str]:
        """Every class name the declaration names (each must be started by the test)."""
        names: set[str] = {*self.crash, *self.restart}
        for sender, receiver in (*self.drop, *self.duplicate):
            names.add(receiver)
            if sender is not None:
                names.add(sender)
        for group in self.partition:
            names.update(group)
        return frozenset(names)

    def __str__(self) -> str:
        """The declaration as `--faults` text (what `Faults.parse` reads back)."""

        def links(items: tuple[tuple[str | None, str], ...]) -> str:
            return ",".join(r if s is None else f"{s}->{r}" for s, r in items)

        parts = []
        if self.crash:
            parts.append("crash=" + ",".join(self.crash))
        if self.restart:
            parts.append("restart=" + ",".join(self.restart))
        if self.drop:
            parts.append("drop=" + links(self.drop))
        if self.duplicate:
            parts.append("duplicate=" + links(self.duplicate))
        if self.partition:
            parts.append("partition=" + "|".join(",".join(g) for g in self.partition))
        parts.append(f"budget={self.budget}")
        if self.heal_after is not None:
            parts.append(f"heal_after={self.heal_after}")
        if self.strict:
            parts.append("strict")
        return ";".join(parts)

    @classmethod
    def parse(cls, text: str) -> Faults:
        """Read `--faults` text: `key=value` settings separated by `;`.

        `crash=A,B` and `restart=A` name classes; `drop=` and `duplicate=` list receivers
        (`B`) or links (`A->B`), comma-separated; `partition=A|B,C` separates groups with `|`
        and the classes of a group with `,`; `budget=N`; `heal_after=N`; `strict` (or
        `strict=true`). E.g. `crash=CoffeeMachine;restart=CoffeeMachine;budget=1`.
        """
        if not isinstance(text, str):
            raise TestkitError(f"faults text must be a str, got {text!r}")
        keywords: dict[str, Any] = {}
        for raw in text.split(";"):
            part = raw.strip()
            if not part:
                continue
            key, sep, value = (s.strip() for s in part.partition("="))
            where = f"in --faults {text!r}: {part!r}"
            if key == "strict" and (not sep or value.lower() in ("true", "false")):
                keywords["strict"] = not sep or value.lower() == "true"
                continue
            if not sep or not value:
                raise TestkitError(
                    f"{where} is not key=value; expected e.g. "
                    "'crash=CoffeeMachine;restart=CoffeeMachine;drop=Sensors->CoffeeMachine;"
                    "partition=A|B,C;budget=2;heal_after=500;strict'"
                )
            if key in keywords:
                raise TestkitError(f"{where}: {key} is given twice")
            if key in ("crash", "restart"):
                keywords[key] = _split(value, where)
            elif key in ("drop", "duplicate"):
                keywords[key] = [_link_text(item.strip(), where) for item in value.split(",")]
            elif key == "partition":
                groups = [_split(group, where) for group in value.split("|")]
                if len(groups) < 2:
                    raise TestkitError(
                        f"{where}: a partition separates groups with '|', e.g. partition=A|B,C"
                    )
                keywords[key] = groups
            elif key in ("budget", "heal_after"):
                if not value.isdigit() or not value.isascii():
                    raise TestkitError(f"{where}: {key} must be a whole number, got {value!r}")
                keywords[key] = int(value)
            else:
                raise TestkitError(
                    f"{where}: unknown setting {key!r}; the settings are crash, restart, drop, "
                    "duplicate, partition, budget, heal_after and strict"
                )
        return cls(**keywords)


def _split(value: str, where: str) -> list[str]:
    items = [item.strip() for item in value.split(",")]
    for item in items:
        if not _NAME.match(item):
            raise TestkitError(f"{where}: {item!r} is not a class name")
    return items


def _link_text(item: str, where: str) -> str | tuple[str, str]:
    sender, arrow, receiver = item.partition("->")
    if not arrow:
        if not _NAME.match(item):
            raise TestkitError(f"{where}: {item!r} is not a class name or Sender->Receiver")
        return item
    for name in (sender.strip(), receiver.strip()):
        if not _NAME.match(name):
            raise TestkitError(
                f"{where}: {name!r} is not a class name (links are Sender->Receiver)"
            )
    return sender.strip(), receiver.strip()


def check_faults(faults: object, max_steps: int, where: str = "explore") -> Faults | None:
    """`faults` as given to `explore` (a `Faults`, its text, or None), checked against the
    run's `max_steps`."""
    if faults is None:
        return None
    if isinstance(faults, str):
        faults = Faults.parse(faults)
    if not isinstance(faults, Faults):
        raise TestkitError(
            f"{where}(..., faults=...) must be a testkit.Faults (or its text), got {faults!r}"
        )
    if faults.heal_after is not None and faults.heal_after > max_steps:
        raise TestkitError(
            f"Faults(heal_after={faults.heal_after}) is past max_steps={max_steps}: the run "
            "would end before the system heals, so liveness would be judged on a broken "
            f"system; choose heal_after <= {max_steps}, or raise max_steps"
        )
    return faults


# ---- what an iteration records ---------------------------------------------------------------


class FaultPayload:
    """Trace payload of a fault step: `fault <kind> <target> <detail>`."""

    __slots__ = ("detail", "kind", "target")

    def __init__(self, kind: str, target: str, detail: str = "") -> None:
        self.kind = kind
        self.target = target
        self.detail = detail


class FaultMark:
    """The trace's operation column for a fault step (what `schedule_key` reads)."""

    __slots__ = ("id",)

    def __init__(self, label: str) -> None:
        self.id = label


class Candidate:
    """A fault possible at this point: its kind, what it is called in a trace and by the
    shrinker (`label`), and what to act on. A message's text and the label are made only
    when asked for (a repr per queued message would cost more than the fault point)."""

    __slots__ = ("_detail", "_label", "envelope", "kind", "mailbox", "sender", "target")

    def __init__(
        self,
        kind: str,
        target: str,
        detail: str | None = "",
        mailbox: Mailbox | None = None,
        envelope: Envelope[Any] | None = None,
        sender: Any = None,
    ) -> None:
        self.kind = kind
        self.target = target
        self._detail = detail
        self.mailbox = mailbox
        self.envelope = envelope
        self.sender = sender
        self._label: str | None = None

    @property
    def detail(self) -> str:
        """The message's text, for a drop or a duplicate ("" otherwise)."""
        if self._detail is None:
            assert self.envelope is not None
            self._detail = _message_text(self.envelope.message)
        return self._detail

    @property
    def label(self) -> str:
        """`kind target detail`, as the trace step reads (compared as replay compares)."""
        if self._label is None:
            self._label = fault_label(self.kind, self.target, self.detail)
        return self._label

    def __repr__(self) -> str:
        return self.label


class FaultOptions(Sequence[list[Candidate]]):
    """The faults possible at a fault point, one list per kind of `POINT_KINDS`, each listed
    only when a strategy looks at it."""

    def __init__(self, injector: FaultInjector) -> None:
        self.injector = injector
        self.lists: list[list[Candidate] | None] = [None] * len(POINT_KINDS)

    def __len__(self) -> int:
        return len(POINT_KINDS)

    @overload
    def __getitem__(self, index: int) -> list[Candidate]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[list[Candidate]]: ...

    def __getitem__(self, index: int | slice) -> list[Candidate] | Sequence[list[Candidate]]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(POINT_KINDS))[index]]
        found = self.lists[index]
        if found is None:
            found = self.lists[index] = self.injector.possible(POINT_KINDS[index])
        return found


def fault_label(kind: str, target: str, detail: str = "") -> str:
    """How a fault is named among the possible ones (replay and the shrinker match on it)."""
    return comparable(" ".join(p for p in (kind, target, detail) if p))


class RestartOp:
    """The operation that restarts a crashed actor; enabled from its crash on, scheduled by
    the strategy like a delivery (`fault restart Cls#1` in the trace)."""

    __slots__ = ("enabled", "id", "mailbox")

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.id = f"restart {mailbox.id}"
        self.enabled = False

    def __repr__(self) -> str:
        return self.id

    def peek(self) -> tuple[str, str]:
        return "fault", f"restart {self.mailbox.id}"


@dataclass(frozen=True)
class IterationFacts:
    """What one iteration did that a report counts beside its steps: faults injected per
    kind, declared class names it started, and its `sometimes` conditions (named, held)."""

    faults: tuple[tuple[str, int], ...] = ()
    started: frozenset[str] = frozenset()
    sometimes_named: frozenset[str] = frozenset()
    sometimes_held: frozenset[str] = frozenset()


# ---- one iteration's injector ----------------------------------------------------------------


class FaultInjector:
    """Injects one iteration's faults: lists what is possible at a fault point, applies what
    the strategy chose, restarts, holds and releases partitioned messages, heals."""

    def __init__(self, runtime: Runtime, faults: Faults, strategy: Strategy) -> None:
        self.runtime = runtime
        self.spec = faults
        self.strategy = strategy
        self.counts: dict[str, int] = dict.fromkeys(faults.declared, 0)
        self.used = 0
        self.heal_at = faults.heal_after
        self.healed = False
        self.starts: dict[Mailbox, tuple[Any, tuple[Any, ...], dict[str, Any]]] = {}
        self.restarts: list[RestartOp] = []
        self.senders: dict[Envelope[Any], Any] = {}
        """The operation that sent each queued message (for links, partitions, pictures)."""
        self.partitioned = False
        self.held: list[tuple[Mailbox, Envelope[Any], Any]] = []
        self.started: set[str] = set()
        self._matches, self._groups, self._classes = _class_caches(faults)
        self._on_fault = runtime.on_fault
        self.watches_messages = bool(faults.drop or faults.duplicate or faults.partition)
        kinds = [i for i, kind in enumerate(POINT_KINDS) if getattr(faults, kind)]
        strategy.plan_faults(faults.budget, self.heal_at, runtime.max_steps, kinds)

    # ---- matching classes ------------------------------------------------------------------

    def _is(self, cls: type, name: str) -> bool:
        key = (cls, name)
        found = self._matches.get(key)
        if found is None:
            found = self._matches[key] = any(k.__name__ == name for k in cls.__mro__)
        return found

    def _any(self, cls: type, names: Iterable[str]) -> bool:
        return any(self._is(cls, name) for name in names)

    def _group(self, op: Any) -> int | None:
        if op.__class__ is not Mailbox or op.actor is None:
            return None
        cls = op.actor.__class__
        if cls not in self._groups:
            self._groups[cls] = next(
                (i for i, group in enumerate(self.spec.partition) if self._any(cls, group)), None
            )
        return self._groups[cls]

    # ---- hooks the runtime calls -------------------------------------------------------------

    def actor_started(self, mailbox: Mailbox, actor: pykka.Actor) -> None:
        """`actor` is starting: remember the declared names it matches, and for a
        restartable class the arguments of its `start(...)`."""
        cls = actor.__class__
        known = self._classes.get(cls)
        if known is None:
            names = frozenset(name for name in self.spec.class_names if self._is(cls, name))
            known = self._classes[cls] = (names, self._any(cls, self.spec.restart))
        self.started.update(known[0])
        if known[1]:
            self.starts[mailbox] = _start_arguments(cls)

    def sent(self, mailbox: Mailbox, envelope: Envelope[Any]) -> bool:
        """A message is being put in `mailbox`: note its sender; True if a partition holds
        it back (then it is not queued)."""
        runtime = self.runtime
        sender = runtime.sender()
        self.senders[envelope] = sender
        if self.partitioned:
            theirs = self._group(sender)
            ours = self._group(mailbox)
            if theirs is not None and ours is not None and theirs != ours:
                self.held.append((mailbox, envelope, sender))
                return True
        return False

    def limit(self) -> int:
        """The step at which the runtime must stop and call `point` (or `max_steps`)."""
        limit = self.runtime.max_steps
        if self.healed:
            return limit
        if self.heal_at is not None:
            limit = min(limit, self.heal_at)
        if self.used < self.spec.budget:
            limit = min(limit, max(self.strategy.next_fault(self.runtime.steps), 0))
        return limit

    def point(self) -> None:
        """The runtime reached `limit()`: heal if it is time, else inject what is due."""
        runtime = self.runtime
        if self.heal_at is not None and runtime.steps >= self.heal_at and not self.healed:
            self.heal()
        else:
            strategy = self.strategy
            while (
                not self.healed
                and self.used < self.spec.budget
                and strategy.next_fault(runtime.steps) <= runtime.steps
                and runtime.steps < runtime.max_steps
            ):
                chosen = strategy.pick_fault(self.candidates(), runtime.steps)
                if chosen is None:
                    break
                self.apply(chosen)
        runtime._limit = max(self.limit(), runtime.steps + 1)

    def quiescent(self) -> bool:
        """Nothing can run: heal a partition (True if that gave the system work again)."""
        if not self.partitioned:
            return False
        self.heal()
        self.runtime._limit = self.limit()
        return bool(self.runtime.enabled)

    # ---- what is possible now ----------------------------------------------------------------

    def candidates(self) -> FaultOptions:
        """The faults possible right now, one list per kind (some empty), made on demand."""
        return FaultOptions(self)

    def possible(self, kind: str) -> list[Candidate]:
        """The faults of `kind` possible right now."""
        spec = self.spec
        out: list[Candidate] = []
        if kind == "partition":
            if spec.partition and not self.partitioned:
                groups = "|".join(",".join(group) for group in spec.partition)
                out.append(Candidate("partition", groups))
            return out
        links = spec.drop if kind == "drop" else spec.duplicate
        if (kind == "crash" and not spec.crash) or (kind != "crash" and not links):
            return out
        for mailbox in self.runtime.mailboxes:
            actor = mailbox.actor
            if actor is None or not mailbox.alive or not mailbox.started:
                continue
            cls = actor.__class__
            if kind == "crash":
                waiter = mailbox.waiter
                if (waiter is None or waiter.future.__class__ is PendingWrite) and self._any(
                    cls, spec.crash
                ):
                    out.append(Candidate("crash", mailbox.id, mailbox=mailbox))
            elif mailbox.items:
                self._messages(mailbox, cls, links, kind, out)
        return out

    def _messages(
        self,
        mailbox: Mailbox,
        cls: type,
        links: tuple[tuple[str | None, str], ...],
        kind: str,
        out: list[Candidate],
    ) -> None:
        wanted = [sender for sender, receiver in links if self._is(cls, receiver)]
        if not wanted:
            return
        for envelope in mailbox.items:
            message = envelope.message
            if message.__class__ in _LOCAL:
                continue
            sender = self.senders.get(envelope)
            if sender is None or sender is mailbox or getattr(sender, "mailbox", None) is mailbox:
                continue  # a timer's tick or a message to itself: nothing on a wire
            sender_actor = getattr(sender, "actor", None)
            if not any(
                name is None
                or (sender_actor is not None and self._is(sender_actor.__class__, name))
                for name in wanted
            ):
                continue
            out.append(
                Candidate(kind, f"{sender.id}->{mailbox.id}", None, mailbox, envelope, sender)
            )

    # ---- injecting -------------------------------------------------------------------------

    def apply(self, chosen: Candidate) -> None:
        """Inject `chosen` as the next step of the trace."""
        runtime = self.runtime
        if chosen.envelope is not None:
            chosen = self._first_equal(chosen)
        self.used += 1
        self.counts[chosen.kind] = self.counts.get(chosen.kind, 0) + 1
        self._record(chosen.kind, chosen.target, chosen.detail)
        step = runtime.steps - 1
        if chosen.kind == "crash":
            assert chosen.mailbox is not None
            self.crash(chosen.mailbox)
            if self._on_fault is not None:
                self._on_fault(step, "crash", chosen.mailbox.id, "", "")
        elif chosen.kind == "partition":
            self.partitioned = True
            if self._on_fault is not None:
                self._on_fault(step, "partition", "", "", chosen.target)
        else:
            mailbox, envelope = chosen.mailbox, chosen.envelope
            assert mailbox is not None and envelope is not None
            source = chosen.sender.id if chosen.sender is not None else ""
            if self._on_fault is not None:
                self._on_fault(step, chosen.kind, mailbox.id, source, chosen.detail)
            if chosen.kind == "drop":
                mailbox.items.remove(envelope)
                self.senders.pop(envelope, None)
                if not mailbox.items and mailbox.enabled and mailbox.waiter is None:
                    runtime.disable(mailbox)
            else:
                self._queue(mailbox, Envelope(envelope.message), chosen.sender)

    def _first_equal(self, chosen: Candidate) -> Candidate:
        """The first queued message of the mailbox that reads as `chosen` (same sender, same
        text): the one replay takes for it, so that both act on the same message."""
        mailbox = chosen.mailbox
        assert mailbox is not None
        for envelope in mailbox.items:
            if envelope is chosen.envelope:
                break
            if self.senders.get(envelope) is chosen.sender:
                earlier = Candidate(
                    chosen.kind, chosen.target, None, mailbox, envelope, chosen.sender
                )
                if earlier.label == chosen.label:
                    return earlier
        return chosen

    def _record(self, kind: str, target: str, detail: str = "") -> None:
        runtime = self.runtime
        payload = FaultPayload(kind, target, detail)
        if runtime._replaying:
            check = getattr(runtime.strategy, "expect_event", None)
            if check is not None and kind == "heal":
                check(runtime.steps, "fault", kind, target, detail)
        runtime.trace.append((FaultMark(fault_label(kind, target)), payload, None))
        runtime.steps += 1

    def _queue(self, mailbox: Mailbox, envelope: Envelope[Any], sender: Any) -> None:
        """Put `envelope` at the end of `mailbox` as `sender` sent it (a duplicate, or a
        message a partition held back)."""
        runtime = self.runtime
        self.senders[envelope] = sender
        mailbox.items.append(envelope)
        if (
            not mailbox.enabled
            and mailbox.alive
            and mailbox.actor is not None
            and mailbox.waiter is None
        ):
            runtime.enable(mailbox)
        if runtime._on_sent is not None:
            runtime._on_sent(runtime.steps - 1, sender, mailbox, envelope)

    def crash(self, mailbox: Mailbox) -> None:
        """The actor dies between two messages: nothing of it runs (see the module notes)."""
        runtime = self.runtime
        actor = mailbox.actor
        if mailbox.waiter is not None:  # mid journal write: its handler never goes on
            runtime.crash_parked(mailbox)
        pykka.ActorRegistry.unregister(actor.actor_ref)
        actor.actor_stopped.set()
        release = getattr(actor, "_pfsm_release", None)
        if release is not None:
            release()  # the journal outlives the process; its writer lock does not
        runtime._teardown(mailbox, crashed=True)
        if mailbox in self.starts:
            op = RestartOp(mailbox)
            self.restarts.append(op)
            runtime.enable(op)

    def restart(self, op: RestartOp) -> None:
        """Run the restart the strategy picked: a new instance from the same `start(...)`."""
        runtime = self.runtime
        runtime.disable(op)
        self.restarts.remove(op)
        old = op.mailbox
        self.counts["restart"] = self.counts.get("restart", 0) + 1
        runtime.trace.append((op, FaultPayload("restart", old.id), None))
        cls, args, kwargs = self.starts.pop(old)
        before = len(runtime.mailboxes)
        try:
            cls.start(*args, **kwargs)
        except Exception as exc:
            name = runtime.mailboxes[before].id if len(runtime.mailboxes) > before else cls.__name__
            raise Abort(bug=Bug("exception", exception_text(exc), name)) from exc
        if self._on_fault is not None and len(runtime.mailboxes) > before:
            self._on_fault(runtime.steps - 1, "restart", runtime.mailboxes[before].id, old.id, "")

    def heal(self) -> None:
        """Partitions heal (held messages go on, in the order sent); no more faults; the
        liveness clock of every hot monitor starts again here."""
        runtime = self.runtime
        self.healed = self.healed or (self.heal_at is not None and runtime.steps >= self.heal_at)
        self.partitioned = False
        self._record("heal", "")
        if self._on_fault is not None:
            self._on_fault(runtime.steps - 1, "heal", "", "", "")
        held, self.held = self.held, []
        for mailbox, envelope, sender in held:
            if mailbox.alive:
                self._queue(mailbox, envelope, sender)
            else:
                _refs.refuse(envelope, mailbox.actor.actor_ref)
        for slot in runtime.monitor_slots.values():
            if slot.hot_since is not None:
                slot.hot_since = max(slot.hot_since, runtime.steps)

    def facts(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(self.counts.items()))


_Caches = tuple[
    dict[tuple[type, str], bool], dict[type, "int | None"], dict[type, tuple[frozenset[str], bool]]
]
_CACHES: weakref.WeakKeyDictionary[Faults, _Caches] = weakref.WeakKeyDictionary()


def _class_caches(faults: Faults) -> _Caches:
    """What each actor class matches in `faults`, kept over the iterations of a run (the
    same classes start in every iteration)."""
    caches = _CACHES.get(faults)
    if caches is None:
        caches = _CACHES[faults] = ({}, {}, {})
    return caches


def _message_text(message: Any) -> str:
    _, what, detail = describe_message(message)
    return detail or what


_START_CODE = pykka.Actor.start.__func__.__code__  # type: ignore[attr-defined]


def _start_arguments(cls: type) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """The class and arguments of the `Cls.start(...)` call that is starting an actor now
    (found on the stack: Pykka's `start` calls the loop-starting code this runs under)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is _START_CODE:
            found = frame.f_locals
            return found["cls"], tuple(found["args"]), dict(found["kwargs"])
        frame = frame.f_back  # type: ignore[assignment]
    raise Abort(
        error=TestkitError(
            f"{cls.__name__} is declared restartable but was not started with "
            f"{cls.__name__}.start(...), so the tester cannot start it again the same way"
        )
    )
