"""How events and snapshots become bytes: JSON under registered type names, pickle on request.

Reading a journal must not run code the file chooses. So by default an event is stored as
the JSON of its fields under the name given to `register_event`, and reading it back builds
only classes registered under those names (their constructors run, nothing else). Values
JSON lacks (tuples, sets, dicts with other keys, `Decimal`, `bytes`, dates, UUIDs, nested
registered dataclasses and enums) are written as one-key tagged objects such as
`{"$tuple": [...]}`. A journal opened with `allow_pickle=True` pickles what is not registered,
and reads pickles back: only for files you trust, since unpickling runs arbitrary code.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import enum
import json
import pickle
import uuid
from collections.abc import Callable
from typing import Any, Final, TypeVar

from fsm._errors import FSMError, JournalError

T = TypeVar("T", bound=type)

PICKLE: Final = "pickle"
"""The manifest of a pickled event or snapshot."""

JSON_DATA: Final = "json"
"""The manifest of a snapshot's data written as JSON."""

_by_name: dict[str, type] = {}
_by_class: dict[type, str] = {}
_init_fields: dict[type, tuple[str, ...]] = {}


def register_event(cls: T, name: str) -> T:
    """Store instances of `cls` (a dataclass or an Enum) under `name` in every journal, and
    build them again from that name when reading. Register every event class, and every
    dataclass or enum used inside events or in snapshotted state data. Returns `cls`.

    The name, not the class's import path, is what the journal holds: classes may move
    between modules, a name must stay. Registering the same class under the same name again
    is harmless; another class under a taken name, or one class under two names, is an error.

    Example: `fsm.register_event(Deposited, "ledger.Deposited")`
    """
    if not isinstance(cls, type) or not (
        dataclasses.is_dataclass(cls) or issubclass(cls, enum.Enum)
    ):
        raise FSMError(
            f"register_event({cls!r}, {name!r}): events are dataclasses (or Enum classes); "
            "decorate the class with @dataclasses.dataclass(frozen=True) and register the class"
        )
    if not isinstance(name, str) or not name or name.startswith("$") or name == PICKLE:
        raise FSMError(
            f"register_event({cls.__name__}, {name!r}): the name must be a non-empty string, "
            f"not starting with '$' and not {PICKLE!r}, e.g. 'orders.OrderPlaced'"
        )
    taken = _by_name.get(name)
    if taken is not None and taken is not cls and not _same_definition(taken, cls):
        raise FSMError(
            f"register_event({cls.__qualname__}, {name!r}): the name {name!r} is already "
            f"registered for {taken.__module__}.{taken.__qualname__}; one name, one class: "
            "choose another name"
        )
    known = _by_class.get(cls)
    if known is not None and known != name:
        raise FSMError(
            f"register_event({cls.__qualname__}, {name!r}): {cls.__qualname__} is already "
            f"registered as {known!r}; a class has one name in the journal"
        )
    if taken is not None and taken is not cls:  # the same class, defined again (a reload)
        del _by_class[taken]
    _by_name[name] = cls
    _by_class[cls] = name
    if dataclasses.is_dataclass(cls):
        _init_fields[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return cls


def _same_definition(a: type, b: type) -> bool:
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def registered_name(cls: type) -> str | None:
    """The name `cls` is registered under, or None."""
    return _by_class.get(cls)


class NotEncodable(FSMError):
    """A value has no JSON form: its type is not registered and pickle was not allowed."""


# ---- encoding ------------------------------------------------------------------------------

_dumps: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_PLAIN: Final = frozenset({str, int, float, bool, type(None)})


def _fields_of(value: Any, cls: type, path: str) -> dict[str, Any]:
    names = _init_fields[cls]
    return {n: _encode(getattr(value, n), path, n) for n in names}


def _encode(value: Any, path: str, step: str) -> Any:
    kind = value.__class__
    if kind in _PLAIN:
        return value
    where = path if not step else f"{path}{step}" if step[0] == "[" else f"{path}.{step}"
    if kind is list:
        return [_encode(v, where, f"[{i}]") for i, v in enumerate(value)]
    if kind is tuple:
        return {"$tuple": [_encode(v, where, f"[{i}]") for i, v in enumerate(value)]}
    if kind is dict:
        if all(k.__class__ is str and not k.startswith("$") for k in value):
            return {k: _encode(v, where, f"[{k!r}]") for k, v in value.items()}
        return {
            "$dict": [
                [_encode(k, where, "[<key>]"), _encode(v, where, f"[{k!r}]")]
                for k, v in value.items()
            ]
        }
    name = _by_class.get(kind)
    if name is not None:
        if isinstance(value, enum.Enum):
            return {"$e": name, "m": value.name}
        return {"$t": name, "f": _fields_of(value, kind, where)}
    simple = _SIMPLE_ENCODERS.get(kind)
    if simple is not None:
        return simple(value)
    if kind is frozenset or kind is set:
        tag = "$frozenset" if kind is frozenset else "$set"
        return {tag: [_encode(v, where, "[<item>]") for v in value]}
    raise NotEncodable(_not_registered(value, where))


_SIMPLE_ENCODERS: Final[dict[type, Callable[[Any], Any]]] = {
    decimal.Decimal: lambda v: {"$decimal": str(v)},
    bytes: lambda v: {"$bytes": base64.b64encode(v).decode("ascii")},
    datetime.datetime: lambda v: {"$datetime": v.isoformat()},
    datetime.date: lambda v: {"$date": v.isoformat()},
    datetime.timedelta: lambda v: {"$timedelta": [v.days, v.seconds, v.microseconds]},
    uuid.UUID: lambda v: {"$uuid": str(v)},
}


def _not_registered(value: Any, where: str) -> str:
    kind = type(value)
    what = "a dataclass" if dataclasses.is_dataclass(kind) else "a value"
    if isinstance(value, enum.Enum):
        what = "an enum member"
    return (
        f"{where} is {what} of type {kind.__module__}.{kind.__qualname__}, which the journal "
        f"cannot store: register it with fsm.register_event({kind.__qualname__}, "
        f"'<unique name>') (it must be a dataclass or an Enum), or use JSON types, tuples, "
        "sets, Decimal, bytes, dates or UUIDs; a journal opened with allow_pickle=True "
        "pickles it instead (unsafe for files you do not trust)"
    )


def encode_event(event: Any, allow_pickle: bool) -> tuple[str, str | bytes]:
    """(manifest, payload) of `event`: its registered name and the JSON of its fields, or
    `PICKLE` and the pickle when it is not registered and `allow_pickle` is set."""
    kind = event.__class__
    name = _by_class.get(kind)
    try:
        if name is None:
            raise NotEncodable(
                _not_registered(event, f"the event {event!r}").replace(
                    "which the journal cannot store", "which is not registered"
                )
            )
        if isinstance(event, enum.Enum):
            return name, _dumps(event.name)
        return name, _dumps(_fields_of(event, kind, kind.__qualname__))
    except NotEncodable:
        if allow_pickle:
            return PICKLE, pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)
        raise


def encode_data(data: Any, allow_pickle: bool) -> tuple[str, str | bytes]:
    """(manifest, payload) of a snapshot's state data."""
    try:
        return JSON_DATA, _dumps(_encode(data, "the state data", ""))
    except NotEncodable:
        if allow_pickle:
            return PICKLE, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        raise


# ---- decoding ------------------------------------------------------------------------------


class Unreadable(Exception):
    """A stored value cannot be rebuilt; the caller names where it was stored."""


def _decode(value: Any) -> Any:
    kind = value.__class__
    if kind is list:
        return [_decode(v) for v in value]
    if kind is not dict:
        return value
    if len(value) == 1 or "$t" in value or "$e" in value:
        for key in value:
            if key.startswith("$"):
                return _decode_tagged(key, value)
            break
    return {k: _decode(v) for k, v in value.items()}


def _decode_tagged(tag: str, value: dict[str, Any]) -> Any:
    body = value[tag]
    if tag == "$t":
        return _build(body, value.get("f", {}))
    if tag == "$e":
        return _member(body, value.get("m"))
    if tag == "$tuple":
        return tuple(_decode(v) for v in body)
    if tag == "$dict":
        return {_decode(k): _decode(v) for k, v in body}
    if tag == "$frozenset":
        return frozenset(_decode(v) for v in body)
    if tag == "$set":
        return {_decode(v) for v in body}
    decoder = _SIMPLE_DECODERS.get(tag)
    if decoder is None:
        raise Unreadable(f"unknown tag {tag!r} (written by a newer pykka-fsm?)")
    try:
        return decoder(body)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise Unreadable(f"bad {tag} value {body!r}: {exc}") from None


_SIMPLE_DECODERS: Final[dict[str, Callable[[Any], Any]]] = {
    "$decimal": decimal.Decimal,
    "$bytes": lambda v: base64.b64decode(v.encode("ascii"), validate=True),
    "$datetime": datetime.datetime.fromisoformat,
    "$date": datetime.date.fromisoformat,
    "$timedelta": lambda v: datetime.timedelta(v[0], v[1], v[2]),
    "$uuid": uuid.UUID,
}


def _registered(name: Any) -> type:
    cls = _by_name.get(name) if isinstance(name, str) else None
    if cls is None:
        raise Unreadable(
            f"type name {name!r} is not registered in this process: import the module that "
            f"defines it and call fsm.register_event(<its class>, {name!r}) before recovering"
        )
    return cls


def _build(name: Any, fields: Any) -> Any:
    cls = _registered(name)
    if not isinstance(fields, dict) or issubclass(cls, enum.Enum):
        raise Unreadable(f"{name!r} is stored as {fields!r}, not as fields of {cls.__name__}")
    kwargs = {k: _decode(v) for k, v in fields.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise Unreadable(
            f"cannot rebuild {cls.__qualname__} (registered as {name!r}) from the stored "
            f"fields {sorted(kwargs)}: {exc}; its fields changed since the event was written"
        ) from None


def _member(name: Any, member: Any) -> Any:
    cls = _registered(name)
    if (
        not issubclass(cls, enum.Enum)
        or not isinstance(member, str)
        or member not in cls.__members__
    ):
        raise Unreadable(
            f"{member!r} is not a member of {cls.__qualname__} (registered as {name!r})"
        )
    return cls[member]


Where = str | Callable[[], str]
"""Names the place of a stored entry in an error: text, or a function that makes it (only
called on an error: recovery decodes millions of entries)."""


def _place(where: Where) -> str:
    return where if isinstance(where, str) else where()


_scan: Final[Callable[[str, int], tuple[Any, int]]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
"""The C scanner of a JSON decoder: `json.loads` without its whitespace regex per entry."""
_decoders: dict[str, Callable[[str | bytes], Any]] = {}


def _decoder(manifest: str) -> Callable[[str | bytes], Any]:
    """The function that rebuilds events stored under `manifest` (cached per name)."""
    decoder = _decoders.get(manifest)
    if decoder is not None and _by_name.get(manifest) is _decoder_class.get(manifest):
        return decoder
    cls = _registered(manifest)
    if issubclass(cls, enum.Enum):

        def decoder(payload: str | bytes) -> Any:
            return _member(manifest, _json(payload))

    else:
        containers = (dict, list)

        def decoder(payload: str | bytes) -> Any:
            fields = _json(payload)
            if fields.__class__ is not dict:
                raise Unreadable(f"{manifest!r} is stored as {fields!r}, not as fields")
            for key, value in fields.items():
                if value.__class__ in containers:
                    fields[key] = _decode(value)
            try:
                return cls(**fields)
            except TypeError as exc:
                raise Unreadable(
                    f"cannot rebuild {cls.__qualname__} (registered as {manifest!r}) from the "
                    f"stored fields {sorted(fields)}: {exc}; its fields changed since the "
                    "event was written"
                ) from None

    _decoders[manifest] = decoder
    _decoder_class[manifest] = cls
    return decoder


_decoder_class: dict[str, type] = {}


def _json(payload: str | bytes) -> Any:
    text = payload if payload.__class__ is str else bytes(payload).decode("utf-8")  # type: ignore[arg-type]
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise Unreadable("the stored value is not valid JSON (empty)") from None
    if end != len(text):
        raise Unreadable(f"the stored value is not valid JSON (extra data at {end})")
    return value


def event_decoder(manifest: str, allow_pickle: bool) -> Callable[[str | bytes], Any]:
    """The function that rebuilds an event stored under `manifest`; it (and this) raise
    `Unreadable`, `ValueError` or `TypeError` for what cannot be read (see `unreadable`)."""
    if manifest == PICKLE:
        return lambda payload: _unpickle(payload, allow_pickle)
    return _decoder(manifest)


def unreadable(where: Where, exc: Exception) -> JournalError:
    """The error for an entry at `where` that `event_decoder` could not read."""
    if isinstance(exc, Unreadable):
        return JournalError(f"{_place(where)}: {exc}")
    return JournalError(
        f"{_place(where)}: the stored event is not valid JSON ({exc}); the journal "
        "is corrupt or was written by another program"
    )


def decode_event(manifest: str, payload: str | bytes, allow_pickle: bool, where: Where) -> Any:
    """The event stored as (manifest, payload); `where` names its place for errors."""
    try:
        return event_decoder(manifest, allow_pickle)(payload)
    except (Unreadable, ValueError, TypeError) as exc:
        raise unreadable(where, exc) from None


def decode_data(manifest: str, payload: str | bytes, allow_pickle: bool, where: Where) -> Any:
    """The state data of a snapshot stored as (manifest, payload)."""
    try:
        if manifest == PICKLE:
            return _unpickle(payload, allow_pickle)
        if manifest != JSON_DATA:
            raise Unreadable(f"unknown snapshot format {manifest!r}")
        return _decode(_json(payload))
    except Unreadable as exc:
        raise JournalError(f"{_place(where)}: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise JournalError(
            f"{_place(where)}: the stored snapshot is not valid JSON ({exc}); the journal "
            "is corrupt or was written by another program"
        ) from None


def _unpickle(payload: str | bytes, allow_pickle: bool) -> Any:
    if not allow_pickle:
        raise Unreadable(
            "this entry is a pickle, and reading a pickle runs whatever code it names; open "
            "the journal with allow_pickle=True only if you trust the file"
        )
    if isinstance(payload, str):
        raise Unreadable("a pickle stored as text: the journal is corrupt")
    try:
        return pickle.loads(payload)
    except Exception as exc:
        raise Unreadable(f"cannot unpickle it: {exc!r}") from None
