"""Errors of the tester itself (misuse, unreadable or diverging traces), not bugs it found."""

from __future__ import annotations


class TestkitError(Exception):
    """The tester was used in a way it cannot support; the message says what to change."""

    __test__ = False


class ReplayDivergence(TestkitError):
    """The program did something else than the trace recorded at some step."""

    __test__ = False

    def __init__(self, step: int, expected: str, got: str, cause: str = "") -> None:
        super().__init__(
            f"divergence at step {step}: expected {_cut(expected)}, got {_cut(got)}. "
            + (cause or UNCONTROLLED)
        )
        self.step = step
        self.expected = expected
        self.got = got
        self.cause = cause or UNCONTROLLED


UNCONTROLLED = (
    "The program no longer makes the same decisions as when the trace was recorded: it was "
    "edited since, or it uses randomness or time the tester does not control (a file, the "
    "environment, another process, a C extension's own clock or random source); the random "
    "module, uuid4, os.urandom, secrets, the clocks and the order sets print in are controlled "
    "and replay the same"
)
"""The likely cause of a divergence when nothing more precise is known."""


def _cut(text: str, limit: int = 500) -> str:
    """`text` for a message: a step of a huge trace line is not repeated whole."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


class QuiescentWait(AssertionError):
    """A test waited (for a probe message) while no actor could run: a deadlock."""

    __test__ = False
