"""What the raw trace holds for each step, and how a step is described to people."""

from __future__ import annotations

import re
from typing import Any

from pykka import messages as pykka_messages

START: Any = object()  # trace payload: the actor's on_start ran
CONTINUE: Any = object()  # trace payload: the test function went on


class Wait:
    """Trace payload of a handler that began waiting (`kind` "wait") or went on after its
    wait ended (`kind` "resume"): on whom (`target`, an actor's id) and for what (`what`:
    `ask:Foo`, `call:play`, `stop`, with `:timeout` when the wait timed out)."""

    __slots__ = ("kind", "target", "what")

    def __init__(self, kind: str, target: str, what: str) -> None:
        self.kind = kind
        self.target = target
        self.what = what


def request_text(message: Any) -> str:
    """What an ask waits for, as a wait step and a deadlock report show it: `ask:Foo`,
    `call:play` (a proxy method), `get:volume` (a proxy attribute) or `stop`."""
    cls = message.__class__
    if cls is pykka_messages._ActorStop:
        return "stop"
    if cls is pykka_messages.ProxyCall:
        return f"call:{'.'.join(message.attr_path)}"
    if cls is pykka_messages.ProxyGetAttr or cls is pykka_messages.ProxySetAttr:
        verb = "get" if cls is pykka_messages.ProxyGetAttr else "set"
        return f"{verb}:{'.'.join(message.attr_path)}"
    return f"ask:{cls.__qualname__}"


class Choice:
    """Trace payload of a random choice."""

    __slots__ = ("as_bool", "n", "value")

    def __init__(self, n: int, value: int, as_bool: bool) -> None:
        self.n = n
        self.value = value
        self.as_bool = as_bool

    def describe(self) -> str:
        if self.as_bool:
            return f"random_bool()={self.value == 1}"
        return f"random_int({self.n})={self.value}"


def describe_message(message: Any) -> tuple[str, str, str]:
    """(kind, what, detail) of a delivered message, as the trace shows it."""
    from fsm._actor import _StateTimeoutFired, _TimerFired

    if message is START:
        return "start", "", ""
    if message is CONTINUE:
        return "continue", "", ""
    cls = message.__class__
    if cls is _TimerFired:
        return "deliver", f"timer:{message.name}", _short(message.message)
    if cls is _StateTimeoutFired:
        return "deliver", "StateTimeout", ""
    if cls is pykka_messages._ActorStop:
        return "stop", "", ""
    if cls is pykka_messages.ProxyCall:
        return "deliver", f"call:{'.'.join(message.attr_path)}", call_text(message)
    if cls is pykka_messages.ProxyGetAttr:
        return "deliver", f"get:{'.'.join(message.attr_path)}", ""
    if cls is pykka_messages.ProxySetAttr:
        return "deliver", f"set:{'.'.join(message.attr_path)}", _short(message.value)
    return "deliver", cls.__qualname__, _short(message)


ARGUMENT_LIMIT = 60
"""Characters of one argument's repr a proxy call's trace step keeps."""
DETAIL_LIMIT = 160
"""Characters of a message's (or a call's arguments') repr a trace step keeps."""


def call_text(message: Any) -> str:
    """A proxy call's arguments as a trace step shows them: `(1, 'a', key=[2])`, each
    argument's repr cut at `ARGUMENT_LIMIT` characters, the whole at `DETAIL_LIMIT`. Cuts
    fall at the same characters in every run, so replay compares what was kept."""
    parts = [_short(arg, ARGUMENT_LIMIT) for arg in message.args]
    parts += [f"{key}={_short(value, ARGUMENT_LIMIT)}" for key, value in message.kwargs.items()]
    return _cut(f"({', '.join(parts)})", DETAIL_LIMIT)


def _short(value: Any, limit: int = DETAIL_LIMIT) -> str:
    """`repr(value)` on one line, sets in a canonical order, cut at `limit` characters."""
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not break the report
        text = f"<repr failed: {exc!r}>"
    if "{" in text:
        text = canonical(text)
    return _cut(text.replace("\n", "\\n"), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


_OPENERS = {"(": ")", "[": "]", "{": "}"}


def canonical(text: str) -> str:
    """`text`, a repr, with the elements of each set display (`{'b', 'a'}`, also inside
    `frozenset(...)`, dataclasses, dicts) in sorted order: the order Python prints a set in
    follows the string hash seed (`PYTHONHASHSEED`), so only the sorted form is the same in
    every process. Dict displays keep their (insertion) order. A text whose brackets or
    quotes do not balance (a custom `__repr__`) is returned as it is."""
    try:
        rendered, end = _group(text, 0, "")
    except ValueError:
        return text
    return rendered if end == len(text) else text


def _group(text: str, start: int, closer: str) -> tuple[str, int]:
    """Canonical text from `start` up to the `closer` that ends the group (excluded), and
    the index of that closer; top-level elements of a `{}` group that is a set are sorted."""
    out: list[str] = []
    elements: list[str] = []  # the top-level elements of a brace group, while it is a set
    is_set = closer == "}"
    element = 0  # where the current element starts in "".join(out)
    i = start
    search = _SPECIAL.search
    while True:
        found = search(text, i)
        if found is None:
            if closer:
                raise ValueError("unbalanced")
            out.append(text[i:])
            return "".join(out), len(text)
        j = found.start()
        out.append(text[i:j])
        char = text[j]
        if char in "'\"":
            end = _string_end(text, j)
            out.append(text[j:end])
            i = end
        elif char in _OPENERS:
            inner, end = _group(text, j + 1, _OPENERS[char])
            out.append(char + inner + _OPENERS[char])
            i = end + 1
        elif char in ")]}":
            if char != closer:
                raise ValueError("unbalanced")
            rendered = "".join(out)
            if is_set and rendered.strip():
                elements.append(rendered[element:].strip())
                return ", ".join(sorted(elements)), j
            return rendered, j
        elif char == ":":
            is_set = False  # a dict display (or a slice, a lambda: left as it is)
            out.append(char)
            i = j + 1
        else:  # ","
            if is_set:
                rendered = "".join(out)
                elements.append(rendered[element:].strip())
                out = [rendered, ","]
                element = len(rendered) + 1
            else:
                out.append(char)
            i = j + 1


_SPECIAL = re.compile(r"""['"()\[\]{}:,]""")


def _string_end(text: str, start: int) -> int:
    """The index after the string literal opening at `start` (backslash escapes honoured)."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    raise ValueError("unterminated string")
