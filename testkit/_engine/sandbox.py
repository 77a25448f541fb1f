"""What surrounds a systematic test run: virtual time, and guards against escaping control.

While the sandbox is active, `time.time()`, `time.monotonic()` and `datetime.now()` read the
runtime's virtual clock (through freezegun), the `random` module, `uuid.uuid4()`, `secrets` and
`os.urandom` draw from the iteration's seed (`entropy`), `time.sleep` and waits on
`threading` conditions (events, queues, futures) are virtual (`blocking`), starting a thread
from a handler is an error, a new Pykka proxy introspects its actor's class once
(`fsm._proxy_cache`), and a plain `pykka.ThreadingActor` started during a test gets its inbox,
futures and loop from the runtime (as an FSM does through its mixin), not a thread of its own.
"""

from __future__ import annotations

import datetime
import gc
import itertools
import sys
import threading
import time
import uuid
from types import TracebackType
from typing import Any

import pykka
import pykka._actor

from fsm import _dispatch, _proxy_cache
from testkit._engine import blocking
from testkit._engine.bug import actor_text
from testkit._engine.entropy import Sources
from testkit._engine.test_body import CONTROLLED_THREADS
from testkit._engine.watchdog import DEFAULT_WATCHDOG, Watchdog, user_frame
from testkit._errors import TestkitError

EPOCH = datetime.datetime(2026, 1, 1, 0, 0, 0)
"""Virtual time zero of every iteration (naive, UTC)."""


_MOMENTS_KEPT = 4096
"""How many virtual instants `Sandbox.set_clock` keeps made (datetimes are immutable)."""

_REAL_TIME_MODULES = (
    "testkit._engine.sandbox",
    "testkit._engine.watchdog",
    # pytest's own timing (durations, report start/stop, the session's length) stays real
    "_pytest.timing",
    "fsm._timer_thread",
    # explore(workers=N) waits for its worker processes while it runs iterations itself
    "multiprocessing",
    # a dask worker runs the tester inside its own event loop, whose clocks must stay real
    "asyncio",
    "tornado",
    "distributed",
    "dask",
)


_perf_counter = time.perf_counter  # the real one (unless a freezer ran at import: see below)


def wall_clock() -> float:
    """Real elapsed-time seconds, even while time is frozen: the clock taken before the
    sandbox's freezer patched `time` (freezegun ignores this module anyway)."""
    return _perf_counter()


def _caller() -> str:
    """Who called into the tester: `Actor#1 in state 'x'` or `the test function`, and the
    user's own frame (file:line)."""
    runtime: Any = _dispatch.current()
    current = getattr(runtime, "_current", None)
    where = user_frame(sys._getframe(2))
    if current is None:
        return f"the test function, in {where}"
    return f"{actor_text(current)}, in {where}"


class _Urns:
    """Stands in for the `uuid` module in `pykka._actor`: an actor started under the tester
    gets the URN `urn:testkit:<id>` at its start, so the random one its `__init__` draws
    first (a system call and a UUID object) is replaced by a cheap unique placeholder."""

    __slots__ = ("_count",)

    def __init__(self) -> None:
        self._count = itertools.count(1)

    def restart(self) -> None:
        """Number placeholders from 1 again: each iteration (and its replay) names the same
        actors alike, also those the runtime never starts (a probe's)."""
        self._count = itertools.count(1)

    def uuid4(self) -> Any:
        if threading.get_ident() not in CONTROLLED_THREADS:
            return uuid.uuid4()
        return _Urn(f"urn:testkit:new-{next(self._count)}")


class _Urn:
    __slots__ = ("urn",)

    def __init__(self, urn: str) -> None:
        self.urn = urn


_saved_inbox = pykka.ThreadingActor.__dict__["_create_actor_inbox"]
_saved_future = pykka.ThreadingActor.__dict__["_create_future"]
_saved_loop = pykka.ThreadingActor.__dict__["_start_actor_loop"]
_saved_thread_start = threading.Thread.start


def _routed_inbox(cls: type) -> Any:
    dispatcher = _dispatch.current()
    if dispatcher.deterministic:
        return dispatcher.create_inbox(cls)
    return _saved_inbox.__func__()


def _routed_future(cls: type) -> Any:
    dispatcher = _dispatch.current()
    if dispatcher.deterministic:
        return dispatcher.create_future()
    return _saved_future.__func__()


def _routed_loop(actor: pykka.Actor) -> None:
    dispatcher = _dispatch.current()
    if dispatcher.deterministic:
        dispatcher.start_actor_loop(actor)
    else:
        _saved_loop(actor)


def _no_thread_start(thread: threading.Thread) -> None:
    # An actor's handler may not (its work must be steps); the test function may, and a
    # message such a thread sends is the runtime's foreign_thread error.
    runtime: Any = _dispatch.current()  # the tester's Runtime while a handler runs
    current = getattr(runtime, "_current", None)
    if current is not None and threading.get_ident() in CONTROLLED_THREADS:
        raise runtime.refuse(
            TestkitError(
                f"{_caller()} started a thread ({thread.name!r}) under the deterministic "
                "tester, which runs every actor on one scheduler and cannot control or replay "
                "what another thread does; let an actor do the work (tell it a message), or "
                "use an FSM timer for periodic work"
            )
        )
    _saved_thread_start(thread)


def _cheap_module_hash(api: Any) -> Any:
    """Let freezegun's `start` tell a module it has seen from its size, not its `dir()`; the
    function it had, to put back (None when this freezegun has no such function).

    On every start freezegun looks, in every module imported, for names bound to the real
    clock's functions, and keeps what it found per module, keyed by a hash of the module's
    sorted `dir()`: with a few hundred modules that is most of the cost of an `explore` of a
    short test (6-8 ms; under `pytest --testkit-explore`, once per test). The key here is the
    module and its number of names, which changes when that hash would (names come or go),
    except when as many names go as come between two starts."""
    original = getattr(api, "_get_module_attributes_hash", None)
    if original is None or not isinstance(getattr(api, "_GLOBAL_MODULES_CACHE", None), dict):
        return None

    def module_hash(module: Any) -> str:
        names = getattr(module, "__dict__", None)
        if type(names) is not dict:
            return str(original(module))
        return f"{id(module)}-{len(names)}"

    api._get_module_attributes_hash = module_hash
    return original


class Sandbox:
    """Context manager: virtual clock and guards for the duration of `explore`/`replay`."""

    def __init__(self, watchdog: float | None = DEFAULT_WATCHDOG) -> None:
        self.watchdog = Watchdog(watchdog)
        self._freezer: Any = None
        self._factory: Any = None
        self._blocking: Any = None
        self._saved_loop: Any = None
        self._saved_depth = 5
        self._freezegun_api: Any = None
        self.worker: Any = None  # the thread-based engine's test-body worker; no longer used
        self._saved_gc = gc.get_threshold()
        self._saved_uuid: Any = None
        self._urns = _Urns()
        self._cached_proxies = False
        self._sources: Sources | None = None
        self._moments: dict[float, datetime.datetime] = {}  # virtual seconds -> the clock's
        self._saved_hash: Any = None

    def __enter__(self) -> Sandbox:
        try:
            import freezegun
            import freezegun.api
        except ImportError:  # pragma: no cover - freezegun comes with the `test` extra
            raise TestkitError(
                "the deterministic tester needs freezegun for its virtual clock: "
                "pip install freezegun (or pip install 'pykka-fsm[test]')"
            ) from None
        self._freezer = freezegun.freeze_time(
            EPOCH,
            ignore=list(_REAL_TIME_MODULES),
        )
        # freezegun gives real time to calls made within N frames of an ignored module, and
        # `threading` is one: the test function runs on its own thread, two frames below
        # threading's. Looking at 2 frames still spots the callers that want real time.
        self._freezegun_api = freezegun.api
        self._saved_depth = freezegun.api.call_stack_inspection_limit
        freezegun.api.call_stack_inspection_limit = 2
        self._saved_hash = _cheap_module_hash(freezegun.api)
        try:
            self._factory = self._freezer.start()
        finally:
            if self._saved_hash is not None:
                freezegun.api._get_module_attributes_hash = self._saved_hash
        self._blocking = blocking.installed()
        self._blocking.__enter__()
        # A run allocates a tuple per step for its trace; collecting young objects every
        # 700 allocations costs a fifth of the scheduler's speed for no gain here.
        self._saved_gc = gc.get_threshold()
        gc.set_threshold(max(self._saved_gc[0], 20_000), *self._saved_gc[1:])
        self.watchdog.start()
        # Plain Pykka actors run under the runtime while a test runs (restored in __exit__).
        actor_class: Any = pykka.ThreadingActor
        actor_class._create_actor_inbox = classmethod(_routed_inbox)
        actor_class._create_future = classmethod(_routed_future)
        actor_class._start_actor_loop = _routed_loop
        threading.Thread.start = _no_thread_start  # type: ignore[method-assign,assignment]
        actor_module: Any = pykka._actor
        self._saved_uuid = getattr(actor_module, "uuid", None)
        if self._saved_uuid is uuid:
            actor_module.uuid = self._urns
        self._sources = Sources()  # random, uuid4, os.urandom: from the iteration's seed
        self._cached_proxies = not _proxy_cache.installed()
        if self._cached_proxies:  # a proxy's introspection, once per actor class
            _proxy_cache.install()
        CONTROLLED_THREADS.add(threading.get_ident())
        return self

    def new_iteration(self) -> None:
        """Virtual time zero and fresh actor placeholders: what every iteration starts from."""
        self.set_clock(0.0)
        self._urns.restart()

    def set_clock(self, seconds: float) -> None:
        """Move virtual time to `seconds` after EPOCH (what freezegun's `move_to` does to a
        naive datetime, without its parsing: the clock moves at every timer that fires)."""
        moment = self._moments.get(seconds)
        if moment is None:  # the same few timer deadlines come back in every iteration
            if len(self._moments) >= _MOMENTS_KEPT:
                self._moments.clear()
            moment = self._moments[seconds] = EPOCH + datetime.timedelta(seconds=seconds)
        self._factory.time_to_freeze = moment

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        CONTROLLED_THREADS.discard(threading.get_ident())
        if self._cached_proxies:
            _proxy_cache.uninstall()
        if self._sources is not None:
            self._sources.restore()
            self._sources = None
        if self._saved_uuid is uuid:
            actor_module: Any = pykka._actor
            actor_module.uuid = uuid
        actor_class: Any = pykka.ThreadingActor
        actor_class._create_actor_inbox = _saved_inbox
        actor_class._create_future = _saved_future
        actor_class._start_actor_loop = _saved_loop
        threading.Thread.start = _saved_thread_start  # type: ignore[method-assign]
        self.watchdog.stop()
        self._blocking.__exit__(None, None, None)
        gc.set_threshold(*self._saved_gc)
        self._freezer.stop()
        self._freezegun_api.call_stack_inspection_limit = self._saved_depth
