"""The one exception type for mistakes in how an FSM is defined or driven."""

from __future__ import annotations


class FSMError(Exception):
    """A state machine was defined or used wrongly; the message says what and how to fix it."""
