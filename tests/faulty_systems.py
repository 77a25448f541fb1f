"""Small systems for the declared-fault tests: each test function checks, at its end, what a
fault may and may not do, so that every iteration of an exploration is a check."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import pykka

import fsm
from fsm import FSM, Event, State, StopEvent
from testkit import Runtime
from tests.persistent_accounts import Account as PersistentAccount
from tests.persistent_accounts import Deposit


@dataclass
class World:
    """What outlives every actor instance of one iteration (the tests read it)."""

    hooks: list[Any] = field(default_factory=list)
    received: list[int] = field(default_factory=list)
    instances: list[Any] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)


class Cell(FSM, pykka.ThreadingActor):
    """Counts `("add", n)`; records its lifecycle hooks in the shared `World`."""

    def __init__(self, world: World, name: str, *, start_at: int = 0) -> None:
        super().__init__()
        self.world = world
        self.name = name
        self.total = start_at
        world.instances.append(self)
        self.start_with("up", None)
        self.when("up", self.up)
        self.on_termination(self.terminated)
        self.initialize()

    def up(self, event: Event) -> State | None:
        match event.message:
            case ("add", int(n)):
                self.total += n
                self.world.received.append(n)
                return self.stay()
            case "total":
                return self.stay().replying(self.total)
        return None

    def terminated(self, stop: StopEvent) -> None:
        self.world.hooks.append(f"on_termination {stop.reason!r}")

    def on_failure(self, *args: Any) -> None:  # type: ignore[override]
        self.world.hooks.append("on_failure")
        super().on_failure(*args)


class Feeder(FSM, pykka.ThreadingActor):
    """Tells `("add", 1)` .. `("add", count)` to `target`, one per step of its own."""

    def __init__(self, target: pykka.ActorRef[Any], count: int) -> None:
        super().__init__()
        self.target = target
        self.count = count
        self.sent = 0
        self.start_with("up", None)
        self.when("up", self.up)
        self.initialize()

    def on_start(self) -> None:
        self.actor_ref.tell("next")

    def up(self, event: Event) -> State | None:
        if event.message == "next" and self.sent < self.count:
            self.sent += 1
            with contextlib.suppress(pykka.ActorDeadError):  # it crashed: the number is lost
                self.target.tell(("add", self.sent))
            self.actor_ref.tell("next")
        return self.stay()


def crash_and_restart(runtime: Runtime) -> None:
    """A crash runs no hook of the actor; the old ref is dead; the restart is a new
    instance from the same arguments, found in the registry."""
    world = World()
    cell = Cell.start(world, "cell", start_at=100)
    Feeder.start(cell, 3)
    runtime.run()
    crashed = len(world.instances) > 1
    runtime.sometimes(crashed, "crashed")
    assert not world.hooks, world.hooks  # no on_termination, no on_failure: a crash runs nothing
    if crashed:
        old, new = world.instances[0], world.instances[-1]
        assert old.actor_stopped.is_set() and not cell.is_alive()
        assert (new.name, new.total >= 100) == ("cell", True)  # the same start arguments
        assert pykka.ActorRegistry.get_by_class(Cell) == [new.actor_ref]
        assert sorted(world.received) == sorted(set(world.received))  # none twice
    else:
        assert world.received == [1, 2, 3]


def lossy(runtime: Runtime) -> None:
    """Drops lose a message, duplicates deliver one twice after it; nothing else changes."""
    world = World()
    cell = Cell.start(world, "cell")
    Feeder.start(cell, 4)
    runtime.run()
    received = world.received
    runtime.sometimes(len(received) < 4, "lost one")
    runtime.sometimes(len(received) > 4, "doubled one")
    assert set(received) <= {1, 2, 3, 4}
    firsts = [n for i, n in enumerate(received) if n not in received[:i]]
    assert firsts == sorted(firsts), received  # what arrives first still arrives in order


class Pinger(FSM, pykka.ThreadingActor):
    """Asks `ponger` once per "ping", `rounds` times, recording answers and timeouts."""

    def __init__(self, ponger: pykka.ActorRef[Any], world: World, rounds: int) -> None:
        super().__init__()
        self.ponger = ponger
        self.world = world
        self.rounds = rounds
        self.start_with("up", None)
        self.when("up", self.up)
        self.initialize()

    def up(self, event: Event) -> State | None:
        if event.message == "ping" and self.rounds > 0:
            self.rounds -= 1
            try:
                self.world.answers.append(self.ponger.ask("total", timeout=1.0))
            except pykka.Timeout:
                self.world.answers.append("timeout")
            self.actor_ref.tell("ping")
        return self.stay()


def partitioned(runtime: Runtime) -> None:
    """A partition holds requests back (an ask times out only when nothing else can run),
    and heals: nothing is lost."""
    world = World()
    cell = Cell.start(world, "cell")
    Pinger.start(cell, world, 3).tell("ping")
    runtime.run()
    runtime.sometimes("timeout" in world.answers, "timed out")
    assert len(world.answers) == 3
    fsm.sometimes(world.answers.count(0) == 3, "all answered")


def never(runtime: Runtime) -> None:
    """A `sometimes` condition that never holds."""
    Cell.start(World(), "cell")
    runtime.sometimes(False, "the impossible")


def twice(runtime: Runtime) -> None:
    """One name, two places."""
    runtime.sometimes(True, "twice")
    runtime.sometimes(True, "twice")


def buggy_without_faults(runtime: Runtime) -> None:
    """A bug that needs no fault (the shrinker should drop every fault it was found with)."""
    world = World()
    cell = Cell.start(world, "cell")
    Feeder.start(cell, 2)
    runtime.run()
    assert len(world.received) < 2, "both arrived"


class Ledger(PersistentAccount, FSM, pykka.ThreadingActor):
    """The persistence tests' event-sourced account, as a threading actor."""


class Depositor(FSM, pykka.ThreadingActor):
    """Deposits 1, 2 and 4 into whichever `Ledger` is running, asking each time, and
    records every acknowledged amount; a deposit whose ask fails (the account crashed) is
    asked again of the restarted one."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.todo = [1, 2, 4]
        self.start_with("up", None)
        self.when("up", self.up)
        self.initialize()

    def on_start(self) -> None:
        self.actor_ref.tell("next")

    def up(self, event: Event) -> State | None:
        if event.message == "next" and self.todo:
            ledgers = pykka.ActorRegistry.get_by_class(Ledger)
            if ledgers:
                try:
                    ledgers[0].ask(Deposit(self.todo[0]))
                except pykka.ActorDeadError:
                    pass  # crashed before answering: ask the restarted one
                else:
                    self.world.received.append(self.todo.pop(0))
            self.actor_ref.tell("next")
        return self.stay()


def persistent_restart(runtime: Runtime) -> None:
    """A crashed `PersistentFSM` frees its persistence id, and its restart recovers every
    acknowledged deposit from the journal. A crash while the ledger waits for its journal
    may leave a deposit stored but unanswered, which the depositor asks again: stored twice
    (it retries at least once, with no deduplication), never lost."""
    world = World()
    journal = fsm.InMemoryJournal()
    Ledger.start("ledger-1", journal, seen=world.hooks)
    Depositor.start(world)
    runtime.run()
    recovered = [hook for hook in world.hooks if hook[0] == "recovered"]
    runtime.sometimes(len(recovered) > 1, "recovered after a crash")
    balances = [hook[-1] if hook[0] == "and_then" else hook[2] for hook in world.hooks]
    balances = [b for hook, b in zip(world.hooks, balances, strict=True) if hook[0] != "transition"]
    stored = [event.amount for event in journal.events("ledger-1")]
    assert balances[-1] == sum(stored), (world.hooks, stored)
    lost = [n for n in world.received if stored.count(n) < world.received.count(n)]
    assert not lost, (world.hooks, world.received, stored)


def all_arrive(runtime: Runtime) -> None:
    """Every number the feeder sends must arrive: a dropped message is the bug (explained as
    "passes without that drop")."""
    world = World()
    cell = Cell.start(world, "cell")
    Feeder.start(cell, 3)
    runtime.run()
    assert sorted(world.received) == [1, 2, 3], f"received {world.received}"
