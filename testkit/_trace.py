"""`Trace`: every decision of one test iteration, as text a person can read, diff and replay.

One line per step: `<step> <kind> <actor> [<what> [<detail>]]`, where kind is `start`,
`deliver`, `stop`, `timer` (a timer fired: its message is now queued), `continue` (the test
function went on after a send) or `random`. Header
lines start with `#` and name the test, strategy, seed, bounds, versions and the bug.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from testkit._errors import TestkitError

FORMAT = "testkit-trace 1"
SCHEDULE_KINDS = frozenset({"start", "deliver", "stop", "timer", "continue"})
_SAFE = re.compile(r"[^A-Za-z0-9_.]+")
TRACE_DIR = Path("testkit-traces")
"""Where the command line and the pytest plugin write traces (relative to the working
directory, or to pytest's rootdir)."""
_RANDOM = re.compile(r"^(random_int\((\d+)\)|random_bool\(\))=(\S+)$")


@dataclass(frozen=True)
class Step:
    """One decision: which actor ran what, or which random value was chosen."""

    index: int
    kind: str
    actor: str
    what: str = ""
    detail: str = ""

    def __str__(self) -> str:
        return " ".join(
            p for p in (str(self.index), self.kind, self.actor, self.what, self.detail) if p
        )

    @property
    def value(self) -> int:
        """The value chosen by a `random` step (a bool is 0 or 1)."""
        match = _RANDOM.match(self.what)
        if self.kind != "random" or match is None:
            raise TestkitError(f"step {self.index} is not a random choice: {self}")
        token = match.group(3)
        if token in ("True", "False"):
            return int(token == "True")
        return int(token)

    @property
    def bound(self) -> int:
        """The `n` of `random_int(n)` (2 for a bool)."""
        match = _RANDOM.match(self.what)
        if self.kind != "random" or match is None:
            raise TestkitError(f"step {self.index} is not a random choice: {self}")
        return int(match.group(2)) if match.group(2) else 2


def versions() -> str:
    """Python, pykka and this package's versions, for the trace header."""

    def version_of(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "unknown"

    return (
        f"python {platform.python_version()}, pykka {version_of('pykka')}, "
        f"pykka-fsm {version_of('pykka-fsm')}"
    )


@dataclass
class Trace:
    """The decisions of one iteration plus what is needed to replay them."""

    steps: list[Step]
    test: str = ""
    strategy: str = ""
    seed: int = 0
    iteration: int = 0
    max_steps: int = 0
    fair: bool = False
    liveness_threshold: int = 0
    timer_delay: int = 0
    bug: str = ""
    versions: str = field(default_factory=versions)

    def __len__(self) -> int:
        return len(self.steps)

    def to_text(self) -> str:
        bug = self.bug.replace("\n", " | ")
        header = [
            f"# {FORMAT}",
            f"# test: {self.test}",
            f"# strategy: {self.strategy}",
            f"# seed: {self.seed}",
            f"# iteration: {self.iteration}",
            f"# max_steps: {self.max_steps}",
            f"# fair: {str(self.fair).lower()}",
            f"# liveness_threshold: {self.liveness_threshold}",
            f"# timer_delay: {self.timer_delay}",
            f"# versions: {self.versions}",
            f"# bug: {bug}",
        ]
        return "\n".join(header + [str(s) for s in self.steps]) + "\n"

    def file_name(self) -> str:
        """A name unique to this bug: `<test>-<strategy>-seed<seed>-it<iteration>.trace`.

        Two bugs of one run differ in iteration, two runs in seed or strategy, so traces
        written under these names never overwrite each other.
        """
        parts = (self.test or "trace", self.strategy or "replay")
        stem = "-".join(_SAFE.sub("_", part).strip("_") for part in parts)
        return f"{stem}-seed{self.seed}-it{self.iteration}.trace"

    def save(self, path: str | Path) -> Path:
        """Write the trace as text; returns the path."""
        target = Path(path)
        if target.parent and not target.parent.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_text(), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace written by `save`; a clear TestkitError if it is not one."""
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise TestkitError(
                f"cannot read trace {str(source)!r}: {exc.strerror or exc}"
            ) from None
        return cls.from_text(text, str(source))

    @classmethod
    def from_text(cls, text: str, origin: str = "<text>") -> Trace:
        lines = text.splitlines()
        if not lines or lines[0].strip() != f"# {FORMAT}":
            raise TestkitError(
                f"{origin} is not a testkit trace (its first line should be '# {FORMAT}'); "
                "pass a file written by Trace.save or by `python -m testkit test`"
            )
        meta: dict[str, str] = {}
        steps: list[Step] = []
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                meta[key.strip()] = value.strip()
                continue
            steps.append(_parse_step(line, number, origin, len(steps)))
        try:
            return cls(
                steps=steps,
                test=meta.get("test", ""),
                strategy=meta.get("strategy", ""),
                seed=int(meta.get("seed", "0")),
                iteration=int(meta.get("iteration", "0")),
                max_steps=int(meta.get("max_steps", "0")),
                fair=meta.get("fair", "false") == "true",
                liveness_threshold=int(meta.get("liveness_threshold", "0")),
                timer_delay=int(meta.get("timer_delay", "0")),
                bug=meta.get("bug", ""),
                versions=meta.get("versions", ""),
            )
        except ValueError as exc:
            raise TestkitError(f"{origin}: a header value is not a number ({exc})") from None


def _parse_step(line: str, number: int, origin: str, expected_index: int) -> Step:
    parts = line.split(maxsplit=4)
    if len(parts) < 3 or not parts[0].isdigit():
        raise TestkitError(
            f"{origin}, line {number}: expected '<step> <kind> <actor> ...', got {line!r}"
        )
    index, kind, actor = int(parts[0]), parts[1], parts[2]
    if index != expected_index:
        raise TestkitError(
            f"{origin}, line {number}: expected step {expected_index}, got step {index}; "
            "a trace must list every step in order"
        )
    if kind not in SCHEDULE_KINDS and kind != "random":
        raise TestkitError(f"{origin}, line {number}: unknown step kind {kind!r} in {line!r}")
    what = parts[3] if len(parts) > 3 else ""
    detail = parts[4] if len(parts) > 4 else ""
    if kind == "random" and not _RANDOM.match(what):
        raise TestkitError(
            f"{origin}, line {number}: a random step needs 'random_int(n)=v' or "
            f"'random_bool()=True|False', got {what!r}"
        )
    return Step(index, kind, actor, what, detail)
