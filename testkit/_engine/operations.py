"""The schedulable operations of the runtime: an actor's mailbox and its mock timers."""

from __future__ import annotations

import heapq
from collections import deque
from threading import get_ident as _get_ident
from typing import TYPE_CHECKING, Any

from pykka._envelope import Envelope

from testkit._engine.payloads import describe_message
from testkit._engine.test_body import CONTROLLED_THREADS

if TYPE_CHECKING:
    from testkit._engine.runtime import Runtime
    from testkit._engine.waits import Waiter


class Mailbox:
    """An actor's inbox under the runtime, and the operation that runs its next item."""

    __slots__ = (
        "actor",
        "alive",
        "counted",
        "current",
        "enabled",
        "id",
        "items",
        "plain",
        "runtime",
        "started",
        "timers",
        "waiter",
    )

    def __init__(self, runtime: Runtime, name: str) -> None:
        self.runtime = runtime
        self.id = name
        self.items: deque[Envelope[Any]] = deque()
        self.current: Envelope[Any] | None = None
        self.actor: Any = None
        self.started = False
        self.enabled = False
        self.alive = True
        self.timers: TimerQueue | None = None
        self.waiter: Waiter | None = None
        """Set while the actor's handler is parked on a future: it handles nothing else."""
        self.counted: Any = None  # the runtime's last coverage count for this actor
        self.plain = False
        """A plain Pykka actor (no FSM mixin): an error in an ask goes back to the asker."""

    def __repr__(self) -> str:
        return self.id

    def put(self, envelope: Envelope[Any], /) -> None:
        runtime = self.runtime
        if _get_ident() not in CONTROLLED_THREADS:
            runtime.foreign_thread(self, envelope)
        if runtime.intercept is not None and runtime.intercept(self, envelope):
            return  # a partition holds it back (declared faults)
        self.items.append(envelope)
        reply_to = envelope.reply_to
        if reply_to is not None:  # who will answer, to name the cycle of a deadlock
            reply_to.owner = self  # type: ignore[attr-defined]
            reply_to.request = envelope.message  # type: ignore[attr-defined]
        if not self.enabled and self.alive and self.actor is not None and self.waiter is None:
            self.enabled = True  # runtime.enable, inlined: once a step
            enabled = runtime.enabled
            enabled._where[self] = len(enabled)
            list.append(enabled, self)
            if runtime.on_enable is not None:
                runtime.on_enable(self)
        if runtime._on_sent is not None:
            runtime._on_sent(runtime.steps - 1, runtime.sender(), self, envelope)
        if runtime.in_body:  # sent by the test function: the strategy decides when it goes on
            runtime.body.pause()

    def get(self) -> Envelope[Any]:
        envelope = self.items.popleft()
        self.current = envelope
        return envelope

    def empty(self) -> bool:
        return not self.items

    def peek(self) -> tuple[str, str]:
        """The kind and type of what this operation would run next (for replay checks)."""
        if self.waiter is not None:
            return "resume", ""
        if not self.started:
            return "start", ""
        message = self.items[0].message
        return describe_message(message)[:2]


class TimerEntry:
    """A pending mock timer: fires `message` at `deadline` (virtual seconds), maybe repeating."""

    __slots__ = ("deadline", "interval", "message", "queue", "ready", "seq")

    def __init__(
        self,
        queue: TimerQueue,
        deadline: float,
        seq: int,
        message: Any,
        interval: float | None,
        ready: int,
    ) -> None:
        self.queue = queue
        self.deadline = deadline
        self.seq = seq
        self.message = message
        self.interval = interval
        self.ready = ready  # the first step at which it may fire

    def __lt__(self, other: TimerEntry) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)

    def cancel(self) -> None:
        self.queue.remove(self)

    def delivered(self, fixed_delay: bool) -> None:
        """The tick was handled: arm a repeating timer again, `interval` after its last
        deadline (fixed rate) or after the virtual now (fixed delay)."""
        interval = self.interval
        assert interval is not None, "only a repeating timer is re-armed"
        runtime = self.queue.mailbox.runtime
        self.deadline = (runtime.now if fixed_delay else self.deadline) + interval
        self.ready = runtime._ready_step()
        self.queue.add(self)


class TimerQueue:
    """The pending timers of one actor; enabled (may fire) when the earliest one is ready.

    A repeating timer leaves the queue when it fires and comes back when the actor has
    handled the tick (`TimerEntry.delivered`): at most one of its ticks is ever queued.

    Only the earliest timer of an actor may fire, as with one real timer thread. A timer is
    ready a random number of steps (below the runtime's `timer_delay`) after it was set, or
    at once when nothing else can run; after that, when it fires relative to messages and
    other actors' timers is the strategy's choice. The delay keeps periodic timers from
    flooding the schedule, as real ticks are rare next to message deliveries.
    """

    __slots__ = ("enabled", "heap", "id", "mailbox")

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.id = mailbox.id + "/timers"
        self.heap: list[TimerEntry] = []
        self.enabled = False

    def __repr__(self) -> str:
        return self.id

    def add(self, entry: TimerEntry) -> None:
        heapq.heappush(self.heap, entry)
        self.mailbox.runtime.refresh(self)

    def remove(self, entry: TimerEntry) -> None:
        heap = self.heap
        try:
            heap.remove(entry)
        except ValueError:
            return
        heapq.heapify(heap)
        runtime = self.mailbox.runtime
        runtime.refresh(self)
        if runtime.on_timer_cancelled is not None:
            runtime.on_timer_cancelled(runtime.steps - 1, self.mailbox, entry)

    def peek(self) -> tuple[str, str]:
        return "timer", describe_message(self.heap[0].message)[1]
