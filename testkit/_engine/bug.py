"""What the tester reports: `Bug`, and `Abort`, which unwinds the program under test."""

from __future__ import annotations

import enum
from typing import Any


class Bug:
    """A bug found in one iteration: what went wrong, where, and (later) its trace."""

    def __init__(self, kind: str, message: str, actor: str, state: Any = None) -> None:
        self.kind = kind
        self.message = message
        self.actor = actor
        self.state = state
        self.step = 0
        self.trace: Any = None  # a testkit.Trace once the explorer has built it
        self.original_trace: Any = None
        """The trace as found; `trace` is its shrunk form when `explore` shrank it."""
        self.events: dict[str, list[str]] = {}
        self.logs: dict[str, list[str]] = {}
        self.count = 1
        """How many iterations hit this bug (see `explore(stop_at_first_bug=False)`)."""
        self.traceback = ""
        """For a bug an exception raised: its traceback as text (the failing handler's or
        test function's frames first, the tester's left out); else ''."""

    @property
    def signature(self) -> tuple[str, str, str]:
        """What makes two bugs the same: kind, actor class (`Robot`, not `Robot#2`), message."""
        return (self.kind, self.actor.split("#", 1)[0], self.message)

    def signature_text(self) -> str:
        kind, actor, message = self.signature
        return f"{kind} bug in {actor}: {message}"

    def __repr__(self) -> str:
        return f"Bug({self.kind!r}, {self.message!r}, actor={self.actor!r})"

    def headline(self) -> str:
        where = self.actor + (
            f" in state {state_text(self.state)}" if self.state is not None else ""
        )
        return f"{self.kind} bug in {where} at step {self.step}: {self.message}"


class Abort(BaseException):
    """Unwinds the program under test: a bug, the step bound, or misuse of the tester.

    A BaseException so that `except Exception` in user code cannot swallow it.
    """

    def __init__(
        self, bug: Bug | None = None, error: Exception | None = None, bound: bool = False
    ) -> None:
        super().__init__(bug or error or "step bound reached")
        self.bug = bug
        self.error = error
        self.bound = bound


def state_text(state: Any) -> str:
    """A state name for reports: `MachineState.READY` for an enum member, else its repr."""
    if isinstance(state, enum.Enum):
        return f"{type(state).__name__}.{state.name}"
    return repr(state)


def actor_text(operation: Any) -> str:
    """`Stuck#1 in state 'ready'`: the actor an operation (a mailbox) runs, and its state."""
    state = getattr(
        getattr(getattr(operation, "actor", None), "_sm_current", None), "state_name", None
    )
    name = getattr(operation, "id", "an actor")
    return f"{name} in state {state_text(state)}" if state is not None else str(name)


def exception_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
