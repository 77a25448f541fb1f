"""Test functions that misuse the tester or hang, for the tests of its errors and watchdog.

Each is a systematic test (a function taking the runtime); none of them is a bug to find.
"""

from __future__ import annotations

import threading
from typing import Any

import pykka

from fsm import FSM, Event, Monitor, State
from testkit import Runtime


class Stuck(FSM, pykka.ThreadingActor):
    """Hangs in its handler in the way its first argument names."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.start_with("ready", None)
        self.when("ready", self.ready)
        self.initialize()

    def ready(self, event: Event) -> State | None:
        if self.how == "spin":
            while True:  # never returns
                pass
        if self.how == "lock":  # blocks in C, where the tester cannot see (a wait on a
            held = threading.Lock()  # threading.Event is virtual under the tester)
            held.acquire()
            held.acquire()  # nobody will ever release it
        if self.how == "future":
            pykka.ThreadingFuture[Any]().get()  # nobody will ever set it
        if self.how == "thread":
            threading.Thread(target=lambda: None, name="helper").start()
        if self.how == "assert":
            raise AssertionError("a handler's assertion")
        if self.how == "sleep":
            import time

            time.sleep(1)
        return self.stay()


def spinning_handler(runtime: Runtime) -> None:
    Stuck.start("spin").tell("go")


def waiting_handler(runtime: Runtime) -> None:
    Stuck.start("lock").tell("go")


def future_handler(runtime: Runtime) -> None:
    Stuck.start("future").tell("go")


def sleeping_handler(runtime: Runtime) -> None:
    Stuck.start("sleep").tell("go")


def spawning_handler(runtime: Runtime) -> None:
    Stuck.start("thread").tell("go")


def busy_test(runtime: Runtime) -> None:
    while True:  # lets nothing run
        pass


class Untold(Monitor):
    """A monitor nobody registers."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("idle", None)
        self.when("idle", lambda event: self.stay())
        self.initialize()


def unregistered_monitor(runtime: Runtime) -> None:
    runtime.monitor(Untold, "an event")


def foreign_thread(runtime: Runtime) -> None:
    ref = Stuck.start("none")
    thread = threading.Thread(target=lambda: ref.tell("from elsewhere"), name="rogue")
    thread.start()
    thread.join()
    ref.tell("go")


async def async_test(runtime: Runtime) -> None:
    pass


def generator_test(runtime: Runtime) -> Any:
    yield


def no_argument_test() -> None:
    pass


class Glacial(FSM, pykka.ThreadingActor):
    """Ticks every 31 years (1e9 s): a few hundred ticks pass the year 9999."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("on", 0)
        self.when("on", lambda event: self.stay().using(event.data + 1))
        self.initialize()
        self.set_timer("tick", "tick", 1e9, repeat=True)


def glacial_timer(runtime: Runtime) -> None:
    Glacial.start()
