"""Journal writes under the tester: scheduling points, failure policies, the iteration's journal.

A `PersistentFSM` writes through its dispatcher (`fsm._dispatch.Dispatcher.journal_write`).
Under the tester the writing handler parks, like a handler blocked on an `ask` (a `wait` step),
and a `JournalOp` becomes enabled: the journal's completion of that write. When the strategy
picks it (a `journal` step) the write is stored, or rejected or failed as the test's
`JournalFailures` say, and the handler may go on (a `resume` step, again the strategy's pick).
So between the write and its confirmation, and between the confirmation and the reply, other
actors run, timers fire and faults may strike: the windows a crash finds in production.

    12 wait Account#1 journal write:3
    13 deliver Client#1 Accepted ... @Sending
    14 journal Account#1 write:3
    15 resume Account#1 journal write:3

Each iteration has a journal of its own (`TesterJournal`, in memory): the default journal of
every `PersistentFSM` started in it, which outlives a crashed and restarted FSM and is gone
with the iteration, so no state leaks from one schedule into the next.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from fsm import FSMError, InMemoryJournal, Journal, PersistFailed, PersistRejected
from fsm._journal import AtomicWrite
from testkit._engine.bug import Abort
from testkit._errors import TestkitError

if TYPE_CHECKING:
    from testkit._engine.operations import Mailbox

REJECTED = "rejected"
FAILED = "failed"
OUTCOMES = (REJECTED, FAILED)
"""What a failure policy can make of a write (a `journal` step's detail); none: stored."""

Which = int | Collection[int] | Callable[[int], bool]
"""Which writes of one persistence id a policy hits: the first N, those numbers, or a test."""
Policy = Mapping[str, Which] | Callable[[str, int], bool] | None


class JournalFailures:
    """Failure policies of the tester's journal writes, per persistence id (as Akka's
    `PersistenceTestKit`): `reject` makes a write fail before anything of it is stored
    (`fsm.PersistRejected`), `fail` makes it fail in the storage (`fsm.PersistFailed`;
    under the tester nothing of it is stored). Either way the writing FSM stops, as in
    production; under the tester that is an expected stop, not a bug.

    Each policy is a mapping from persistence id to which of its writes to hit, or a
    callable `(persistence_id, n) -> bool`. Writes are numbered per persistence id from 1
    over the whole iteration (a restarted FSM goes on counting; a failed write counts too).
    For one id: an int `N` hits writes 1..N (Akka's "next N"), a collection of ints hits
    those writes, a callable `(n) -> bool` decides. `reject` is asked first.

        runtime.journal(failures=testkit.JournalFailures(reject={"account-A": 1}))
        runtime.journal(failures=testkit.JournalFailures(fail={"account-A": {2, 5}}))
        runtime.journal(failures=testkit.JournalFailures(fail=lambda pid, n: n % 3 == 0))

    Policies live in the test function, so replay, the shrinker and worker processes apply
    the same ones without being told.
    """

    __slots__ = ("fail", "reject")

    def __init__(self, reject: Policy = None, fail: Policy = None) -> None:
        self.reject = _checked(reject, "reject")
        self.fail = _checked(fail, "fail")

    def decide(self, persistence_id: str, n: int) -> str:
        """What happens to write `n` of `persistence_id`: `rejected`, `failed` or "" (stored)."""
        for outcome, policy in ((REJECTED, self.reject), (FAILED, self.fail)):
            if policy is not None and _hits(policy, persistence_id, n, outcome):
                return outcome
        return ""

    def __repr__(self) -> str:
        parts = [f"{name}={getattr(self, name)!r}" for name in ("reject", "fail")]
        return f"JournalFailures({', '.join(parts)})"


def _checked(policy: object, name: str) -> Any:
    if policy is None or callable(policy):
        return policy
    if not isinstance(policy, Mapping):
        raise TestkitError(
            f"JournalFailures({name}=...) must be a mapping of persistence ids (e.g. "
            f"{{'account-A': 1}}) or a callable (persistence_id, n) -> bool, got {policy!r}"
        )
    checked: dict[str, Any] = {}
    for pid, which in policy.items():
        if not isinstance(pid, str) or not pid:
            raise TestkitError(
                f"JournalFailures({name}=...): keys are persistence ids (non-empty str), "
                f"got {pid!r}"
            )
        checked[pid] = _which(which, name, pid)
    return checked


def _which(which: object, name: str, pid: str) -> Any:
    where = f"JournalFailures({name}={{{pid!r}: {which!r}}})"
    if callable(which):
        return which
    if isinstance(which, bool) or (isinstance(which, int) and which < 1):
        raise TestkitError(
            f"{where}: a number of writes must be an int >= 1 (the first N writes of "
            f"{pid!r}); use a set such as {{2}} for particular writes"
        )
    if isinstance(which, int):
        return which
    if isinstance(which, Collection) and not isinstance(which, (str, bytes, Mapping)):
        numbers = list(which)
        bad = [n for n in numbers if isinstance(n, bool) or not isinstance(n, int) or n < 1]
        if bad or not numbers:
            raise TestkitError(
                f"{where}: writes are numbered from 1 per persistence id; expected write "
                f"numbers >= 1, got {bad[0] if bad else 'none'!r}"
            )
        return frozenset(numbers)
    raise TestkitError(
        f"{where}: expected an int N (the first N writes), a collection of write numbers, "
        "or a callable (n) -> bool"
    )


def _hits(policy: Any, pid: str, n: int, outcome: str) -> bool:
    try:
        if isinstance(policy, dict):
            which = policy.get(pid)
            if which is None:
                return False
            if isinstance(which, int):
                return n <= which
            if isinstance(which, frozenset):
                return n in which
            return bool(which(n))
        return bool(policy(pid, n))
    except Exception as exc:  # the test's own policy is broken: misuse, not a bug found
        error = TestkitError(
            f"the JournalFailures policy for {outcome} writes raised {exc!r} on write {n} of "
            f"{pid!r}; a policy must answer True or False for any persistence id and number"
        )
        raise Abort(error=error) from exc


class TesterJournal(InMemoryJournal):
    """The tester's journal: in memory, deterministic, one per iteration; the default
    journal of every `PersistentFSM` the iteration starts (see `Runtime.journal`)."""

    def __repr__(self) -> str:
        return "the tester's journal"


class _JournalLine:
    """Whom a writing handler waits for (a `wait` step's target, a deadlock's name)."""

    __slots__ = ()
    id = "journal"
    waiter = None


JOURNAL = _JournalLine()


class PendingWrite:
    """One write a handler waits for: what the runtime parks it on (a future's shape: `_done`,
    `owner`, `add_done_callback`), and its outcome once the journal completed it."""

    __slots__ = (
        "_callbacks",
        "_done",
        "batch",
        "error",
        "injected",
        "journal",
        "mailbox",
        "number",
        "op",
        "wait_text",
    )

    owner = JOURNAL
    request = None

    def __init__(
        self,
        mailbox: Mailbox | None,
        journal: Journal,
        batch: AtomicWrite,
        number: int,
        injected: str,
    ) -> None:
        self.mailbox = mailbox
        self.journal = journal
        self.batch = batch
        self.number = number
        self.injected = injected
        self.error: BaseException | None = None
        self.op: JournalOp | None = None
        """The operation that completes it, while the writer's handler waits for it."""
        self._done = False
        self._callbacks: list[Callable[[Any], None]] = []
        first, last = batch.first, batch.last
        self.wait_text = f"write:{first}" if first == last else f"write:{first}..{last}"
        """How the trace names it: `write:3`, or `write:3..5` for several entries."""

    @property
    def persistence_id(self) -> str:
        return self.batch.persistence_id

    def events_text(self) -> str:
        """The entries' kinds, for a picture: `ledger.Deposited, state change`."""
        names = [entry.manifest or "state change" for entry in self.batch.entries]
        if len(names) > 3:
            names = [*names[:2], f"... {len(names) - 2} more"]
        return ", ".join(names)

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def perform(self) -> str:
        """Complete the write: store it, or fail it as the policy decided; its outcome."""
        batch = self.batch
        pid = batch.persistence_id
        span = f"entries {batch.first}..{batch.last}"
        outcome = "stored"
        if self.injected == REJECTED:
            self.error = PersistRejected(
                f"the tester rejected write {self.number} of {pid!r} ({span}) as its "
                "JournalFailures say; nothing of it was stored"
            )
            outcome = REJECTED
        elif self.injected == FAILED:
            self.error = PersistFailed(
                f"the tester failed write {self.number} of {pid!r} ({span}) as its "
                "JournalFailures say; under the tester nothing of it was stored"
            )
            outcome = FAILED
        else:
            try:
                self.journal.write(batch)
            except PersistRejected as exc:
                self.error, outcome = exc, REJECTED
            except PersistFailed as exc:
                self.error, outcome = exc, FAILED
            except Exception as exc:  # the journal's own bug: the handler reports it
                self.error, outcome = exc, FAILED
        self._done = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)
        return outcome


class JournalOp:
    """The operation that completes a pending write; enabled from the write on, scheduled by
    the strategy like a delivery (`journal Account#1 write:3` in the trace)."""

    __slots__ = ("enabled", "id", "mailbox", "write")

    def __init__(self, mailbox: Mailbox, write: PendingWrite) -> None:
        self.mailbox = mailbox
        self.write = write
        self.id = f"{mailbox.id}/journal"
        self.enabled = False

    def __repr__(self) -> str:
        return self.id

    def peek(self) -> tuple[str, str]:
        return "journal", self.write.wait_text


class JournalPayload:
    """Trace payload of a `journal` step: what was written (`write:3`) and the failure the
    policy injected (`rejected`, `failed`, or "" when the write was let through)."""

    __slots__ = ("detail", "what")

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        self.detail = detail


class JournalBook:
    """One iteration's journal bookkeeping: its own journal, the test's failure policies,
    the write count per persistence id, and the failures handed to handlers (which stop
    their FSM as expected, not as a bug)."""

    def __init__(self) -> None:
        self.default: Journal | None = None
        self.failures: JournalFailures | None = None
        self.counts: dict[str, int] = {}
        self.stops: list[BaseException] = []
        self.foreign_warned = False

    def journal(self) -> Journal:
        """The default journal of this iteration (the tester's own, until the test sets one)."""
        if self.default is None:
            self.default = TesterJournal()
        return self.default

    def set_default(self, journal: Journal) -> None:
        if not isinstance(journal, Journal):
            raise FSMError(
                f"set_default_journal({journal!r}): expected a journal such as "
                "fsm.SQLiteJournal(path) or fsm.InMemoryJournal()"
            )
        self.default = journal

    def set_failures(self, failures: object) -> None:
        if not isinstance(failures, JournalFailures):
            raise TestkitError(
                f"runtime.journal(failures=...) takes a testkit.JournalFailures, got {failures!r}"
            )
        if self.failures is not None and self.failures is not failures:
            raise TestkitError(
                "runtime.journal(failures=...) was called twice in one iteration with different "
                f"policies ({self.failures!r}, then {failures!r}); give one JournalFailures "
                "with every policy"
            )
        self.failures = failures

    def issue(self, mailbox: Mailbox | None, journal: Journal, batch: AtomicWrite) -> PendingWrite:
        """A handler writes `batch`: number it and decide its fate now (replay checks it)."""
        pid = batch.persistence_id
        number = self.counts.get(pid, 0) + 1
        self.counts[pid] = number
        failures = self.failures
        injected = failures.decide(pid, number) if failures is not None else ""
        return PendingWrite(mailbox, journal, batch, number, injected)

    def expected_stop(self, exc: BaseException) -> bool:
        """Whether `exc`, escaping a handler, is a write failure handed to it: the FSM
        stopped as a `PersistentFSM` must, which is no bug."""
        return isinstance(exc, (PersistRejected, PersistFailed)) and any(
            exc is stop for stop in self.stops
        )
