"""`Monitor`: a specification written with the FSM DSL that observes events synchronously.

A monitor never sends messages or sets timers; FSMs (or any code) report events to it with
`self.monitor(MonitorClass, event)` / `fsm.monitor(MonitorClass, event)`. Under the tester a
failed `assert` in a monitor is a safety bug, and a monitor left in one of its `hot_states`
is a liveness bug. In production monitors cost nothing unless enabled with `enable_monitor`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar, TypeVar

from fsm._errors import FSMError
from fsm._machine import StateMachine

M = TypeVar("M", bound="Monitor")


class Monitor(StateMachine):
    """A synchronous state machine that checks a property of the system.

    Declare states in `__init__` like an FSM (`start_with`, `when`, ... `initialize()`), and
    mark liveness with the class attributes `hot_states` (the system must leave them
    eventually) and `cold_states` (progress was made).
    """

    hot_states: ClassVar[Collection[Any]] = frozenset()
    cold_states: ClassVar[Collection[Any]] = frozenset()

    def __init__(self) -> None:
        self._sm_setup()

    def handle(self, event: Any) -> None:
        """Process one observed event; raises whatever the handler raises."""
        if not self._sm_initialized:
            self.initialize()
        if self._sm_terminated:
            return
        nxt = self._sm_process(event)
        self._sm_apply(nxt)

    @property
    def is_hot(self) -> bool:
        """Whether the monitor is in one of its hot states."""
        return self._sm_current is not None and self._sm_current.state_name in self.hot_states

    @property
    def is_cold(self) -> bool:
        """Whether the monitor is in one of its cold states."""
        return self._sm_current is not None and self._sm_current.state_name in self.cold_states

    def _sm_arm_timeout(self, seconds: float) -> None:
        raise FSMError(
            f"{type(self).__name__}: monitors have no timers, so state {self.state_name!r} "
            "cannot have a state timeout; remove state_timeout/for_max from the monitor"
        )


def check_monitor_class(monitor_cls: Any) -> type[Monitor]:
    """Return `monitor_cls` if it is a Monitor subclass, else raise a clear FSMError."""
    if not (isinstance(monitor_cls, type) and issubclass(monitor_cls, Monitor)):
        raise FSMError(
            f"expected a Monitor subclass (class X(fsm.Monitor)), got {monitor_cls!r}; "
            "pass the class itself, not an instance"
        )
    return monitor_cls


def create_monitor(monitor_cls: type[M]) -> M:
    """Instantiate and initialize a monitor, with a clear error if that fails."""
    check_monitor_class(monitor_cls)
    monitor = monitor_cls()
    if not hasattr(monitor, "_sm_handlers"):
        raise FSMError(
            f"{monitor_cls.__name__}.__init__ did not call super().__init__(); call it first"
        )
    if not monitor._sm_initialized:
        monitor.initialize()
    return monitor
