"""Progress of a running `explore`: a self-rewriting bar on a terminal, plain lines in logs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO


@dataclass
class Progress:
    """Where a running `explore` is, for progress bars."""

    iteration: int
    iterations: int
    bugs: int
    elapsed: float


ProgressCallback = Callable[[Progress], None]


class ProgressBar:
    """Iterations done, iterations/s and bugs found: one self-rewriting line on a terminal,
    or (`lines=True`, for logs) a plain line every `every` seconds.

    `quiet_for`: print nothing until the run has lasted that long (a short run stays silent).
    """

    def __init__(
        self,
        stream: TextIO,
        enabled: bool = True,
        lines: bool = False,
        every: float | None = None,
        quiet_for: float = 0.0,
    ) -> None:
        self.stream = stream
        self.enabled = enabled
        self.lines = lines
        self.every = every if every is not None else (5.0 if lines else 0.2)
        self.quiet_for = quiet_for
        self._last = -1.0
        self._bugs = 0

    def __call__(self, progress: Progress) -> None:
        if not self.enabled or progress.elapsed < self.quiet_for:
            return
        # the last iteration and each new bug are worth a line at once; else one per `every`
        news = progress.iteration == progress.iterations or progress.bugs != self._bugs
        if progress.elapsed - self._last < self.every and not news:
            return
        self._last = progress.elapsed
        self._bugs = progress.bugs
        rate = progress.iteration / progress.elapsed if progress.elapsed > 0 else 0.0
        counts = (
            f"{progress.iteration}/{progress.iterations} iterations  {rate:,.0f} it/s  "
            f"bugs: {progress.bugs}"
        )
        if self.lines:
            self.stream.write(f"progress: {counts}\n")
        else:
            width = 30
            filled = int(width * progress.iteration / progress.iterations)
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {counts}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and not self.lines and self._last >= 0:
            self.stream.write("\n")
            self.stream.flush()


AUTO_QUIET = 10.0
"""`explore(progress=None)` stays silent for runs shorter than this many seconds."""


def progress_callback(progress: ProgressCallback | bool | None) -> ProgressBar | ProgressCallback:
    """What `explore(progress=...)` means: a callable as given; True a bar (or lines when
    stderr is not a terminal); False nothing; None lines every 10 s once a run is long."""
    if callable(progress):
        return progress
    tty = sys.stderr.isatty()
    if progress is None:
        return ProgressBar(sys.stderr, lines=True, every=AUTO_QUIET, quiet_for=AUTO_QUIET)
    return ProgressBar(sys.stderr, enabled=bool(progress), lines=not tty)
