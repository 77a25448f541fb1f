"""The `ActorRef` of FSMs and pooled actors: Pykka's, and it reports dead letters.

A `tell` or `ask` to a stopped actor still raises (or fails the future with) Pykka's
`ActorDeadError`, as Pykka users expect, and the message is also handed to the actor's
dispatcher as a `DeadLetter` (production publishes it on `fsm.dead_letters` and logs it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

import pykka
from pykka import messages as pykka_messages
from pykka._envelope import Envelope

from fsm import _senders
from fsm._dead_letters import DeadLetter, is_suppressed

if TYPE_CHECKING:
    from fsm._dispatch import Dispatcher


if TYPE_CHECKING:
    _Ref = pykka.ActorRef[Any]
else:  # subscripted only for type checkers (every pykka 4.x release is supported)
    _Ref = pykka.ActorRef


class DeadLetterRef(_Ref):
    """Pykka's `ActorRef`, reporting messages to a stopped actor as dead letters."""

    def __init__(self, actor: pykka.Actor, dispatcher: Dispatcher) -> None:
        super().__init__(actor)
        self.dispatcher = dispatcher

    def tell(self, message: Any) -> None:
        """Pykka's `tell`; to a stopped actor also a dead letter before `ActorDeadError`."""
        if self.actor_stopped.is_set():
            self.dead_letter(message, _senders.current_sender())
            raise pykka.ActorDeadError(f"{self} not found")
        self.actor_inbox.put(Envelope(message))

    @overload
    def ask(
        self, message: Any, *, block: Literal[False], timeout: float | None = None
    ) -> pykka.Future[Any]: ...

    @overload
    def ask(self, message: Any, *, block: Literal[True], timeout: float | None = None) -> Any: ...

    @overload
    def ask(
        self, message: Any, *, block: bool = True, timeout: float | None = None
    ) -> Any | pykka.Future[Any]: ...

    def ask(
        self, message: Any, *, block: bool = True, timeout: float | None = None
    ) -> Any | pykka.Future[Any]:
        """Pykka's `ask`; to a stopped actor also a dead letter (the future fails as in
        Pykka, with `ActorDeadError`)."""
        if self.actor_stopped.is_set():
            self.dead_letter(message, _senders.current_sender())
        return super().ask(message, block=block, timeout=timeout)

    def dead_letter(self, message: Any, sender: Any) -> None:
        """Report `message`, which this actor will never handle, to its dispatcher."""
        if not is_suppressed(message):
            self.dispatcher.dead_letter(DeadLetter(message, sender, self))


def adopt(actor: pykka.Actor, dispatcher: Dispatcher) -> None:
    """Give `actor` (just made by `pykka.Actor.__init__`) a `DeadLetterRef`."""
    if not isinstance(actor._actor_ref, DeadLetterRef):
        actor._actor_ref = DeadLetterRef(actor, dispatcher)


def refuse(envelope: Envelope[Any], recipient: pykka.ActorRef[Any]) -> None:
    """`envelope` reached `recipient` after it stopped: a dead letter, and an ask's future
    fails with `ActorDeadError` as in Pykka (stopping a stopped actor answers None)."""
    message = envelope.message
    reply_to = envelope.reply_to
    if is_suppressed(message):  # no dead letter; an asker still gets its answer
        if reply_to is not None and isinstance(message, pykka_messages._ActorStop):
            reply_to.set(None)
        elif reply_to is not None:
            dead = pykka.ActorDeadError(f"{recipient} stopped before handling the message")
            reply_to.set_exception((pykka.ActorDeadError, dead, None))
        return
    sender = getattr(envelope, "sender", None) or getattr(envelope, "teller", None)
    sender = getattr(sender, "ref", sender)  # a TestProbe: its ref
    if isinstance(recipient, DeadLetterRef):
        recipient.dead_letter(message, sender)
    if reply_to is not None:
        dead = pykka.ActorDeadError(f"{recipient} stopped before handling the message")
        reply_to.set_exception((pykka.ActorDeadError, dead, None))


def drain(actor: pykka.Actor) -> None:
    """The actor has stopped: every message still in its mailbox is refused (`refuse`)."""
    inbox = actor.actor_inbox
    ref = actor.actor_ref
    while not inbox.empty():
        refuse(inbox.get(), ref)
