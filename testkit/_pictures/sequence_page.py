"""The sequence diagram as one self-contained HTML page: the rows as JSON, drawn as SVG by
an inline script (so that filtering actors and unfolding quiet stretches re-lay it out)."""

from __future__ import annotations

import html
import json
from typing import Any

from testkit._pictures.sequence import Diagram, fold_quiet

_CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial,
  sans-serif; color: #1a202c; background: #fff; }
#top { position: sticky; top: 0; z-index: 3; background: #1f2a44; color: #fff;
  padding: 10px 20px 8px; }
#top h1 { font-size: 17px; margin: 0; font-weight: 600; }
#top .sub { color: #cbd5e0; font-size: 13px; }
#outcome { margin: 6px 0 4px; font-size: 14px; }
#outcome.bug { color: #fed7d7; font-weight: 600; }
#outcome.note { color: #fefcbf; }
#traceback { margin: 2px 0 6px; font-size: 13px; color: #e2e8f0; }
#traceback summary { cursor: pointer; }
#traceback pre { margin: 4px 0 0; padding: 6px 10px; max-height: 40vh; overflow: auto;
  background: #111827; color: #f7fafc; border-radius: 4px; font: 12px/1.35 "DejaVu Sans Mono",
  Menlo, Consolas, monospace; white-space: pre; }
#controls { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; font-size: 13px;
  margin-top: 4px; }
#controls button { font: inherit; background: #e53e3e; color: #fff; border: 0;
  border-radius: 4px; padding: 3px 10px; cursor: pointer; }
#controls button.plain { background: #4a5568; }
#controls label { cursor: pointer; white-space: nowrap; color: #e2e8f0; }
#heads { position: sticky; z-index: 2; background: #f7f8fa; border-bottom: 1px solid #cbd5e0; }
svg text { font-family: inherit; }
.head rect { fill: #fff; stroke: #2b6cb0; stroke-width: 1.5; }
.head.test rect { fill: #2b6cb0; }
.head.test text { fill: #fff; }
.head.monitor rect { fill: #faf5ff; stroke: #805ad5; }
.head text { font-size: 13px; font-weight: 600; text-anchor: middle; fill: #1a202c; }
.lifeline { stroke: #a0aec0; stroke-dasharray: 4 4; }
.stepno { font-size: 11px; fill: #a0aec0; text-anchor: end; font-variant-numeric: tabular-nums; }
.msg line, .msg path { stroke: #2d3748; stroke-width: 1.4; fill: none; }
.msg.timer line, .msg.timer path { stroke: #b7791f; stroke-dasharray: 5 3; }
.msg.monitor line { stroke: #805ad5; stroke-dasharray: 3 3; }
.msg.dead line, .msg.dead path { stroke: #c53030; stroke-dasharray: 4 3; }
.msg.dead text { fill: #c53030; }
.msg text { font-size: 12.5px; fill: #1a202c; }
.msg text.detail { font-size: 11px; fill: #718096; }
.pill rect { fill: #c6f6d5; stroke: #2f855a; }
.pill.hot rect { fill: #fed7d7; stroke: #c53030; }
.pill.cold rect { fill: #bee3f8; stroke: #2b6cb0; }
.pill text { font-size: 12px; font-weight: 600; text-anchor: middle; fill: #1a202c; }
.note rect { fill: #edf2f7; stroke: #cbd5e0; }
.note.start rect { fill: #e6fffa; stroke: #319795; }
.note.timer rect { fill: #fffaf0; stroke: #dd6b20; }
.note.random rect { fill: #faf5ff; stroke: #805ad5; }
.note.stop rect { fill: #e2e8f0; stroke: #4a5568; }
.note text { font-size: 11.5px; text-anchor: middle; fill: #2d3748; }
.log text { font-size: 11px; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace;
  fill: #4a5568; }
.fold rect { fill: #f7fafc; stroke: #cbd5e0; stroke-dasharray: 3 3; cursor: pointer; }
.fold text { font-size: 12px; fill: #4a5568; cursor: pointer; }
.fold:hover rect { fill: #ebf8ff; }
.bugband { fill: #fff5f5; }
.bugrow rect.box { fill: #e53e3e; }
.bugrow text { fill: #fff; font-size: 13px; font-weight: 600; }
.stub { font-size: 11px; fill: #718096; font-style: italic; }
.note.wait rect { fill: #fffff0; stroke: #b7791f; stroke-dasharray: 3 2; }
.note.resume rect { fill: #f0fff4; stroke: #2f855a; stroke-dasharray: 3 2; }
.handler { fill: #ebf4ff; stroke: #90cdf4; }
body.highlight .out { opacity: 0.28; }
.decisive-band { fill: #fefcbf; }
.badge rect { fill: #d69e2e; }
.flip { font-size: 12px; font-style: italic; fill: #744210; }
.badge text { fill: #fff; font-size: 10.5px; font-weight: 700; text-anchor: middle; }
#explanation { margin: 6px 0 2px; padding: 6px 10px; background: #2d3a5a; border-left: 4px solid
  #d69e2e; border-radius: 3px; font-size: 13.5px; color: #fefcbf; white-space: pre-wrap;
  max-width: 1300px; }
#explanation code { color: #fff; font-weight: 600; }
#controls button.passing { background: #2f855a; }
#controls button.passing.on { background: #d69e2e; }
"""

_SCRIPT = r"""
(function () {
  const ALL = JSON.parse(document.getElementById('data').textContent);
  let D = ALL;
  const NS = 'http://www.w3.org/2000/svg';
  const GUT = 58, CH = 6.9, MINCOL = 104, MAXCOL = 178;
  let COL = MAXCOL;
  const hidden = new Set(), open = new Set();
  let showLogs = false, onlySlice = false, showPassing = false;
  let blocked = [];  // [x, y, step it finished] of each handler that waited on a reply
  const el = (tag, attrs, parent, text) => {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  };
  const cut = (s, n) => (s.length > n ? s.slice(0, Math.max(1, n - 1)) + '\u2026' : s);
  const short = s => { const m = /^[A-Za-z_][\w.]*\.([A-Za-z_]\w*)$/.exec(s);
    if (m) return m[1]; return (/^'.*'$/.test(s) ? s.slice(1, -1) : s); };
  const sliceSet = () => new Set(D.slice || []);
  const decisiveSet = () => new Set(D.decisive || []);

  function lines() { return D.lifelines.filter(l => !hidden.has(l.name)); }

  function visible(r, inSlice) {
    if (r.k === 'log' && !showLogs) return false;
    if (r.k === 'bug') return true;
    if (onlySlice && D.slice && D.slice.length && !inSlice.has(r.s)) return false;
    return !hidden.has(r.b) || (r.a && !hidden.has(r.a));
  }

  // a label centred at x, kept inside the page: a row holds one message, so its label may
  // run past the arrow's lifelines without hiding anything
  function placed(text, x, W) {
    const w = text.length * CH;
    return Math.min(Math.max(x, GUT + w / 2), W - 8 - w / 2);
  }

  function render() {
    const ls = lines(), xs = {};
    const room = Math.max(document.documentElement.clientWidth, 700) - GUT - 24;
    COL = Math.max(MINCOL, Math.min(MAXCOL, Math.floor(room / Math.max(ls.length, 1))));
    ls.forEach((l, i) => { xs[l.name] = GUT + i * COL + COL / 2; });
    const W = Math.max(GUT + ls.length * COL + 20, document.documentElement.clientWidth - 8);
    const inSlice = sliceSet(), decisive = decisiveSet();
    document.body.classList.toggle('highlight', !!(D.slice && D.slice.length));
    const heads = document.getElementById('heads');
    heads.innerHTML = '';
    const hs = el('svg', {width: W, height: 44}, heads);
    for (const l of ls) {
      const g = el('g', {class: 'head ' + l.kind, 'data-lifeline': l.name}, hs);
      const name = cut(l.name, Math.floor((COL - 12) / 7.3));
      const w = Math.min(COL - 8, name.length * 7.3 + 18);
      el('rect', {x: xs[l.name] - w / 2, y: 7, width: w, height: 30, rx: 6}, g);
      el('text', {x: xs[l.name], y: 27}, g, name);
      el('title', {}, g, l.name);
    }
    const body = document.getElementById('body');
    body.innerHTML = '';
    const svg = el('svg', {width: W, height: 100, id: 'diagram'}, body);
    const back = el('g', {}, svg), front = el('g', {}, svg);
    let y = 10;
    const rowTop = {};
    blocked = [];
    const stepText = (s, yy) => el('text', {class: 'stepno', x: GUT - 12, y: yy}, front, s);
    D.items.forEach((item, index) => {
      if (Array.isArray(item) && !open.has(index)) {
        const rs = item.filter(r => visible(r, inSlice));
        if (!rs.length) return;
        const steps = rs.map(r => r.s);
        const who = [...new Set(rs.map(r => r.b))].filter(n => !hidden.has(n));
        const faded = inSlice.size && !rs.some(r => inSlice.has(r.s));
        const fold = faded ? 'fold out' : 'fold';
        const g = el('g', {class: fold, 'data-fold': index}, front);
        el('rect', {x: GUT - 4, y: y + 3, width: W - GUT - 10, height: 24, rx: 4}, g);
        el('text', {x: GUT + 8, y: y + 19}, g,
           '\u22ef ' + rs.length + ' quiet events, steps ' + Math.min(...steps) + '\u2013' +
           Math.max(...steps) + ' (no state change): ' + cut(who.join(', '), 90) +
           ' \u2014 click to unfold');
        g.addEventListener('click', () => { open.add(index); render(); });
        y += 32;
        return;
      }
      for (const r of (Array.isArray(item) ? item : [item])) {
        if (!visible(r, inSlice)) continue;
        if (!(r.s in rowTop)) rowTop[r.s] = y;
        y = row(r, y, xs, W, front, back, stepText, inSlice, decisive, rowTop);
      }
    });
    for (const l of ls) {
      el('line', {class: 'lifeline', x1: xs[l.name], x2: xs[l.name], y1: 0, y2: y + 10}, back);
    }
    // a handler that waited on a reply: a bar on its lifeline from where it began to where
    // it finished (or to the end of the run, if it never did)
    for (const [x, top, until] of blocked) {
      const bottom = (until in rowTop) ? rowTop[until] + 26 : y;
      el('rect', {class: 'handler', x: x - 4, y: top - 2, width: 8,
                  height: Math.max(bottom - top, 12), rx: 2}, back);
    }
    back.parentNode.insertBefore(back, back.parentNode.firstChild);
    svg.setAttribute('height', y + 20);
  }

  function row(r, y, xs, W, front, back, stepText, inSlice, decisive, rowTop) {
    const isBug = r.s === D.bug_step;
    const start = y;
    const mark = (r.k === 'bug' || inSlice.has(r.s) || !(D.slice && D.slice.length)) ? ''
      : ' out';
    if (r.k === 'bug') {
      const g = el('g', {class: 'bugrow', id: 'bug'}, front);
      el('rect', {class: 'box', x: GUT - 4, y: y + 4, width: W - GUT - 10, height: 30, rx: 5}, g);
      el('text', {x: GUT + 8, y: y + 24}, g, cut('BUG: ' + r.t, Math.floor((W - GUT - 30) / 7.4)));
      el('title', {}, g, r.t);
      return y + 42;
    }
    const tx = xs[r.b];
    if (r.k === 'deliver' || r.k === 'monitor' || r.k === 'dead-letter') {
      const sx = (r.a && xs[r.a] !== undefined) ? xs[r.a] : null;
      const cls = 'msg' + (r.tm ? ' timer' : '') + (r.k === 'monitor' ? ' monitor' : '') + mark +
        (r.k === 'dead-letter' ? ' dead' : '') + (decisive.has(r.s) ? ' decisive' : '');
      const g = el('g', {class: cls, 'data-step': r.s, 'data-from': r.a || '', 'data-to': r.b},
                   front);
      el('title', {}, g, 'step ' + r.s + ': ' + (r.a || '?') + ' \u2192 ' + r.b + ': ' + r.t +
         (r.d ? '\n' + r.d : '') + (r.u !== undefined ? '\n(handler blocked; done at step ' +
         r.u + ')' : ''));
      const ly = y + 26;
      let label = r.t + (r.tm ? ' (timer)' : '');
      const most = Math.floor((W - GUT - 24) / CH);
      if (tx === undefined) {
        el('line', {x1: sx, y1: ly, x2: sx + 40, y2: ly, 'marker-end': 'url(#arr)'}, g);
        el('text', {x: sx + 46, y: ly + 4, class: 'stub'}, g, cut(label + ' \u2192 ' + r.b, 40));
      } else if (sx === null || sx === tx) {
        if (sx === null && r.a) label = r.a + ': ' + label;
        el('path', {d: `M${tx},${ly - 8} h34 v12 h-30`, 'marker-end': 'url(#arr)'}, g);
        const text = cut(label, Math.min(most, Math.floor((W - tx - 50) / CH)));
        el('text', {x: tx + 40, y: ly}, g, text);
      } else {
        const end = tx + (tx > sx ? -3 : 3);
        el('line', {x1: sx, y1: ly, x2: end, y2: ly, 'marker-end': 'url(#arr)'}, g);
        const text = cut(label, most);
        el('text', {x: placed(text, (sx + tx) / 2, W), y: ly - 6, 'text-anchor': 'middle'}, g,
           text);
      }
      if (r.u !== undefined && tx !== undefined) blocked.push([tx, ly, r.u]);
      stepText(r.s, ly + 4);
      y += 34;
      if (r.st && tx !== undefined) {
        const pc = 'pill' + (r.h ? ' ' + r.h : '') + mark;
        const pg = el('g', {class: pc, 'data-state': r.st}, front);
        const text = cut('\u25b8 ' + short(r.st) + (r.h ? ' (' + r.h + ')' : ''),
                         Math.floor(2 * COL / 7.4));
        const w = text.length * 7.4 + 16;
        const cx = placed(text, tx, W);
        el('rect', {x: cx - w / 2, y: y - 2, width: w, height: 20, rx: 10}, pg);
        el('text', {x: cx, y: y + 12}, pg, text);
        y += 24;
      }
    } else if (r.k === 'log') {
      const g = el('g', {class: 'log' + mark, 'data-step': r.s}, front);
      el('text', {x: (tx || GUT) - COL / 2 + 10, y: y + 14}, g,
         cut(r.t, Math.floor(Math.max(COL * 2, 300) / 6.7)));
      el('title', {}, g, r.t);
      y += 20;
    } else {
      if (tx === undefined) return y;
      const kind = (r.k.startsWith('timer') || r.k.startsWith('timeout')) ? 'timer' : r.k;
      const g = el('g', {class: 'note ' + kind + mark + (decisive.has(r.s) ? ' decisive' : ''),
                         'data-step': r.s, 'data-kind': r.k}, front);
      let text = r.t + (r.d ? ' ' + r.d : '');
      if (r.k === 'start') text = 'started' + (r.st ? ' in ' + short(r.st) : '');
      text = cut(text, Math.floor(Math.max(2 * COL, 220) / 6.4));
      const w = text.length * 6.4 + 14;
      const cx = placed(text, tx, W);
      el('rect', {x: cx - w / 2, y: y + 3, width: w, height: 19, rx: 4}, g);
      el('text', {x: cx, y: y + 16}, g, text);
      el('title', {}, g, 'step ' + r.s + ': ' + r.t + (r.d ? ' ' + r.d : ''));
      stepText(r.s, y + 16);
      y += 25;
    }
    if (isBug) el('rect', {class: 'bugband', x: 0, y: start, width: W, height: y - start}, back);
    if (decisive.has(r.s) && r.k !== 'log') {
      el('rect', {class: 'decisive-band', x: 0, y: start, width: W, height: y - start}, back);
      if (rowTop[r.s] === start) {
        const order = (D.decisive || []).indexOf(r.s) + 1;
        const b = el('g', {class: 'badge', 'data-decisive': r.s}, front);
        el('rect', {x: 2, y: start + 6, width: 30, height: 15, rx: 3}, b);
        el('text', {x: 17, y: start + 17}, b, '\u25c6' + order);
        el('title', {}, b, (showPassing ? 'the passing run: ' : 'decisive: ') +
           (ALL.change || ''));
        if (order === (D.decisive || []).length) {  // under the last one: what changes
          el('rect', {class: 'decisive-band', x: 0, y: y, width: W, height: 20}, back);
          const change = (ALL.change || '').replace(/`/g, '');
          const said = showPassing ? 'the passing run, the decisive change made: ' + change
            : change + ' (see "Show the passing run")';
          const f = el('text', {class: 'flip', x: GUT + 8, y: y + 14}, front,
                       '\u25c6 ' + cut(said, Math.floor((W - GUT - 30) / 6.4)));
          el('title', {}, f, said);
          y += 22;
        }
      }
    }
    return y;
  }

  const jump = document.getElementById('jump');
  if (jump) jump.addEventListener('click', () => {
    const b = document.getElementById('bug') || document.querySelector('[data-decisive]');
    if (!b) return;
    window.scrollTo(0, b.getBoundingClientRect().top + window.scrollY - window.innerHeight / 2);
  });
  const toDecisive = document.getElementById('to-decisive');
  if (toDecisive) toDecisive.addEventListener('click', () => {
    const b = document.querySelector('[data-decisive]');
    if (b) window.scrollTo(0, b.getBoundingClientRect().top + window.scrollY - 160);
  });
  document.getElementById('unfold').addEventListener('click', () => {
    if (open.size) open.clear();
    else D.items.forEach((it, i) => { if (Array.isArray(it)) open.add(i); });
    render();
  });
  document.getElementById('logs').addEventListener('change', e => {
    showLogs = e.target.checked; render();
  });
  const only = document.getElementById('only-slice');
  if (only) only.addEventListener('change', e => { onlySlice = e.target.checked; render(); });
  const passing = document.getElementById('passing');
  const outcome = document.getElementById('outcome');
  const failingOutcome = outcome ? outcome.innerHTML : '';
  if (passing) passing.addEventListener('click', () => {
    showPassing = !showPassing;
    D = showPassing ? ALL.passing : ALL;
    open.clear();
    passing.classList.toggle('on', showPassing);
    if (jump) jump.style.display = showPassing ? 'none' : '';
    passing.textContent = showPassing ? 'Show the failing run' : 'Show the passing run';
    if (outcome) {
      outcome.className = showPassing ? 'note' : 'bug';
      outcome.innerHTML = showPassing ? '' : failingOutcome;
      if (showPassing) outcome.textContent = 'PASSING RUN (the decisive change made): no bug';
    }
    render();
  });
  const ctl = document.getElementById('controls');
  for (const l of ALL.lifelines) {
    const lab = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox'; box.checked = true; box.dataset.lifeline = l.name;
    box.addEventListener('change', () => {
      if (box.checked) hidden.delete(l.name); else hidden.add(l.name);
      render();
    });
    lab.appendChild(box); lab.appendChild(document.createTextNode(' ' + l.name));
    ctl.appendChild(lab);
  }
  const resize = () => {
    document.getElementById('heads').style.top = document.getElementById('top').offsetHeight + 'px';
    render();
  };
  window.addEventListener('resize', resize);
  const tb = document.getElementById('traceback');
  if (tb) tb.addEventListener('toggle', resize);
  // `#passing`, `#slice` (or both, `#passing,slice`) open the page that way: links to a view
  const wanted = (location.hash || '').slice(1).split(',');
  if (only && wanted.includes('slice')) { only.checked = true; onlySlice = true; }
  if (passing && wanted.includes('passing')) passing.click();
  render(); resize();
})();
"""

_DEFS = (
    '<svg width="0" height="0" style="position:absolute"><defs><marker id="arr" '
    'viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
    'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#2d3748"/>'
    "</marker></defs></svg>"
)


def page_data(diagram: Diagram) -> dict[str, Any]:
    """What the page's script draws (also what tests read without a browser): the rows with
    quiet stretches folded, and for an explained bug the slice, the decisive steps, the
    change in words and the passing variant's own data."""
    items: list[Any] = []
    for item in fold_quiet(diagram.rows, diagram.bug_step, frozenset(diagram.decisive)):
        if isinstance(item, list):
            items.append([row.as_json() for row in item])
        else:
            items.append(item.as_json())
    data: dict[str, Any] = {
        "test": diagram.test,
        "lifelines": [{"name": line.name, "kind": line.kind} for line in diagram.lifelines],
        "items": items,
        "bug": diagram.bug,
        "bug_step": diagram.bug_step,
        "note": diagram.note,
    }
    if diagram.slice:
        data["slice"] = sorted(diagram.slice)
    if diagram.decisive:
        data["decisive"] = list(diagram.decisive)
    if diagram.change:
        data["change"] = diagram.change
    if diagram.passing is not None:
        data["passing"] = page_data(diagram.passing)
    return data


def _explanation_html(text: str) -> str:
    """The explanation, `code` spans as code."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def script_json(value: object) -> str:
    """`value` as JSON that is safe inside a `<script>` element: `<`, `>` and `&` appear only
    inside JSON strings, where their `\\u` escapes mean the same, so no text in the data
    (`</script>`, `<!--` followed by `<script>`, which makes the HTML parser swallow the rest
    of the page) can end the element or change how it is parsed."""
    return json.dumps(value).translate(_SCRIPT_SAFE)


def sequence_html(diagram: Diagram) -> str:
    """The page: no external resource, works offline."""
    data = script_json(page_data(diagram))
    logs = sum(1 for row in diagram.rows if row.kind == "log")
    if diagram.note:
        outcome = f'<div id="outcome" class="note">{html.escape(diagram.note)}</div>'
    elif diagram.bug_step >= 0:
        outcome = f'<div id="outcome" class="bug">BUG: {html.escape(diagram.bug)}</div>'
    else:
        outcome = '<div id="outcome">no bug happened in this replay</div>'
    if diagram.traceback and not diagram.note and diagram.bug_step >= 0:
        outcome += (
            '<details id="traceback"><summary>traceback</summary>'
            f"<pre>{html.escape(diagram.traceback.rstrip())}</pre></details>"
        )
    jump = '<button id="jump">Jump to the bug</button>' if diagram.bug_step >= 0 else ""
    explained = ""
    if diagram.explanation:
        explained = f'<div id="explanation">{_explanation_html(diagram.explanation)}</div>'
    if diagram.decisive:
        jump += '<button id="to-decisive" class="plain">Jump to the decisive steps</button>'
    if diagram.passing is not None:
        jump += '<button id="passing" class="passing">Show the passing run</button>'
    if diagram.slice:
        jump += (
            f'<label title="the {len(diagram.slice)} steps the failing step depends on are '
            'drawn bright, the others faded"><input type="checkbox" id="only-slice"> only the '
            f"causal slice ({len(diagram.slice)} of {diagram.trace_steps} steps)</label>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>testkit: {html.escape(diagram.test)}</title><style>{_CSS}</style></head>"
        f'<body><div id="top"><h1>{html.escape(diagram.test)}</h1>'
        f'<div class="sub">sequence diagram of a replayed trace: {diagram.trace_steps} steps, '
        f"{len(diagram.lifelines)} lifelines</div>{outcome}{explained}"
        f'<div id="controls">{jump}<button id="unfold" class="plain">Unfold / fold quiet '
        f'stretches</button><label><input type="checkbox" id="logs"> log lines ({logs})</label>'
        f'<span>show:</span></div></div><div id="heads"></div><div id="body"></div>{_DEFS}'
        f'<script type="application/json" id="data">{data}</script>'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
