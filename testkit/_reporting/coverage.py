"""`Coverage`: which states, transitions and events each FSM class and monitor went through.

It is an `Observer` that `explore` installs: during a run the runtime counts raw keys (class,
state before, state after, message type) into its `delivery_counts`, one update per delivery
(starts and monitor events are counted there too); names become text when the figures are
read or sent to another process, so that workers' coverage merges.
"""

from __future__ import annotations

from typing import Any

from fsm import Monitor
from testkit._engine.bug import state_text
from testkit._engine.observer import Observer
from testkit._reporting.coverage_page import coverage_html
from testkit._reporting.machine_coverage import MachineCoverage
from testkit._reporting.state_diagrams import coverage_dot, coverage_mermaid

_START = object()  # raw key marker: the initial state was entered


class Coverage(Observer):
    """Per FSM class and monitor: states visited, transitions and events handled, counted.

    report = testkit.explore(execute, iterations=100)
    print(report.coverage.summary())             # CoffeeMachine: 9/10 states, ...
    Path("cm.mmd").write_text(report.coverage.to_mermaid("CoffeeMachine"))
    """

    def __init__(self) -> None:
        self.delivery_counts: dict[tuple[Any, ...], list[Any]] = {}
        """Raw counts: the runtime's deliveries, and the starts and monitor events below."""
        self._classes: dict[type, str] = {}  # class -> "FSM"/"monitor", declared states read
        self._machines: dict[str, MachineCoverage] = {}

    # ---- the observer: cheap counting --------------------------------------------------------

    def started(self, step: int, mailbox: Any) -> None:
        actor = mailbox.actor
        cls = actor.__class__
        current = getattr(actor, "_sm_current", None)
        if current is None:
            return  # not an FSM
        if cls not in self._classes:
            self._declare(cls, "FSM", actor)
        self._count(cls, _START, current.state_name, None, True)

    def monitor_registered(self, step: int, monitor: Monitor) -> None:
        cls = monitor.__class__
        if cls not in self._classes:
            self._declare(cls, "monitor", monitor)
        current = monitor._sm_current
        if current is not None:
            self._count(cls, _START, current.state_name, None, True)

    def monitor_event(
        self, step: int, sender: Any, monitor: Monitor, event: Any, before: Any, after: Any
    ) -> None:
        if after is before or before is None:
            return
        self._count(
            monitor.__class__, before.state_name, after.state_name, event.__class__, after.notifies
        )

    def _count(self, cls: type, source: Any, target: Any, kind: Any, moved: bool) -> None:
        """One more of these, in the runtime's format (names by identity, kept alive)."""
        key = (cls, id(source), id(target), kind, moved)
        entry = self.delivery_counts.get(key)
        if entry is None:
            self.delivery_counts[key] = [1, source, target]
        else:
            entry[0] += 1

    def _declare(self, cls: type, kind: str, machine: Any) -> None:
        self._classes[cls] = kind
        entry = self._machine(cls.__name__, kind)
        for state in machine._sm_handlers:
            text = state_text(state)
            if text not in entry.declared:
                entry.declared.append(text)
        if entry.initial is None and machine._sm_current is not None:
            entry.initial = state_text(machine._sm_current.state_name)
        if kind == "monitor":
            entry.hot = sorted(state_text(s) for s in getattr(cls, "hot_states", ()))
            entry.cold = sorted(state_text(s) for s in getattr(cls, "cold_states", ()))

    def _machine(self, name: str, kind: str) -> MachineCoverage:
        entry = self._machines.get(name)
        if entry is None:
            entry = self._machines[name] = MachineCoverage(name, kind)
        return entry

    def _fold(self) -> None:
        """Turn the raw counts into text figures (done when read, and before pickling)."""
        # zeroed in place, never dropped: the runtime and its actors count into these lists
        for (cls, _, _, kind, moved), counted in self.delivery_counts.items():
            count, before, after = counted
            if not count:
                continue
            counted[0] = 0
            entry = self._machine(cls.__name__, self._classes.get(cls, "FSM"))
            if before is _START:
                entry.states[state_text(after)] += count
                continue
            source, target = state_text(before), state_text(after)
            entry.events[(source, kind.__qualname__)] += count
            if moved:
                entry.transitions[(source, target)] += count
                entry.states[target] += count

    def __getstate__(self) -> dict[str, Any]:
        self._fold()
        return {"machines": self._machines}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        self._machines = state["machines"]

    # ---- reading ---------------------------------------------------------------------------

    @property
    def machines(self) -> dict[str, MachineCoverage]:
        """Each FSM class's and monitor's coverage by class name, FSMs first then monitors."""
        self._fold()
        ordered = sorted(self._machines.values(), key=lambda m: (m.kind != "FSM", m.name))
        return {m.name: m for m in ordered}

    def __getitem__(self, name: str) -> MachineCoverage:
        machines = self.machines
        if name not in machines:
            known = ", ".join(machines) or "none (no FSM ran)"
            raise KeyError(f"no coverage for {name!r}; covered classes: {known}")
        return machines[name]

    def __bool__(self) -> bool:
        return bool(self.machines)

    def merge(self, other: Coverage) -> None:
        """Add `other`'s counts (another worker's, another run's) to these."""
        for name, machine in other.machines.items():
            self._machine(name, machine.kind).merge(machine)

    def summary(self) -> str:
        """One line per class, e.g. "CoffeeMachine: 9/10 states, 14 transitions, 31 events"."""
        return "\n".join(m.summary() for m in self.machines.values())

    def figure(self) -> str:
        """The one-line total `Report.summary()` prints."""
        machines = list(self.machines.values())
        total = sum(len(m.all_states()) for m in machines)
        visited = sum(len(m.visited) for m in machines)
        transitions = sum(len(m.transitions) for m in machines)
        events = sum(len(m.events) for m in machines)
        fsms = sum(m.kind == "FSM" for m in machines)
        monitors = len(machines) - fsms
        return (
            f"coverage: {visited}/{total} states, {transitions} transitions, {events} events "
            f"in {fsms} FSM class(es) and {monitors} monitor(s)"
        )

    def to_mermaid(self, name: str | None = None) -> str:
        """Mermaid `stateDiagram-v2` text: one diagram per class (or only `name`)."""
        machines = [self[name]] if name is not None else list(self.machines.values())
        return "\n\n".join(coverage_mermaid(m) for m in machines)

    def to_dot(self, name: str | None = None) -> str:
        """Graphviz DOT text: one cluster per class (or only `name`)."""
        machines = [self[name]] if name is not None else list(self.machines.values())
        return coverage_dot(machines)

    def to_html(self, title: str = "testkit coverage") -> str:
        """A self-contained HTML page: one state diagram per class, with the counts."""
        return coverage_html(list(self.machines.values()), title)

    def __repr__(self) -> str:
        return f"Coverage({', '.join(self.machines)})"
