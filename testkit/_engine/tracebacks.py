"""A bug's traceback as text: the failing handler's (or test function's) frames, file:line,
from the user's first frame on, without the tester's own frames; text only, so it travels to
worker processes and Dask and back."""

from __future__ import annotations

import traceback

from testkit._engine.frames import is_testers, is_users

SHORT_FRAMES = 3
"""Frames of the failing exception that the short form keeps (the innermost ones)."""


def _trim(stack: traceback.StackSummary) -> traceback.StackSummary:
    """From the first frame that is the user's own; then without testkit's frames (the
    library frames the user's code called, Pykka's or fsm's, say where the error came from)."""
    frames = list(stack)
    first = next((i for i, f in enumerate(frames) if is_users(f.filename)), 0)
    kept = [f for f in frames[first:] if not is_testers(f.filename)]
    return traceback.StackSummary.from_list(kept or frames[first:])


def traceback_text(exc: BaseException) -> str:
    """Python's traceback of `exc` (with the exceptions it was raised from), trimmed."""
    summary = traceback.TracebackException.from_exception(exc)
    seen: set[int] = set()
    pending = [summary]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.stack = _trim(current.stack)
        pending.extend(c for c in (current.__cause__, current.__context__) if c is not None)
    return "".join(summary.format())


def short_traceback(text: str, frames: int = SHORT_FRAMES) -> str:
    """The last exception of `text` with only its innermost `frames` frames, and a line
    saying how much was left out."""
    lines = text.rstrip("\n").splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("Traceback (")]
    if not headers:
        return text.rstrip("\n")
    start = headers[-1]
    entries = [i for i in range(start + 1, len(lines)) if lines[i].startswith('  File "')]
    if not entries:
        return "\n".join(lines[start:])
    kept = entries[-frames:]
    left_out = len(entries) - len(kept) + sum(line.startswith('  File "') for line in lines[:start])
    head = [lines[start]]
    if left_out or start:
        chained = " and the exceptions it was raised from" if start else ""
        head.append(f"  ... {left_out} more frame(s){chained}: -v shows them all")
    return "\n".join(head + lines[kept[0] :])
