"""Test functions that end a run in unusual ways: `SystemExit`, `BaseException`s, waits that
never end, swallowed interrupts. For the tests of how a run ends (tests/test_testkit_endings.py).
"""

from __future__ import annotations

import gc
import multiprocessing
import sys
import threading
import weakref
from typing import Any

import pykka

from fsm import FSM, Event, State
from testkit import Runtime


class Raiser(FSM, pykka.ThreadingActor):
    """Raises what its argument names when it handles a message."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.start_with("ready", None)
        self.when("ready", self.ready)
        self.initialize()

    def ready(self, event: Event) -> State | None:
        self.fail()
        return self.stay()

    def fail(self) -> None:
        if self.how == "exit0":
            sys.exit(0)
        if self.how == "exit3":
            sys.exit(3)
        if self.how == "base":
            raise BaseException("a bare BaseException")
        if self.how == "generator-exit":
            raise GeneratorExit()
        if self.how == "keyboard":
            raise KeyboardInterrupt()
        if self.how == "key":
            lookup: dict[str, int] = {}
            lookup["missing"] += 1
        if self.how == "deep":
            _nested(3)


def _nested(depth: int) -> None:
    if depth == 0:
        raise ValueError("deep down")
    _nested(depth - 1)


def deep_error_in_handler(runtime: Runtime) -> None:
    Raiser.start("deep").tell("go")


def deep_error_in_test(runtime: Runtime) -> None:
    Raiser.start("none").tell("go")
    _nested(2)


def exit0_in_handler(runtime: Runtime) -> None:
    Raiser.start("exit0").tell("go")


def exit3_in_handler(runtime: Runtime) -> None:
    Raiser.start("exit3").tell("go")


def base_exception_in_handler(runtime: Runtime) -> None:
    Raiser.start("base").tell("go")


def generator_exit_in_handler(runtime: Runtime) -> None:
    Raiser.start("generator-exit").tell("go")


def keyboard_interrupt_in_handler(runtime: Runtime) -> None:
    Raiser.start("keyboard").tell("go")


def key_error_in_handler(runtime: Runtime) -> None:
    Raiser.start("key").tell("go")


def exit_in_test(runtime: Runtime) -> None:
    Raiser.start("none").tell("go")
    sys.exit(0)


def keyboard_interrupt_in_test(runtime: Runtime) -> None:
    Raiser.start("none").tell("go")
    raise KeyboardInterrupt


class Asker(pykka.ThreadingActor):
    """A plain Pykka actor whose method fails with a `BaseException`; asked, not told."""

    def explode(self) -> None:
        raise SystemExit("from a proxy call")


def exit_in_asked_plain_actor(runtime: Runtime) -> None:
    try:  # noqa: SIM105 - written as careless code is
        Asker.start().proxy().explode().get()
    except BaseException:  # what a careless test does; the tester still reports the bug
        pass


def event_wait_in_test(runtime: Runtime) -> None:
    """Blocks in C, where the tester cannot see (a `threading.Event` wait would be virtual
    under the tester, and a deadlock it reports)."""
    Raiser.start("none").tell("go")
    held = threading.Lock()
    held.acquire()
    held.acquire()  # nobody will ever release it


# ---- a Ctrl-C that user code tries to swallow -------------------------------------------


class _Swallower:
    """Its finalizer, a weakref callback and a bare `except BaseException` each eat any
    `KeyboardInterrupt` raised while they run, as careless code does."""

    def __del__(self) -> None:
        try:  # noqa: SIM105 - written as careless code is
            _spin(50)
        except BaseException:
            pass


class _Target:
    pass


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def _eat(_: Any) -> None:
    try:  # noqa: SIM105 - written as careless code is
        _spin(50)
    except BaseException:
        pass


class Busy(FSM, pykka.ThreadingActor):
    """Pings itself forever; each step makes garbage with finalizers and weakref callbacks,
    and runs a loop that swallows every `BaseException`."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("on", 0)
        self.when("on", self.on)
        self.initialize()

    def on(self, event: Event) -> State | None:
        keep = weakref.WeakSet([_Target()])  # its _remove callback runs as the target dies
        del keep
        target = _Target()
        weakref.ref(target, _eat)
        del target
        _Swallower()
        try:  # noqa: SIM105 - written as careless code is
            _spin(50_000)  # where most of the run's time goes
        except BaseException:  # a careless handler: eats KeyboardInterrupt too
            pass
        if event.data % 50 == 0:
            gc.collect()
        self.actor_ref.tell("again")
        return self.stay().using(event.data + 1)


def swallowing_system(runtime: Runtime) -> None:
    """Never ends by itself: every iteration runs to max_steps."""
    Busy.start().tell("go")


class Spinner(FSM, pykka.ThreadingActor):
    """Never returns from its handler."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("ready", None)
        self.when("ready", self.ready)
        self.initialize()

    def ready(self, event: Event) -> State | None:
        while True:
            _spin(10)


def spinning_handler(runtime: Runtime) -> None:
    Spinner.start().tell("go")


def spinning_in_workers(runtime: Runtime) -> None:
    """Quick in the process that started the run, stuck forever in a worker process: a
    long run spreads to workers (after its first quarter second), which then never return."""
    if multiprocessing.parent_process() is not None:
        Spinner.start().tell("go")


class Stubborn(FSM, pykka.ThreadingActor):
    """Eats the first interrupt raised into its handler, then never returns."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("ready", None)
        self.when("ready", self.ready)
        self.initialize()

    def ready(self, event: Event) -> State | None:
        try:
            while True:
                _spin(10)
        except BaseException:
            pass
        while True:
            _spin(10)


def swallow_once_then_spin(runtime: Runtime) -> None:
    Stubborn.start().tell("go")
