"""`Terminated`: what a watching probe is told when a watched actor has stopped."""

from __future__ import annotations

from typing import Any

import pykka


class Terminated:
    """Told to a probe that `watch`es `ref` once that actor has stopped (Akka's `Terminated`).

    Equal for the same actor whichever `ActorRef` object names it:

        probe.watch(ref); ref.stop(); probe.expect_msg(testkit.Terminated(ref))
    """

    __match_args__ = ("ref",)
    __slots__ = ("ref",)

    def __init__(self, ref: pykka.ActorRef[Any]) -> None:
        if not isinstance(ref, pykka.ActorRef):
            raise TypeError(f"Terminated(ref) needs a pykka.ActorRef, got {ref!r}")
        self.ref = ref

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Terminated):
            return NotImplemented
        return self.ref is other.ref or self.ref.actor_urn == other.ref.actor_urn

    def __hash__(self) -> int:
        return hash(("Terminated", self.ref.actor_urn))

    def __repr__(self) -> str:
        return f"Terminated({self.ref.actor_class.__name__} {self.ref.actor_urn})"
