"""`expect_logs` / `forbid_logs`: assert what a block logs (Akka's `EventFilter.intercept`).

Records are caught by a handler on the named logger (the root logger by default), so records
of every thread count: actors on their own threads, pooled actors, the tester's steps.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from types import TracebackType
from typing import Any

from fsm import _dispatch

DEFAULT_TIMEOUT = 3.0
"""Seconds `expect_logs` waits, on threads, for records still to come after the block."""

MAX_LISTED = 20
"""Records a failure lists at most."""

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class LogAssertion:
    """The context manager `expect_logs` and `forbid_logs` return; after the block,
    `records` holds the matching records and `logged` every record caught in the block."""

    def __init__(
        self,
        method: str,
        level: str | int,
        logger: str | logging.Logger | None,
        message: str | re.Pattern[str] | None,
        occurrences: int,
        timeout: float,
    ) -> None:
        self._method = method
        self.level = _level_number(method, level)
        self._logger = _logger_of(method, logger)
        self._message = _message_matcher(method, message)
        self.occurrences = _occurrences(method, occurrences)
        self.timeout = _timeout(method, timeout)
        self.records: list[logging.LogRecord] = []
        self.logged: list[logging.LogRecord] = []
        self._condition = threading.Condition()
        self._handler = _Catcher(self)
        self._saved_level: int | None = None

    def matches(self, record: logging.LogRecord) -> bool:
        """Whether `record` is one this assertion counts."""
        if record.levelno < self.level:
            return False
        name = self._logger.name
        if self._logger is not logging.root and not (
            record.name == name or record.name.startswith(name + ".")
        ):
            return False
        return self._message is None or bool(self._message.search(_text(record)))

    def catch(self, record: logging.LogRecord) -> None:
        with self._condition:
            self.logged.append(record)
            if self.matches(record):
                self.records.append(record)
                self._condition.notify_all()

    def __enter__(self) -> LogAssertion:
        target = self._logger
        if target.getEffectiveLevel() > self.level:  # else records at `level` are not made
            self._saved_level = target.level
            target.setLevel(self.level)
        target.addHandler(self._handler)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._settle()
        finally:
            self._logger.removeHandler(self._handler)
            if self._saved_level is not None:
                self._logger.setLevel(self._saved_level)
        if exc_type is None:
            self._check()

    def _settle(self) -> None:
        """Let records still on their way come in: under the tester, run the scheduler until
        the system is quiescent (or one record too many came); on threads, wait at most
        `timeout` for the expected count (with none expected, the whole `timeout`)."""
        dispatcher = _dispatch.current()
        if dispatcher.deterministic:
            dispatcher.run_until(lambda: len(self.records) > self.occurrences)
            return
        wanted = self.occurrences if self.occurrences > 0 else 1
        deadline = time.monotonic() + self.timeout
        with self._condition:
            while len(self.records) < wanted:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._condition.wait(left)

    def _check(self) -> None:
        with self._condition:
            count = len(self.records)
            logged = list(self.logged)
        if count == self.occurrences:
            return
        expected = "no record" if self.occurrences == 0 else f"exactly {self.occurrences} record(s)"
        waited = (
            ""
            if _dispatch.current().deterministic or not self.timeout
            else (f" (waited up to {self.timeout:g}s after the block)")
        )
        raise AssertionError(
            f"{self._method}: expected {expected} {self.describe()}, got {count}{waited}; "
            f"{_listing(logged)}"
        )

    def describe(self) -> str:
        """What this assertion matches, in words."""
        parts = [f"at {logging.getLevelName(self.level)} or above"]
        if self._logger is not logging.root:
            parts.append(f"from logger {self._logger.name!r}")
        if self._message is not None:
            parts.append(f"with a message matching {self._message.pattern!r}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"<{self._method} {self.describe()}>"


class _Catcher(logging.Handler):
    def __init__(self, owner: LogAssertion) -> None:
        super().__init__(logging.NOTSET)
        self.owner = owner

    def emit(self, record: logging.LogRecord) -> None:
        self.owner.catch(record)


def expect_logs(
    level: str | int = "WARNING",
    logger: str | logging.Logger | None = None,
    message: str | re.Pattern[str] | None = None,
    occurrences: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
) -> LogAssertion:
    """Assert that the block logs exactly `occurrences` records at `level` or above, from
    `logger` or its children (any logger if None), whose message contains `message` (a
    string) or matches it (a compiled regex). Records of every thread count.

    On threads, after the block it waits up to `timeout` seconds for the expected count
    (actors may still be handling what the block sent), then checks: a record that comes
    after that is not seen. Under `testkit.deterministic()` / `explore` it runs the scheduler
    until the system is quiescent instead, so the check is exact and never waits.

        with testkit.expect_logs("WARNING", message="unhandled event"):
            buncher.tell("junk")
    """
    return LogAssertion("expect_logs", level, logger, message, occurrences, timeout)


def forbid_logs(
    level: str | int = "WARNING",
    logger: str | logging.Logger | None = None,
    message: str | re.Pattern[str] | None = None,
    timeout: float = 0.0,
) -> LogAssertion:
    """Assert that the block logs no record at `level` or above matching `logger` and
    `message` (see `expect_logs`). On threads the check is made when the block ends (end it
    with an expectation that shows the actors are done), or `timeout` seconds later; under
    the tester once the system is quiescent.

        with testkit.forbid_logs("ERROR"):
            probe.send(server, Get(1)); probe.expect_msg(Value(1))
    """
    return LogAssertion("forbid_logs", level, logger, message, 0, timeout)


def _level_number(method: str, level: Any) -> int:
    if isinstance(level, bool):
        raise TypeError(f"{method}(level=...) needs a level name or number, got {level!r}")
    if isinstance(level, int):
        if level < 0:
            raise ValueError(f"{method}(level={level}) must be >= 0")
        return level
    if isinstance(level, str):
        number = logging.getLevelName(level.upper())
        if isinstance(number, int):
            return number
        raise ValueError(
            f"{method}(level={level!r}): unknown level name; use one of {', '.join(_LEVELS)} "
            "(any case) or a number"
        )
    raise TypeError(f"{method}(level=...) needs a level name or number, got {level!r}")


def _logger_of(method: str, logger: Any) -> logging.Logger:
    if logger is None:
        return logging.root
    if isinstance(logger, logging.Logger):
        return logger
    if isinstance(logger, str):
        return logging.getLogger(logger or None)
    raise TypeError(f"{method}(logger=...) needs a logger name or a logging.Logger, got {logger!r}")


def _message_matcher(method: str, message: Any) -> re.Pattern[str] | None:
    if message is None:
        return None
    if isinstance(message, re.Pattern):
        return message
    if isinstance(message, str):
        return re.compile(re.escape(message))
    raise TypeError(
        f"{method}(message=...) needs a substring or a compiled regex (re.compile), got {message!r}"
    )


def _occurrences(method: str, occurrences: Any) -> int:
    if isinstance(occurrences, bool) or not isinstance(occurrences, int):
        raise TypeError(f"{method}(occurrences=...) needs an int, got {occurrences!r}")
    if occurrences < 0:
        raise ValueError(f"{method}(occurrences={occurrences}) must be >= 0")
    return occurrences


def _timeout(method: str, timeout: Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{method}(timeout=...) needs seconds, got {timeout!r}")
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"{method}(timeout={timeout!r}) must be a number >= 0")
    return float(timeout)


def _text(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # arguments that do not fit the format: match what was written
        return str(record.msg)


def _listing(logged: list[logging.LogRecord]) -> str:
    if not logged:
        return "nothing was logged in the block"
    lines = [f"{r.levelname} {r.name}: {_text(r)}" for r in logged[:MAX_LISTED]]
    more = len(logged) - MAX_LISTED
    tail = f" ... and {more} more" if more > 0 else ""
    return f"logged in the block ({len(logged)}): {lines!r}{tail}"
