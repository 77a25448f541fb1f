"""Envelopes that say who sent them, and the probe inbox that fills that in."""

from __future__ import annotations

import queue
from typing import Any

from pykka._envelope import Envelope

from fsm import _dispatch, _senders


class SentEnvelope(Envelope[Any]):
    """A Pykka envelope with the sender: `sender` when stated (a probe's `send`, `forward`,
    a reply, `Terminated`), `teller` when the actor that told it is known."""

    __slots__ = ("sender", "teller")

    def __init__(
        self,
        message: Any,
        reply_to: Any = None,
        sender: Any = None,
        teller: Any = None,
    ) -> None:
        super().__init__(message, reply_to=reply_to)
        self.sender = sender
        self.teller = teller


class ProbeInbox(queue.Queue[Envelope[Any]]):
    """A probe's mailbox: a plain queue that notes which actor told each message, and tells
    an ask's future that only the test function answers it (so that a deadlock through the
    test function can be named)."""

    id = "TestProbe"
    answered_by_test = True
    waiter = None
    owner_ref: Any = None  # the probe's ActorRef

    def put(self, item: Envelope[Any], block: bool = True, timeout: float | None = None) -> None:
        reply_to: Any = item.reply_to
        if reply_to is not None and hasattr(reply_to, "owner"):
            reply_to.owner = self
            reply_to.request = item.message
        if type(item) is Envelope:
            item = SentEnvelope(item.message, item.reply_to, teller=_senders.current_sender())
        observe = getattr(_dispatch.current(), "probe_put", None)
        if observe is not None:  # FSMTestKit records it, and may answer an ask
            observe(self, item)
        super().put(item, block, timeout)
