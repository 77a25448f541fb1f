"""The actor bases the FSM suite runs against: a thread per actor, and the shared pool.

Module-level FSMs of the suite are written as mixins (`class Lock(FSM)`); `on(base, Lock)`
is the concrete actor class `class Lock(Lock, base)`, made once per base.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import pykka

import fsm

ACTOR_BASES: dict[str, type[pykka.Actor]] = {
    "threading": pykka.ThreadingActor,
    "pooled": fsm.PooledActor,
}

T = TypeVar("T")


@functools.cache
def _concrete(base: type[pykka.Actor], mixin: type[Any]) -> type[Any]:
    return type(mixin.__name__, (mixin, base), {"__module__": mixin.__module__})


def on(base: type[pykka.Actor], mixin: type[T]) -> type[T]:
    """`mixin` (an FSM without an actor base) as an actor class on `base`."""
    return _concrete(base, mixin)
