"""Envelopes that say who sent them, and the probe inbox that fills that in."""

from __future__ import annotations

import queue
from typing import Any

from pykka._envelope import Envelope

from fsm import _senders


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
    """A probe's mailbox: a plain queue that notes which actor told each message."""

    def put(self, item: Envelope[Any], block: bool = True, timeout: float | None = None) -> None:
        if type(item) is Envelope:
            item = SentEnvelope(item.message, item.reply_to, teller=_senders.current_sender())
        super().put(item, block, timeout)
