"""Messages in few words: `Debit(o-2)` rather than `Debit(order='o-2', ...)`, for arrows in a
picture and sentences in an explanation, where a reader needs the payload at a glance."""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import Any

import pykka

DEFAULT_PAYLOAD_LENGTH = 24
"""Characters of payload shown inside a message's parentheses (the type is always shown)."""

_PLAIN = re.compile(r"^[A-Za-z0-9_.:#@/+-]+$")
_REPR_CALL = re.compile(r"^([A-Za-z_][\w.]*)\((.*)\)$", re.DOTALL)
_KEYWORD = re.compile(r"\b[A-Za-z_]\w*=")


def cut(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, an ellipsis marking the cut."""
    if limit <= 0:
        return ""
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


def _value(value: Any, depth: int) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value if value and _PLAIN.match(value) else repr(value)
    if isinstance(value, pykka.ActorProxy):  # never getattr a proxy: that sends a message
        value = value.actor_ref
    if isinstance(value, pykka.ActorRef):  # its actor's name under the tester
        return str(value.actor_urn).rsplit(":", 1)[-1]
    if depth > 2:
        return "…"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = ", ".join(
            _value(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value) if f.repr
        )
        return f"{type(value).__name__}({inner})"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_value(item, depth + 1) for item in value[:6])
        more = ", …" if len(value) > 6 else ""
        return f"[{inner}{more}]" if isinstance(value, list) else f"({inner}{more})"
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not break a picture or a sentence
        return f"<repr failed: {exc!r}>"
    if text.startswith("<") and " at 0x" in text:  # object's default repr: nothing to say
        return f"{type(value).__name__}()"
    match = _REPR_CALL.match(text)
    if match:  # Foo(a=1, b='x') -> Foo(1, 'x')
        return f"{match.group(1).rsplit('.', 1)[-1]}({_KEYWORD.sub('', match.group(2))})"
    return text.replace("\n", " ")


def payload_text(message: Any, limit: int = DEFAULT_PAYLOAD_LENGTH) -> str:
    """What `message` carries, without its type and cut to `limit` characters: `o-2` for
    `Debit(order='o-2')`, `-98` for `HopperLevel(percent=-98.0)`, `""` when it carries nothing.

        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class Debit:
        ...     order: str
        >>> payload_text(Debit("o-2"))
        'o-2'
    """
    text = _value(message, 0)
    name = type(message).__name__
    if text.startswith(name + "(") and text.endswith(")"):
        text = text[len(name) + 1 : -1]
    elif text in (name, f"{name}()"):
        text = ""
    return cut(text, limit)


def message_text(message: Any, limit: int = DEFAULT_PAYLOAD_LENGTH) -> str:
    """`Type(payload)` with a short payload (see `payload_text`); a bare value (a string, a
    number, an enum member sent as a message) is shown as itself."""
    if isinstance(message, (str, int, float, enum.Enum)) or message is None:
        return cut(_value(message, 0), limit + 8)
    name = type(message).__name__
    payload = payload_text(message, limit)
    return f"{name}({payload})" if payload else name
