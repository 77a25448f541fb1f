"""The coverage HTML page: one state diagram (inline SVG, laid out here) per class."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from testkit._reporting.machine_coverage import MachineCoverage
from testkit._reporting.state_diagrams import short_label

_NODE_H = 44
_ROW_GAP = 36
_COL_GAP = 58
_CHAR_W = 7.8
_MARGIN = 40


def _layers(machine: MachineCoverage) -> list[list[str]]:
    """States in columns: breadth-first distance from the initial state over the
    transitions seen; states reached otherwise next, never-reached ones in a last column."""
    states = machine.all_states()
    nexts: dict[str, list[str]] = {s: [] for s in states}
    for source, target in machine.transitions:
        if source != target and source in nexts and target in nexts:
            nexts[source].append(target)
    depth: dict[str, int] = {}
    frontier = [machine.initial] if machine.initial in nexts else []
    for state in frontier:
        depth[state] = 0
    while frontier:
        following = []
        for state in frontier:
            for target in sorted(nexts[state], key=states.index):
                if target not in depth:
                    depth[target] = depth[state] + 1
                    following.append(target)
        frontier = following
    last = max(depth.values(), default=-1)
    for state in states:
        if state not in depth and machine.states[state]:
            last += 1
            depth[state] = last
    columns: list[list[str]] = [[] for _ in range(last + 1)]
    for state in states:
        if state in depth:
            columns[depth[state]].append(state)
    unreached = [s for s in states if s not in depth]
    if unreached:
        columns.append(unreached)
    return [c for c in columns if c]


def state_svg(machine: MachineCoverage) -> str:
    """The state diagram of one class as an SVG element."""
    columns = _layers(machine)
    handled = {state for state, _ in machine.events}
    width = {s: max(96.0, _CHAR_W * len(short_label(s)) + 36) for c in columns for s in c}
    pos: dict[str, tuple[float, float]] = {}
    x = float(_MARGIN + 30)
    tallest = max(len(c) for c in columns) if columns else 1
    height = tallest * (_NODE_H + _ROW_GAP) - _ROW_GAP + 2 * _MARGIN + 40
    for column in columns:
        col_w = max(width[s] for s in column)
        col_h = len(column) * (_NODE_H + _ROW_GAP) - _ROW_GAP
        y = (height - col_h) / 2
        for state in column:
            pos[state] = (x + (col_w - width[state]) / 2, y)
            y += _NODE_H + _ROW_GAP
        x += col_w + _COL_GAP
    total_w = x - _COL_GAP + _MARGIN
    parts: list[str] = []
    most = max(machine.transitions.values(), default=1)
    # edges first, so that boxes cover their ends
    for (source, target), count in sorted(machine.transitions.items()):
        if source not in pos or target not in pos:
            continue
        stroke = 1.2 + 2.3 * math.log1p(count) / math.log1p(most)
        parts.append(_edge(pos, width, source, target, count, stroke))
    if machine.initial in pos:
        ix, iy = pos[machine.initial]
        cy = iy + _NODE_H / 2
        parts.append(f'<circle cx="{ix - 26:.1f}" cy="{cy:.1f}" r="6" fill="#1a202c"/>')
        parts.append(
            f'<path d="M{ix - 20:.1f},{cy:.1f} L{ix - 2:.1f},{cy:.1f}" class="edge" '
            'marker-end="url(#arrow)"/>'
        )
    for state, (nx, ny) in pos.items():
        visits = machine.states[state]
        if not visits:
            cls, note = "node unreached", "never reached"
        elif state not in handled:
            cls, note = "node idle", f"{visits}x entered, no event handled"
        else:
            cls, note = "node", f"{visits}x entered"
        if visits and state in machine.hot:
            cls += " hot"
        elif visits and state in machine.cold:
            cls += " cold"
        label = html.escape(short_label(state))
        parts.append(
            f'<g class="{cls}" data-state="{html.escape(state)}">'
            f"<title>{html.escape(state)}: {note}</title>"
            f'<rect x="{nx:.1f}" y="{ny:.1f}" width="{width[state]:.1f}" height="{_NODE_H}" '
            'rx="10"/>'
            f'<text x="{nx + width[state] / 2:.1f}" y="{ny + 19:.1f}" class="name">{label}</text>'
            f'<text x="{nx + width[state] / 2:.1f}" y="{ny + 35:.1f}" class="count">'
            f"{html.escape(note if not visits else f'{visits}x')}</text></g>"
        )
    defs = (
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="11" '
        'markerHeight="11" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#4a5568"/></marker></defs>'
    )
    return (
        f'<svg class="states" xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {total_w:.0f} {height:.0f}">{defs}'
        + "".join(parts)
        + "</svg>"
    )


def _edge(
    pos: dict[str, tuple[float, float]],
    width: dict[str, float],
    source: str,
    target: str,
    count: int,
    stroke: float,
) -> str:
    sx, sy = pos[source]
    tx, ty = pos[target]
    sw, tw = width[source], width[target]
    if source == target:  # a loop above the box
        cx = sx + sw / 2
        path = (
            f"M{cx - 14:.1f},{sy:.1f} C{cx - 30:.1f},{sy - 34:.1f} {cx + 30:.1f},{sy - 34:.1f} "
            f"{cx + 14:.1f},{sy:.1f}"
        )
        lx, ly = cx, sy - 30
    elif tx > sx + sw:  # forward: right side to left side
        x1, y1 = sx + sw, sy + _NODE_H / 2 + 6
        x2, y2 = tx, ty + _NODE_H / 2 - 6 if ty >= sy else ty + _NODE_H / 2 + 6
        bend = max(40.0, (x2 - x1) / 2)
        path = (
            f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} "
            f"{x2:.1f},{y2:.1f}"
        )
        lx, ly = (x1 + x2) / 2, (y1 + y2) / 2 - 4
    else:  # backward or within a column: under the boxes
        x1, y1 = sx + sw / 2 - 10, sy + _NODE_H
        x2, y2 = tx + tw / 2 + 10, ty + _NODE_H
        drop = 34 + abs(x1 - x2) * 0.12
        low = max(y1, y2) + drop
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{low:.1f} {x2:.1f},{low:.1f} {x2:.1f},{y2:.1f}"
        lx, ly = (x1 + x2) / 2, low - drop * 0.25
    title = f"{html.escape(source)} → {html.escape(target)}: {count}x"
    return (
        f'<g class="transition"><title>{title}</title>'
        f'<path d="{path}" class="edge" style="stroke-width:{stroke:.2f}" '
        'marker-end="url(#arrow)"/>'
        f'<text x="{lx:.1f}" y="{ly:.1f}" class="edge-label">{count}x</text></g>'
    )


_CSS = """
body { font: 15px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif;
  color: #1a202c; margin: 0; background: #f7f8fa; }
header { background: #1f2a44; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header p { margin: 0; color: #cbd5e0; }
main { padding: 12px 32px 40px; }
section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; margin: 18px 0;
  padding: 14px 20px; }
section h2 { font-size: 18px; margin: 0 0 2px; }
section h2 .kind { font-weight: 400; color: #718096; font-size: 14px; margin-left: 6px; }
.figure { color: #4a5568; margin: 0 0 8px; }
.scroll { overflow-x: auto; }
.legend { display: flex; gap: 18px; flex-wrap: wrap; color: #4a5568; font-size: 13px; }
.legend span::before { content: ""; display: inline-block; width: 14px; height: 12px;
  margin-right: 6px; vertical-align: -1px; border-radius: 3px; border: 1.5px solid #2b6cb0;
  background: #e8f1fb; }
.legend .l-unreached::before { border: 1.5px dashed #a0aec0; background: #f4f4f5; }
.legend .l-idle::before { border: 1.5px dashed #c77700; background: #fff4e0; }
.legend .l-hot::before { border-color: #c53030; background: #fde2e2; }
.legend .l-cold::before { border-color: #2b6cb0; background: #dbeafe; }
svg.states { font-family: inherit; }
.node rect { fill: #e8f1fb; stroke: #2b6cb0; stroke-width: 1.5; }
.node.hot rect { fill: #fde2e2; stroke: #c53030; }
.node.cold rect { fill: #dbeafe; }
.node.idle rect { fill: #fff4e0; stroke: #c77700; stroke-dasharray: 5 3; }
.node.unreached rect { fill: #f4f4f5; stroke: #a0aec0; stroke-dasharray: 5 4; }
.node text { text-anchor: middle; }
.node .name { font-size: 13.5px; font-weight: 600; fill: #1a202c; }
.node .count { font-size: 11.5px; fill: #4a5568; }
.node.unreached .name { fill: #718096; }
.node.unreached .count { fill: #c53030; font-style: italic; }
.edge { fill: none; stroke: #4a5568; }
.edge-label { font-size: 11.5px; fill: #2d3748; text-anchor: middle; paint-order: stroke;
  stroke: #fff; stroke-width: 4px; }
details { margin-top: 6px; }
summary { cursor: pointer; color: #2b6cb0; }
table { border-collapse: collapse; margin: 8px 24px 8px 0; font-size: 13px; display: inline-table;
  vertical-align: top; }
th, td { text-align: left; padding: 3px 10px; border-bottom: 1px solid #edf2f7; }
th { background: #f7fafc; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.zero td { color: #c53030; }
"""


def _tables(machine: MachineCoverage) -> str:
    rows = "".join(
        f'<tr class="{"zero" if not machine.states[s] else ""}"><td>{html.escape(s)}</td>'
        f'<td class="n">{machine.states[s]}</td></tr>'
        for s in machine.all_states()
    )
    states = f"<table><tr><th>state</th><th>entered</th></tr>{rows}</table>"
    rows = "".join(
        f'<tr><td>{html.escape(a)} → {html.escape(b)}</td><td class="n">{n}</td></tr>'
        for (a, b), n in sorted(machine.transitions.items())
    )
    transitions = f"<table><tr><th>transition</th><th>count</th></tr>{rows}</table>"
    rows = "".join(
        f'<tr><td>{html.escape(s)}</td><td>{html.escape(t)}</td><td class="n">{n}</td></tr>'
        for (s, t), n in sorted(machine.events.items())
    )
    events = f"<table><tr><th>state</th><th>message</th><th>handled</th></tr>{rows}</table>"
    return f"<details><summary>counts</summary>{states}{transitions}{events}</details>"


def coverage_html(machines: Sequence[MachineCoverage], title: str) -> str:
    """The whole page; no script, no external resource."""
    sections = []
    for machine in machines:
        sections.append(
            f'<section class="machine" id="{html.escape(machine.name)}">'
            f'<h2>{html.escape(machine.name)}<span class="kind">{machine.kind}</span></h2>'
            f'<p class="figure">{html.escape(machine.summary())}'
            + (
                f" — never reached: {html.escape(', '.join(map(short_label, machine.unreached)))}"
                if machine.unreached
                else ""
            )
            + f'</p><div class="scroll">{state_svg(machine)}</div>{_tables(machine)}</section>'
        )
    if not sections:
        sections.append("<section><p>No FSM class or monitor ran.</p></section>")
    total = sum(len(m.visited) for m in machines), sum(len(m.all_states()) for m in machines)
    legend = (
        '<p class="legend"><span>entered (count)</span><span class="l-idle">entered, no event '
        'handled</span><span class="l-unreached">declared, never reached</span>'
        '<span class="l-hot">hot (monitor)</span><span class="l-cold">cold (monitor)</span>'
        "<span>edges: transitions, thicker = more often</span></p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{total[0]}/{total[1]} states entered in "
        f"{len(machines)} class(es)</p></header><main>{legend}{''.join(sections)}</main>"
        "</body></html>\n"
    )
