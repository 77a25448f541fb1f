"""Small actor systems with a seeded bug each, and their fixed variants, for the tester.

Each `<name>` / `<name>_fixed` pair is a systematic test: a function taking the runtime.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import pykka

from fsm import FSM, Event, Monitor, State, StateTimeout
from testkit import Runtime, TestProbe

# ---- 1. a lost update between two actors ------------------------------------------------


@dataclass(frozen=True)
class Read:
    reply_to: pykka.ActorRef[Any]


@dataclass(frozen=True)
class Value:
    value: int


@dataclass(frozen=True)
class Write:
    value: int


@dataclass(frozen=True)
class Add:
    amount: int


@dataclass(frozen=True)
class Get:
    pass


class Register(FSM, pykka.ThreadingActor):
    """Holds a number: read it, write it, or add to it atomically."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("ready", 0)
        self.when("ready", self.ready)
        self.initialize()

    def ready(self, event: Event) -> State | None:
        match event:
            case Event(Read(reply_to), value):
                reply_to.tell(Value(value))
                return self.stay()
            case Event(Write(value), _):
                return self.stay().using(value)
            case Event(Add(amount), value):
                return self.stay().using(value + amount)
            case Event(Get(), value):
                return self.stay().replying(value)
        return None


class Incrementer(FSM, pykka.ThreadingActor):
    """Adds one to the register, then reports "done" to `report_to`."""

    def __init__(
        self, register: pykka.ActorRef[Any], report_to: pykka.ActorRef[Any], atomic: bool
    ) -> None:
        super().__init__()
        self.register = register
        self.report_to = report_to
        self.atomic = atomic
        self.start_with("reading", None)
        self.when("reading", self.reading)
        self.initialize()

    def on_start(self) -> None:
        if self.atomic:
            self.register.tell(Add(1))
            self.report_to.tell("done")
        else:
            self.register.tell(Read(self.actor_ref))

    def reading(self, event: Event) -> State | None:
        match event:
            case Event(Value(value), _):
                self.register.tell(Write(value + 1))  # the bug: read-modify-write in two steps
                self.report_to.tell("done")
                return self.stay()
        return None


def _lost_update(runtime: Runtime, atomic: bool) -> None:
    probe = TestProbe()
    register = Register.start()
    Incrementer.start(register, probe.ref, atomic)
    Incrementer.start(register, probe.ref, atomic)
    probe.receive_n(2)
    total = register.ask(Get())
    assert total == 2, f"lost update: two increments left the register at {total}"


def lost_update(runtime: Runtime) -> None:
    _lost_update(runtime, atomic=False)


def lost_update_fixed(runtime: Runtime) -> None:
    _lost_update(runtime, atomic=True)


# ---- 2. a race between a timer and a message --------------------------------------------


class Oven(FSM, pykka.ThreadingActor):
    """Bakes for 20 minutes, then beeps; a Cancel while baking stops it."""

    def __init__(self, display: pykka.ActorRef[Any], cancels_timer: bool) -> None:
        super().__init__()
        self.display = display
        self.cancels_timer = cancels_timer
        self.start_with("idle", None)
        self.when("idle", self.idle)
        self.when("baking", self.baking)
        self.initialize()

    def idle(self, event: Event) -> State | None:
        match event.message:
            case "bake":
                self.set_timer("bake", "done", 20 * 60)
                return self.goto("baking")
            case "done":
                raise AssertionError("the oven beeped 'done' after the bake was cancelled")
        return self.stay()

    def baking(self, event: Event) -> State | None:
        match event.message:
            case "done":
                self.display.tell("beep")
                return self.goto("idle")
            case "cancel":
                if self.cancels_timer:
                    self.cancel_timer("bake")
                self.display.tell("cancelled")
                return self.goto("idle")
        return None


class Cook(FSM, pykka.ThreadingActor):
    """Changes their mind: cancels the bake as soon as they get going."""

    def __init__(self, oven: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.oven = oven
        self.start_with("deciding", None)
        self.when("deciding", lambda event: self.stay())
        self.initialize()

    def on_start(self) -> None:
        self.oven.tell("cancel")


def _oven(runtime: Runtime, cancels_timer: bool) -> None:
    probe = TestProbe()
    oven = Oven.start(probe.ref, cancels_timer)
    oven.tell("bake")
    Cook.start(oven)


def timer_race(runtime: Runtime) -> None:
    _oven(runtime, cancels_timer=False)


def timer_race_fixed(runtime: Runtime) -> None:
    _oven(runtime, cancels_timer=True)


# ---- 3. a liveness bug that needs a specific order ----------------------------------------


@dataclass(frozen=True)
class Request:
    client: pykka.ActorRef[Any]
    number: int


@dataclass(frozen=True)
class Response:
    number: int


@dataclass(frozen=True)
class BackendReply:
    request: Request


class Outstanding(Monitor):
    """Every request is eventually answered: hot while any is outstanding."""

    hot_states = frozenset({"waiting"})
    cold_states = frozenset({"idle"})

    def __init__(self) -> None:
        super().__init__()
        self.start_with("idle", 0)
        self.when("idle", self.track)
        self.when("waiting", self.track)
        self.initialize()

    def track(self, event: Event) -> State:
        count = event.data + (1 if isinstance(event.message, Request) else -1)
        assert count >= 0, "a response without a request"
        return self.goto("waiting" if count else "idle").using(count)


class Backend(FSM, pykka.ThreadingActor):
    """Answers each query with a reply to whoever asked."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("up", None)
        self.when("up", self.up)
        self.initialize()

    def up(self, event: Event) -> State | None:
        match event.message:
            case (Request() as request, pykka.ActorRef() as server):
                server.tell(BackendReply(request))
                return self.stay()
        return None


@dataclass(frozen=True)
class Queue:
    pending: tuple[Request, ...] = field(default=())


class Server(FSM, pykka.ThreadingActor):
    """Serves one request at a time through the backend; the buggy one drops requests that
    arrive while it is busy instead of queueing them."""

    def __init__(self, backend: pykka.ActorRef[Any], queues: bool) -> None:
        super().__init__()
        self.backend = backend
        self.queues = queues
        self.start_with("free", Queue())
        self.when("free", self.free)
        self.when("busy", self.busy)
        self.initialize()

    def free(self, event: Event) -> State | None:
        match event.message:
            case Request() as request:
                self.backend.tell((request, self.actor_ref))
                return self.goto("busy")
        return None

    def busy(self, event: Event) -> State | None:
        match event:
            case Event(Request() as request, Queue(pending)):
                if self.queues:
                    return self.stay().using(Queue((*pending, request)))
                return self.stay()  # the bug: the request is silently dropped
            case Event(BackendReply(request), Queue(pending)):
                request.client.tell(Response(request.number))
                fsm_monitor(Outstanding, Response(request.number))
                if pending:
                    self.backend.tell((pending[0], self.actor_ref))
                    return self.stay().using(Queue(pending[1:]))
                return self.goto("free")
        return None


def fsm_monitor(monitor_cls: type[Monitor], event: Any) -> None:
    import fsm

    fsm.monitor(monitor_cls, event)


class Client(FSM, pykka.ThreadingActor):
    """Sends one request on start and waits for the response."""

    def __init__(self, server: pykka.ActorRef[Any], number: int) -> None:
        super().__init__()
        self.server = server
        self.number = number
        self.start_with("waiting", None)
        self.when("waiting", self.waiting)
        self.when("served", lambda event: self.stay())
        self.initialize()

    def on_start(self) -> None:
        self.monitor(Outstanding, Request(self.actor_ref, self.number))
        self.server.tell(Request(self.actor_ref, self.number))

    def waiting(self, event: Event) -> State | None:
        match event.message:
            case Response(number) if number == self.number:
                return self.goto("served")
        return None


def _dropped_request(runtime: Runtime, queues: bool) -> None:
    runtime.register_monitor(Outstanding)
    server = Server.start(Backend.start(), queues)
    Client.start(server, 1)
    Client.start(server, 2)


def dropped_request(runtime: Runtime) -> None:
    _dropped_request(runtime, queues=False)


def dropped_request_fixed(runtime: Runtime) -> None:
    _dropped_request(runtime, queues=True)


# ---- 4. a request lost on restart (failover) ----------------------------------------------


@dataclass(frozen=True)
class Job:
    number: int


@dataclass(frozen=True)
class Ack:
    number: int


@dataclass(frozen=True)
class Hello:
    worker: pykka.ActorRef[Any]


class JobsDone(Monitor):
    """Every submitted job is eventually done."""

    hot_states = frozenset({"pending"})
    cold_states = frozenset({"all done"})

    def __init__(self) -> None:
        super().__init__()
        self.start_with("all done", frozenset())
        self.when("all done", self.track)
        self.when("pending", self.track)
        self.initialize()

    def track(self, event: Event) -> State:
        match event.message:
            case ("submitted", number):
                jobs = event.data | {number}
            case ("done", number):
                jobs = event.data - {number}
            case _:
                return self.stay()
        return self.goto("pending" if jobs else "all done").using(jobs)


class JobQueue(FSM, pykka.ThreadingActor):
    """Hands jobs to the worker that said Hello. The buggy queue forgets a job as soon as it
    is handed out; the fixed one keeps it until acknowledged and re-sends it to a new worker."""

    def __init__(self, jobs: int, keeps_until_ack: bool) -> None:
        super().__init__()
        self.keeps_until_ack = keeps_until_ack
        self.start_with("serving", tuple(range(jobs)))
        self.when("serving", self.serving)
        self.initialize()

    def on_start(self) -> None:
        for number in self.state_data:
            self.monitor(JobsDone, ("submitted", number))

    def serving(self, event: Event) -> State | None:
        match event:
            case Event(Hello(worker), jobs):
                with contextlib.suppress(pykka.ActorDeadError):  # it may be gone already
                    for number in jobs:
                        worker.tell(Job(number))
                if self.keeps_until_ack:
                    return self.stay()
                return self.stay().using(())
            case Event(Ack(number), jobs):
                return self.stay().using(tuple(j for j in jobs if j != number))
        return None


class Worker(FSM, pykka.ThreadingActor):
    """Does each job (in two steps) and acknowledges it."""

    def __init__(self, queue: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.queue = queue
        self.start_with("working", None)
        self.when("working", self.working)
        self.initialize()

    def on_start(self) -> None:
        self.queue.tell(Hello(self.actor_ref))

    def working(self, event: Event) -> State | None:
        match event.message:
            case Job(number):
                self.actor_ref.tell(("finish", number))
                return self.stay()
            case ("finish", number):
                self.monitor(JobsDone, ("done", number))
                self.queue.tell(Ack(number))
                return self.stay()
        return None


class FailoverDriver(FSM, pykka.ThreadingActor):
    """Starts a worker, and at a moment the tester chooses, stops it and starts another."""

    def __init__(self, queue: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.queue = queue
        self.worker = Worker.start(queue)
        self.start_with("running", None)
        self.when("running", self.running)
        self.when("failed over", lambda event: self.stay())
        self.initialize()

    def on_start(self) -> None:
        self.actor_ref.tell("tick")

    def running(self, event: Event) -> State | None:
        if event.message == "tick":
            if self.random_bool():
                self.worker.stop(block=False)
                self.worker = Worker.start(self.queue)
                return self.goto("failed over")
            self.actor_ref.tell("tick")
            return self.stay()
        return None


def _lost_on_restart(runtime: Runtime, keeps_until_ack: bool) -> None:
    runtime.register_monitor(JobsDone)
    FailoverDriver.start(JobQueue.start(2, keeps_until_ack))


def lost_on_restart(runtime: Runtime) -> None:
    _lost_on_restart(runtime, keeps_until_ack=False)


def lost_on_restart_fixed(runtime: Runtime) -> None:
    _lost_on_restart(runtime, keeps_until_ack=True)


# ---- 5. a liveness bug only a fair strategy can call one: a heartbeat keeps it busy -----


class Heartbeat(FSM, pykka.ThreadingActor):
    """Ticks forever, like a sensor; meanwhile it should serve one request."""

    def __init__(self, serves: bool) -> None:
        super().__init__()
        self.serves = serves
        self.start_with("on", 0)
        self.when("on", self.on)
        self.initialize()
        self.set_timer("tick", "tick", 1.0, repeat=True)

    def on(self, event: Event) -> State | None:
        match event.message:
            case "tick":
                return self.stay().using(event.data + 1)
            case "request":
                if self.serves:
                    self.monitor(Outstanding, Response(0))
                return self.stay()
        return None


def _starved(runtime: Runtime, serves: bool) -> None:
    runtime.register_monitor(Outstanding)
    beat = Heartbeat.start(serves)
    runtime.monitor(Outstanding, Request(beat, 0))
    beat.tell("request")


def never_served(runtime: Runtime) -> None:
    _starved(runtime, serves=False)


def never_served_fixed(runtime: Runtime) -> None:
    _starved(runtime, serves=True)


# ---- small helpers for the runtime tests -----------------------------------------------


class Silent(FSM, pykka.ThreadingActor):
    """Never answers anything."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("mute", None)
        self.when("mute", lambda event: self.stay())
        self.initialize()


def deadlock(runtime: Runtime) -> None:
    """The test hands an actor a future to complete, and the actor forgets it."""
    promise = Silent._create_future()
    Silent.start().tell(("call me back", promise))
    promise.get()


class Timeouts(FSM, pykka.ThreadingActor):
    """Reports a state timeout of an hour."""

    def __init__(self, report_to: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.report_to = report_to
        self.start_with("waiting", None)
        self.when("waiting", self.waiting, state_timeout=3600)
        self.when("done", lambda event: self.stay())
        self.initialize()

    def waiting(self, event: Event) -> State | None:
        if isinstance(event.message, StateTimeout):
            self.report_to.tell("an hour passed")
            return self.goto("done")
        return None
