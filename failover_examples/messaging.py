"""Telling an actor that may have halted, as the examples' actors often must.

Coyote drops an event sent to a halted actor; Pykka raises `ActorDeadError`. In a failover
scenario instances come and go, so the examples use `tell` below where the receiver may be
gone and missing the message is the correct outcome.
"""

from __future__ import annotations

from typing import Any

import pykka


def tell(ref: pykka.ActorRef[Any] | None, message: object) -> bool:
    """Send `message` if `ref` is a running actor; returns whether it was sent."""
    if ref is None:
        return False
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        return False
    return True
