"""Coverage as text diagrams: Mermaid `stateDiagram-v2` and Graphviz DOT."""

from __future__ import annotations

import re
from collections.abc import Sequence

from testkit._reporting.machine_coverage import MachineCoverage

_ENUM_TEXT = re.compile(r"^[A-Za-z_][\w.]*\.([A-Za-z_]\w*)$")


def short_label(state: str) -> str:
    """A state as a diagram shows it: `READY` for `MachineState.READY`, `on` for `'on'`."""
    match = _ENUM_TEXT.match(state)
    if match:
        return match.group(1)
    if len(state) >= 2 and state[0] == state[-1] and state[0] in "'\"":
        return state[1:-1]
    return state


def _mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid label (its own entity codes for what it would parse)."""
    for char, code in (("#", "#35;"), (";", "#59;"), ('"', "#quot;"), (":", "#58;")):
        text = text.replace(char, code)
    return text.replace("<", "#lt;").replace(">", "#gt;")


def coverage_mermaid(machine: MachineCoverage) -> str:
    """One `stateDiagram-v2`: visited states with entry counts, transitions with counts,
    never-reached declared states greyed and dashed."""
    states = machine.all_states()
    ids = {state: f"s{index}" for index, state in enumerate(states)}
    handled = {state for state, _ in machine.events}
    lines = [f"%% {machine.kind} {machine.name}: {machine.summary()}", "stateDiagram-v2"]
    for state in states:
        label = _mermaid_text(short_label(state))
        visits = machine.states[state]
        note = f" ({visits}x)" if visits else " (never reached)"
        lines.append(f'    state "{label}{note}" as {ids[state]}')
    if machine.initial in ids:
        lines.append(f"    [*] --> {ids[machine.initial]}")
    for (source, target), count in sorted(machine.transitions.items()):
        if source in ids and target in ids:
            lines.append(f"    {ids[source]} --> {ids[target]}: {count}x")
    lines.append(
        "    classDef unreached fill:#eeeeee,stroke:#999999,stroke-dasharray:4 4,color:#777777"
    )
    lines.append("    classDef idle fill:#fff4e0,stroke:#c77700,stroke-dasharray:2 2")
    lines.append("    classDef hot fill:#fde2e2,stroke:#c53030")
    lines.append("    classDef cold fill:#e0eefc,stroke:#2b6cb0")
    for state in states:
        if not machine.states[state]:
            lines.append(f"    class {ids[state]} unreached")
        elif state not in handled:
            lines.append(f"    class {ids[state]} idle")
        elif state in machine.hot:
            lines.append(f"    class {ids[state]} hot")
        elif state in machine.cold:
            lines.append(f"    class {ids[state]} cold")
    return "\n".join(lines)


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def coverage_dot(machines: Sequence[MachineCoverage]) -> str:
    """One `digraph` with a cluster per class: counts on nodes and edges, never-reached
    states dashed grey, states where no event was handled dashed orange."""
    lines = [
        "digraph coverage {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor="#e8f1fb", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for number, machine in enumerate(machines):
        prefix = f"m{number}_"
        handled = {state for state, _ in machine.events}
        lines.append(f"  subgraph cluster_{number} {{")
        lines.append(f'    label="{_dot_text(machine.kind + " " + machine.summary())}";')
        ids = {state: f"{prefix}s{index}" for index, state in enumerate(machine.all_states())}
        for state, node in ids.items():
            visits = machine.states[state]
            label = _dot_text(short_label(state))
            if not visits:
                style = ', style="rounded,dashed", color="#999999", fontcolor="#777777"'
                lines.append(f'    {node} [label="{label}\\nnever reached"{style}];')
                continue
            extra = ""
            if state not in handled:
                extra = ', style="rounded,filled,dashed", color="#c77700"'
            elif state in machine.hot:
                extra = ', fillcolor="#fde2e2", color="#c53030"'
            lines.append(f'    {node} [label="{label}\\n{visits}x"{extra}];')
        if machine.initial in ids:
            lines.append(f'    {prefix}start [shape=point, label=""];')
            lines.append(f"    {prefix}start -> {ids[machine.initial]};")
        for (source, target), count in sorted(machine.transitions.items()):
            if source in ids and target in ids:
                lines.append(f'    {ids[source]} -> {ids[target]} [label="{count}x"];')
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)
