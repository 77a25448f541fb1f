"""`Trace`: every decision of one test iteration, as text a person can read, diff and replay.

One line per step: `<step> <kind> <actor> [<what> [<detail>]]`, where kind is `start`,
`deliver`, `stop`, `timer` (a timer fired: its message is now queued), `continue` (the test
function went on after a send), `random`, `wait` (a handler began waiting for a reply:
`<step> wait A#1 B#1 ask:Foo`) or `resume` (the strategy let it go on once the reply came). Header
lines start with `#` and name the test, strategy, seed, bounds, versions and the bug.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from testkit._engine.payloads import canonical
from testkit._errors import TestkitError

FORMAT = "testkit-trace 2"
"""Format 2 counts `# iteration:` from 1, as reports do; format 1 (from 0) is still read."""
_FORMATS = {"# testkit-trace 1": 1, "# testkit-trace 2": 2}
SCHEDULE_KINDS = frozenset({"start", "deliver", "stop", "timer", "continue", "resume"})
EVENT_KINDS = frozenset({"random", "wait"})
"""Steps the program takes by itself, not chosen by the strategy (replay checks them)."""
_SAFE = re.compile(r"[^A-Za-z0-9_.]+")
TRACE_DIR = Path("testkit-traces")
"""Where the command line and the pytest plugin write traces (relative to the working
directory, or to pytest's rootdir)."""
_RANDOM = re.compile(r"^(random_int\(([0-9]+)\)|random_bool\(\))=(\S+)$")
_INDEX = re.compile(r"[0-9]+")
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"}
"""Every character `str.splitlines` breaks at, and its escape: a step stays on one line."""
_ADDRESS = re.compile(r" at 0x[0-9A-Fa-f]+")
_NUMBER_LIMIT = 30
"""Digits allowed in a header or random value: far above any real one, far below the point
where Python refuses to parse them."""
_HEADER_INT = re.compile(rf"-?[0-9]{{1,{_NUMBER_LIMIT}}}")
_HASH_SEED = re.compile(r"[0-9]{1,10}")
_ENTROPY = re.compile(rf"[0-9]{{1,{_NUMBER_LIMIT}}} [0-9a-f]{{8}}")
NUMBER_BOUND = 10**_NUMBER_LIMIT
"""Header numbers (seed, max_steps, ...) must stay below this in magnitude: a trace holding
one with more digits could not be read back, so `explore` refuses them up front."""
_QUOTE_LIMIT = 200
"""Characters of a file's text an error message quotes: enough to recognise the line."""


def quoted(text: str, limit: int = _QUOTE_LIMIT) -> str:
    """`repr(text)`, cut to about `limit` characters for an error message: a 100 MB line in a
    bad file must not come back as a 100 MB message."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def one_line(text: str) -> str:
    """`text` with line breaks escaped, so that it cannot split a trace line."""
    return text.translate(_LINE_BREAKS)


def bug_line(headline: str) -> str:
    """A bug's headline as the `# bug:` header holds it: its lines joined by ` | `."""
    return one_line(" | ".join(headline.strip().splitlines()))


def comparable(text: str) -> str:
    """A step's text as replay compares it: line breaks escaped, whitespace runs collapsed
    (the file format cannot keep them), object addresses (`at 0x7f...`) masked, as they
    differ from run to run, and set displays in sorted order (a trace written before
    payloads were rendered so may list a set in its process's hash order)."""
    text = " ".join(_ADDRESS.sub(" at 0x?", one_line(text)).split())
    return canonical(text) if "{" in text else text


@dataclass(frozen=True)
class Step:
    """One decision: which actor ran what, or which random value was chosen."""

    index: int
    kind: str
    actor: str
    what: str = ""
    detail: str = ""

    def __str__(self) -> str:
        return one_line(
            " ".join(
                p for p in (str(self.index), self.kind, self.actor, self.what, self.detail) if p
            )
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
    """The decisions of one iteration plus what is needed to replay them.

    `iteration` counts from 1, as the report does: the explorer's first iteration is 1.
    """

    steps: list[Step]
    test: str = ""
    strategy: str = ""
    seed: int = 0
    iteration: int = 1
    max_steps: int = 0
    fair: bool = False
    liveness_threshold: int = 0
    timer_delay: int = 0
    bug: str = ""
    versions: str = field(default_factory=versions)
    hash_seed: str = ""
    """The PYTHONHASHSEED of the process that recorded it, when that one was fixed (a set's
    iteration order follows it); "" for a random one. Written only when set."""
    entropy: str = ""
    """`<draws> <digest>` of the program's own random draws (`random`, `uuid4`,
    `os.urandom`: see `testkit._engine.entropy`), which replay compares; "" when it drew
    none. Written only when set."""
    dead_letters: list[tuple[int, str]] = field(default_factory=list)
    """(step, text) of each message that reached a stopped actor during that step: written
    as `# dead letter at step N: ...` lines after the step, for a person to read (replay
    does not check them: they follow from the steps)."""

    def __len__(self) -> int:
        return len(self.steps)

    def to_text(self) -> str:
        """The trace as `save` writes it: the header lines, then one line per step."""
        header = [
            f"# {FORMAT}",
            f"# test: {one_line(self.test)}",
            f"# strategy: {one_line(self.strategy)}",
            f"# seed: {self.seed}",
            f"# iteration: {self.iteration}",
            f"# max_steps: {self.max_steps}",
            f"# fair: {str(self.fair).lower()}",
            f"# liveness_threshold: {self.liveness_threshold}",
            f"# timer_delay: {self.timer_delay}",
        ]
        if self.hash_seed:
            header.append(f"# hash_seed: {one_line(self.hash_seed)}")
        if self.entropy:
            header.append(f"# entropy: {one_line(self.entropy)}")
        header += [
            f"# versions: {one_line(self.versions)}",
            f"# bug: {bug_line(self.bug)}",
        ]
        lines = header + [str(s) for s in self.steps]
        for step, text in reversed(self.dead_letters):  # after its step's line
            at = len(header) + min(step, len(self.steps) - 1) + 1
            lines.insert(at, f"{_DEAD_LETTER}{step}: {one_line(text)}")
        return "\n".join(lines) + "\n"

    def file_name(self) -> str:
        """A name unique to this bug: `<test>-<strategy>-seed<seed>-it<iteration>.trace`.

        Two bugs of one run differ in iteration, two runs in seed or strategy, so traces
        written under these names never overwrite each other.
        """
        parts = (self.test or "trace", self.strategy or "replay")
        stem = "-".join(_SAFE.sub("_", part).strip("_") for part in parts)
        return f"{stem}-seed{self.seed}-it{self.iteration}.trace"

    def save(self, path: str | Path) -> Path:
        """Write the trace as text; returns the path written.

        `path` may be a directory (existing, or spelled with a trailing separator, then
        created): the trace goes inside it under `file_name()`. Otherwise it names the file,
        which gets the suffix `.trace` if it has not got it and does not exist yet (`bug` ->
        `bug.trace`), so that the files beside it (`bug.original.trace`, `bug.html`) are
        named consistently; an existing file (or `/dev/null`) is written as named.
        Missing parent directories are created.
        """
        target = Path(path)
        try:
            if os.fspath(path).endswith(("/", os.sep)) or target.is_dir():
                target = target / self.file_name()
            elif target.suffix != ".trace" and not target.exists():
                target = target.with_name(target.name + ".trace")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.to_text(), encoding="utf-8")
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            raise TestkitError(
                f"cannot write the trace to {str(target)!r}: {_reason(exc)}; pass a "
                "writable file path or an existing directory (the trace is then saved as "
                f"{self.file_name()!r} inside it)"
            ) from None
        return target

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace written by `save`; a clear TestkitError if it is not one."""
        if not isinstance(path, (str, os.PathLike)):
            raise TestkitError(f"a trace path must be a str or a Path, got {path!r}")
        source = Path(path)
        try:
            is_dir = source.is_dir()
            data = b"" if is_dir else source.read_bytes()
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            raise TestkitError(f"cannot read trace {str(source)!r}: {_reason(exc)}") from None
        if is_dir:
            raise TestkitError(
                f"cannot read trace {str(source)!r}: it is a directory; pass one of the "
                ".trace files written by `python -m testkit test` or Trace.save"
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TestkitError(
                f"{source} is not a testkit trace: byte {exc.start} is not UTF-8 text "
                f"({_encoding_hint(data)}); pass a file written by Trace.save or by "
                "`python -m testkit test`"
            ) from None
        return cls.from_text(text, str(source))

    @classmethod
    def from_text(cls, text: str, origin: str = "<text>") -> Trace:
        """Parse the text of a trace; `origin` names it in errors (a file name)."""
        if not isinstance(text, str):
            raise TestkitError(f"Trace.from_text needs a str, got {type(text).__name__}")
        if "\0" in text:
            raise TestkitError(
                f"{origin} is not a testkit trace: it contains NUL bytes (a binary file?); "
                "pass a file written by Trace.save or by `python -m testkit test`"
            )
        lines = text.splitlines()
        version = _FORMATS.get(lines[0].strip()) if lines else None
        if version is None:
            what = "it is empty" if not text.strip() else f"its first line should be '# {FORMAT}'"
            raise TestkitError(
                f"{origin} is not a testkit trace ({what}); "
                "pass a file written by Trace.save or by `python -m testkit test`"
            )
        header = _Header(origin)
        steps: list[Step] = []
        dead_letters: list[tuple[int, str]] = []
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            if line.startswith(_DEAD_LETTER):
                step, _, text = line[len(_DEAD_LETTER) :].partition(":")
                if step.isdigit():
                    dead_letters.append((int(step), text.strip()))
                    continue
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                header.values[key.strip()] = (value.strip(), number)
                continue
            steps.append(_parse_step(line, number, origin, len(steps)))
        first = 0 if version == 1 else 1  # format 1 counted iterations from 0
        iteration = header.integer("iteration", first, minimum=first)
        return cls(
            steps=steps,
            test=header.text("test"),
            strategy=header.text("strategy"),
            seed=header.integer("seed", 0, minimum=None),
            iteration=iteration + 1 - first,
            max_steps=header.integer("max_steps", 0, minimum=0),
            fair=header.flag("fair"),
            liveness_threshold=header.integer("liveness_threshold", 0, minimum=0),
            timer_delay=header.integer("timer_delay", 0, minimum=0),
            bug=header.text("bug"),
            versions=header.text("versions"),
            hash_seed=header.matching("hash_seed", _HASH_SEED, "a number (PYTHONHASHSEED)"),
            entropy=header.matching("entropy", _ENTROPY, "'<draws> <8 hex digits>'"),
            dead_letters=dead_letters,
        )


_DEAD_LETTER = "# dead letter at step "


class _Header:
    """The `# key: value` lines of a trace, each with its line number for errors."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.values: dict[str, tuple[str, int]] = {}

    def text(self, key: str) -> str:
        return self.values.get(key, ("", 0))[0]

    def integer(self, key: str, default: int, minimum: int | None) -> int:
        if key not in self.values:
            return default
        value, number = self.values[key]
        shown = "an integer" if minimum is None else f"an integer >= {minimum}"
        if not _HEADER_INT.fullmatch(value) or (minimum is not None and int(value) < minimum):
            raise TestkitError(
                f"{self.origin}, line {number}: '# {key}:' must be {shown}, got {quoted(value)}"
            )
        return int(value)

    def matching(self, key: str, pattern: re.Pattern[str], shown: str) -> str:
        value, number = self.values.get(key, ("", 0))
        if value and not pattern.fullmatch(value):
            raise TestkitError(
                f"{self.origin}, line {number}: '# {key}:' must be {shown}, got {quoted(value)}"
            )
        return value

    def flag(self, key: str) -> bool:
        value, number = self.values.get(key, ("false", 0))
        if value not in ("true", "false"):
            raise TestkitError(
                f"{self.origin}, line {number}: '# {key}:' must be true or false, "
                f"got {quoted(value)}"
            )
        return value == "true"


def _reason(exc: Exception) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


def _encoding_hint(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "it looks like UTF-16; save it as UTF-8"
    return "a binary file?"


def _parse_step(line: str, number: int, origin: str, expected_index: int) -> Step:
    where = f"{origin}, line {number}"
    parts = line.split(maxsplit=4)
    if len(parts) < 3 or not _INDEX.fullmatch(parts[0]) or len(parts[0]) > _NUMBER_LIMIT:
        raise TestkitError(f"{where}: expected '<step> <kind> <actor> ...', got {quoted(line)}")
    index, kind, actor = int(parts[0]), parts[1], parts[2]
    if index != expected_index:
        raise TestkitError(
            f"{where}: expected step {expected_index}, got step {index}; "
            "a trace must list every step in order"
        )
    if kind not in SCHEDULE_KINDS and kind not in EVENT_KINDS:
        raise TestkitError(f"{where}: unknown step kind {quoted(kind, 40)} in {quoted(line)}")
    what = parts[3] if len(parts) > 3 else ""
    detail = parts[4] if len(parts) > 4 else ""
    if kind == "random":
        _check_random(what, detail, where)
    elif kind in ("wait", "resume") and not detail:
        raise TestkitError(
            f"{where}: a {kind} step needs '<waiter> <target> <request>' (e.g. "
            f"'{expected_index} {kind} A#1 B#1 ask:Foo'), got {quoted(line)}"
        )
    return Step(index, kind, actor, what, detail)


def _check_random(what: str, detail: str, where: str) -> None:
    """A random step's value must be one the program could have been given."""
    match = _RANDOM.match(what)
    if match is None or detail:
        raise TestkitError(
            f"{where}: a random step needs 'random_int(n)=v' or "
            f"'random_bool()=True|False', got {quoted(' '.join((what, detail)).strip())}"
        )
    bound, token = match.group(2), match.group(3)
    if bound is None:
        if token not in ("True", "False"):
            raise TestkitError(f"{where}: random_bool() must be True or False, got {quoted(token)}")
        return
    if len(bound) > _NUMBER_LIMIT or int(bound) < 1:
        shown = bound if len(bound) <= _NUMBER_LIMIT else quoted(bound, _NUMBER_LIMIT)
        raise TestkitError(f"{where}: random_int(n) needs an integer n >= 1, got n={shown}")
    if not _INDEX.fullmatch(token) or len(token) > _NUMBER_LIMIT or int(token) >= int(bound):
        raise TestkitError(
            f"{where}: random_int({bound}) must be an integer in [0, {bound}), got {quoted(token)}"
        )
