"""`LoggingFSM`: an FSM that keeps a rolling event log and traces itself at DEBUG."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, ClassVar

from fsm._actor import FSM
from fsm._messages import LogEntry


class LoggingFSM(FSM):
    """Use as `class X(LoggingFSM, pykka.ThreadingActor)`; set `log_depth` to keep a log."""

    log_depth: ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._fsm_event_log: deque[LogEntry] = deque(maxlen=max(0, self.log_depth))
        super().__init__(*args, **kwargs)
        self._sm_tracing = True

    def get_log(self) -> list[LogEntry]:
        """The last `log_depth` events, oldest first."""
        return list(self._fsm_event_log)

    def _sm_on_event(self, message: Any) -> None:
        current = self._sm_current_state()
        if self.log_depth > 0:
            self._fsm_event_log.append(LogEntry(current.state_name, current.state_data, message))
        if self._sm_log.isEnabledFor(logging.DEBUG):
            self._sm_log.debug("processing %r in state %r", message, current.state_name)

    def _sm_after_transition(self, from_state: Any, to_state: Any) -> None:
        if self._sm_log.isEnabledFor(logging.DEBUG):
            self._sm_log.debug("transition %r -> %r", from_state, to_state)
        super()._sm_after_transition(from_state, to_state)

    def _fsm_trace_timer(
        self, action: str, name: str, msg: Any, seconds: float | None, repeat: bool
    ) -> None:
        if not self._sm_log.isEnabledFor(logging.DEBUG):
            return
        if action == "set":
            kind = "repeating" if repeat else "single-shot"
            self._sm_log.debug("setting %s timer %r: %r after %ss", kind, name, msg, seconds)
        else:
            self._sm_log.debug("cancelling timer %r", name)
