"""`sometimes(condition, name)`: a situation the exploration must reach at least once.

An `assert` says what must hold in every run; `sometimes` says what must hold in some run
(Antithesis' `sometimes` assertions): "a machine crashed while brewing", "a write was lost
and retried". A green exploration where it never held tested less than it seems, so the
exploration fails then. Each name keeps the meaning of the place that first used it.
"""

from __future__ import annotations

from types import FrameType

from testkit._engine.bug import Abort
from testkit._engine.watchdog import is_users
from testkit._errors import TestkitError


class SometimesBook:
    """The places each `sometimes` name was used from, over one exploration (or one worker's
    share of it): a name used from two places means two things."""

    def __init__(self) -> None:
        self.sites: dict[str, str] = {}

    def check_site(self, name: str, frame: FrameType | None) -> None:
        """`name` is used at `frame`'s user code; an error if it was used elsewhere."""
        here = _place(frame)
        first = self.sites.setdefault(name, here)
        if first != here:
            raise Abort(
                error=TestkitError(
                    f"sometimes(..., {name!r}) is used in two places with another meaning: "
                    f"{first} and {here}; give each condition a name of its own"
                )
            )


_USERS: dict[str, bool] = {}


def _place(frame: FrameType | None) -> str:
    """`file:line` of the user's call (a helper's own line when it wraps the call)."""
    first = frame
    while frame is not None:
        filename = frame.f_code.co_filename
        users = _USERS.get(filename)
        if users is None:
            users = _USERS[filename] = is_users(filename)
        if users:
            break
        frame = frame.f_back
    frame = frame or first
    if frame is None:
        return "an unknown place"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"
