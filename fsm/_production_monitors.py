"""Monitors enabled in production (`fsm.enable_monitor`): checked under a lock on whichever
thread reports the event, failures logged rather than raised."""

from __future__ import annotations

import logging
import threading
from typing import Any, TypeVar

from fsm._monitor import Monitor, check_monitor_class, create_monitor

M = TypeVar("M", bound=Monitor)

_log = logging.getLogger("fsm.monitor")


class ProductionMonitors:
    """Monitors enabled in production: events are checked under a lock, failures logged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._enabled: dict[type[Monitor], Monitor] = {}

    def enable(self, monitor_cls: type[M]) -> M:
        monitor = create_monitor(monitor_cls)
        with self._lock:
            self._enabled[monitor_cls] = monitor
        return monitor

    def disable(self, monitor_cls: type[Monitor]) -> None:
        with self._lock:
            self._enabled.pop(check_monitor_class(monitor_cls), None)

    def dispatch(self, monitor_cls: type[Monitor], event: Any) -> None:
        if not self._enabled:
            return
        with self._lock:
            monitor = self._enabled.get(monitor_cls)
            if monitor is None:
                return
            try:
                monitor.handle(event)
            except Exception:
                _log.exception(
                    "monitor %s failed on %r in state %r",
                    monitor_cls.__name__,
                    event,
                    monitor.state_name,
                )
