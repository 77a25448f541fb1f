"""What the raw trace holds for each step, and how a step is described to people."""

from __future__ import annotations

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
        return "deliver", f"call:{'.'.join(message.attr_path)}", ""
    return "deliver", cls.__qualname__, _short(message)


def _short(value: Any, limit: int = 160) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not break the report
        text = f"<repr failed: {exc!r}>"
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."
