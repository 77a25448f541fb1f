"""Death watch: callbacks that run once when an actor has stopped, however it stopped.

The FSM's stop paths, the end of a Pykka actor thread and the tester's teardown report here
(`stopped`), so `TestProbe.watch` hears of self-stops, `ref.stop()` and failures alike.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import pykka

Callback = Callable[[], None]

_lock = threading.Lock()
_watchers: weakref.WeakKeyDictionary[pykka.Actor, list[Callback]] = weakref.WeakKeyDictionary()
_ended: weakref.WeakSet[pykka.Actor] = weakref.WeakSet()


def actor_of(ref: pykka.ActorRef[Any]) -> pykka.Actor | None:
    """The actor object behind `ref` (pykka 4.0 keeps it, later releases a weak reference)."""
    weak = getattr(ref, "_actor_weakref", None)
    if weak is not None:
        actor: pykka.Actor | None = weak()
        return actor
    return getattr(ref, "_actor", None)


def watch(ref: pykka.ActorRef[Any], callback: Callback) -> None:
    """Call `callback()` once when the actor behind `ref` has stopped; now if it already has."""
    actor = actor_of(ref)
    with _lock:
        fire_now = actor is None or actor in _ended
        if not fire_now:
            assert actor is not None
            newly_hooked = _hook_thread_end(actor)
            # A plain actor that stopped before it was hooked may be past its hook: report now.
            fire_now = ref.actor_stopped.is_set() and newly_hooked
            if not fire_now:
                _watchers.setdefault(actor, []).append(callback)
    if fire_now:
        callback()


def unwatch(ref: pykka.ActorRef[Any], callback: Callback) -> None:
    """Forget `callback` for `ref`'s actor (nothing happens if it already ran)."""
    actor = actor_of(ref)
    with _lock:
        callbacks = _watchers.get(actor) if actor is not None else None
        if callbacks and callback in callbacks:
            callbacks.remove(callback)


def stopped(actor: Any) -> None:
    """`actor` has stopped: run its watchers' callbacks (only the first report counts)."""
    with _lock:
        if actor in _ended:
            return
        _ended.add(actor)
        callbacks = _watchers.pop(actor, [])
    for callback in callbacks:
        callback()


def _hook_thread_end(actor: pykka.Actor) -> bool:
    """Make a plain Pykka actor report from the end of its thread's loop (after `on_stop` /
    `on_failure` ran). FSMs report by themselves. Returns True if the hook is new."""
    if getattr(actor, "_deathwatch_reports", False):
        return False
    original = actor._actor_loop_teardown

    def teardown() -> None:
        try:
            original()
        finally:
            stopped(actor)

    actor._actor_loop_teardown = teardown  # type: ignore[method-assign]
    actor._deathwatch_reports = True  # type: ignore[attr-defined]
    return True
