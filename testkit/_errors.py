"""Errors of the tester itself (misuse, unreadable or diverging traces), not bugs it found."""

from __future__ import annotations


class TestkitError(Exception):
    """The tester was used in a way it cannot support; the message says what to change."""

    __test__ = False


class ReplayDivergence(TestkitError):
    """The program did something else than the trace recorded at some step."""

    __test__ = False

    def __init__(self, step: int, expected: str, got: str) -> None:
        super().__init__(
            f"divergence at step {step}: expected {expected}, got {got}. The program no longer "
            "makes the same decisions as when the trace was recorded: it was edited, or it uses "
            "randomness or time the tester does not control (use fsm.random_bool/random_int and "
            "FSM timers instead of the random module and threads)"
        )
        self.step = step
        self.expected = expected
        self.got = got


class QuiescentWait(AssertionError):
    """A test waited (for a probe message) while no actor could run: a deadlock."""

    __test__ = False
