"""What the tester reports: `Bug`, and `Abort`, which unwinds the program under test."""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from typing import Any

from testkit._engine.frames import is_users
from testkit._engine.tracebacks import traceback_text
from testkit._errors import TestkitError

Explainer = Callable[["Bug", Any, float], Any]
_explainers: list[Explainer] = []
"""The explainer `Bug.explain` calls: registered from above (`testkit._explaining`, which
`testkit` imports), as the engine may not import the rooms above it."""


def register_explainer(explainer: Explainer) -> None:
    """Make `explainer(bug, test, time_budget)` what `Bug.explain` calls (the last one wins)."""
    _explainers.append(explainer)


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
        self.location: str | None = None
        """`file:line` where the exception of a safety or exception bug was raised (the
        innermost frame of the program under test, see `raised_at`); None for liveness
        and deadlock bugs, which no line raises."""
        self.exception_type = ""
        """The name of that exception's class, with `location`."""

    @property
    def signature(self) -> tuple[str, ...]:
        """What makes two bugs the same: kind, actor class (`Robot`, not `Robot#2`), then
        where an exception was raised, its type and `file:line` (so one race whose
        message names another id each time is one bug); else the message (liveness,
        deadlock)."""
        actor_class = self.actor.split("#", 1)[0]
        if self.location is not None:
            return (self.kind, actor_class, self.exception_type, self.location)
        return (self.kind, actor_class, self.message)

    def signature_text(self) -> str:
        """The signature for a person: the kind, the actor class and this bug's message,
        and where it was raised."""
        where = f" (raised at {short_path(self.location)})" if self.location else ""
        return f"{self.kind} bug in {self.actor.split('#', 1)[0]}: {self.message}{where}"

    def raised(self, exc: BaseException) -> Bug:
        """This bug, with `exc`'s traceback and where it was raised (for its signature);
        returns it."""
        self.traceback = traceback_text(exc)
        self.location = raised_at(exc)
        self.exception_type = type(exc).__name__
        return self

    def __repr__(self) -> str:
        return f"Bug({self.kind!r}, {self.message!r}, actor={self.actor!r})"

    def explain(self, test: Any, time_budget: float = 30.0) -> Any:
        """Why this bug happens: a `testkit.Explanation` of its trace, with `.slice` (the
        steps the failing step depends on), `.decisive` (the smallest nearby change that
        makes the run pass), `.passing` (that passing trace) and `.text` (in words).

            report = testkit.explore(execute, seed=3)
            print(report.bug.explain(execute).text)

        Replays the trace, then tries changes near the failing step for at most
        `time_budget` seconds; when the budget runs out the explanation says what it could
        not decide. `TestkitError` if the trace is not one of `test` or does not fail.
        """
        if not _explainers:
            raise TestkitError("no explainer is registered: import testkit first")
        return _explainers[-1](self, test, time_budget)

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


def raised_at(exc: BaseException) -> str | None:
    """`file:line` of the frame that raised `exc`: the innermost frame of the program under
    test (not of the tester, fsm, pykka or the standard library: a `KeyError` from a dict
    lookup in a handler is the handler's line), else the innermost frame; None if `exc`
    has no traceback."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    for filename, line in reversed(frames):
        if is_users(filename):
            return f"{filename}:{line}"
    return f"{frames[-1][0]}:{frames[-1][1]}" if frames else None


def short_path(location: str) -> str:
    """`file:line` with the file relative to the working directory when it is inside it."""
    try:
        relative = os.path.relpath(location)
    except ValueError:  # another drive (Windows)
        return location
    return location if relative.startswith("..") else relative


def exception_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
