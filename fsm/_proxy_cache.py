"""Pykka's proxy introspection, done once per actor class instead of once per proxy.

Every `pykka.ActorProxy` walks its actor's attributes when it is made
(`pykka._introspection.introspect_attrs`): `dir()` of the actor and, for each public name, a
merge of the `__dict__` of every class in its MRO. A handler that makes a proxy, calls one
method and drops it spends most of its time there. What the class defines cannot differ
between its instances, so it is worked out once per class; what can differ is looked at
for each proxy as Pykka does: the instance's own attributes, class attributes that are
traversable or proxies (their contents may change), and everything below a traversable
attribute.

The result is the one Pykka computes (the same paths, each with the same `AttrInfo`), with
two deliberate differences: a class attribute added or removed after the first proxy is
noticed (the MRO's sizes are compared) but one replaced by a value of another kind is not
until a proxy asks for a name it does not know (Pykka then introspects again, in full, and
the class's entry is renewed); and the check for a proxy to the actor itself is always
`proxy == attr`, as in Pykka 4.5 (4.0 wrote `attr == proxy`, which a value with an odd
`__eq__`, such as an array, could turn into an error).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

import pykka
from pykka import _introspection
from pykka import _proxy as pykka_proxy

_logger = logging.getLogger("pykka")

AttrPath = tuple[str, ...]
_Introspect = Callable[..., dict[AttrPath, Any]]

_pykka_proxy: Any = pykka_proxy  # its `introspect_attrs` is the name a proxy calls
_original: _Introspect = _pykka_proxy.introspect_attrs
_AttrInfo: Any = _introspection.AttrInfo
_get_attr_directly: Callable[[Any, AttrPath], Any] = _introspection.get_attr_directly
_get_obj_dict: Callable[[Any], dict[str, Any]] = _introspection.get_obj_dict


class _ClassAttrs:
    """What a class's public attributes are, as a proxy of any of its instances sees them."""

    __slots__ = ("dynamic", "fixed", "names", "size")

    def __init__(self, cls: type) -> None:
        merged: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            merged.update(klass.__dict__)
        self.size = _size(cls)
        self.names = tuple(name for name in merged if not name.startswith("_"))
        """The public names the class defines (what `dir()` adds to an instance's own)."""
        self.fixed: dict[AttrPath, Any] = {}
        """Paths whose value the class defines and whose kind cannot change."""
        self.dynamic: list[str] = []
        """Names looked at for each proxy: traversable values and proxies."""
        for name in self.names:
            value = merged[name]
            if isinstance(value, pykka.ActorProxy) or _traversable(value):
                self.dynamic.append(name)
            else:
                self.fixed[(name,)] = _AttrInfo(callable=callable(value), traversable=False)


_classes: weakref.WeakKeyDictionary[type, _ClassAttrs] = weakref.WeakKeyDictionary()


def _attrs_of(cls: type) -> _ClassAttrs:
    attrs = _classes.get(cls)
    if attrs is None or attrs.size != _size(cls):
        attrs = _classes[cls] = _ClassAttrs(cls)
    return attrs


def _size(cls: type) -> int:
    return sum(len(klass.__dict__) for klass in cls.__mro__)


def _traversable(value: Any) -> bool:
    return (
        getattr(value, "_pykka_traversable", False) is True
        or getattr(value, "pykka_traversable", False) is True
    )


def _plain(obj: Any) -> bool:
    """Whether `dir(obj)` is its own attributes and its classes' (no `__dir__` of its own)."""
    kind: Any = type(obj)
    return kind.__dir__ is _OBJECT_DIR and isinstance(getattr(obj, "__dict__", None), dict)


_OBJECT_DIR: Any = object.__dir__


def introspect_attrs(*, root: Any, proxy: Any) -> dict[AttrPath, Any]:
    """Pykka's `introspect_attrs`, with what the actor's class defines worked out once."""
    cls = root.__class__
    if not _plain(root) or "_known_attrs" in proxy.__dict__:
        # a proxy that met a name it did not know introspects in full, as in Pykka
        _classes.pop(cls, None)
        return _original(root=root, proxy=proxy)
    attrs = _attrs_of(cls)
    own = root.__dict__
    result = dict(attrs.fixed)
    for name in attrs.dynamic:
        if name not in own:
            _visit(root, proxy, (name,), _class_value(cls, name), result)
    for name, value in own.items():
        if not name.startswith("_"):
            _visit(root, proxy, (name,), value, result)
    return result


def _class_value(cls: type, name: str) -> Any:
    """What Pykka's merge of the MRO's `__dict__`s holds for `name`: the nearest class's."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    raise AttributeError(f"type object {cls.__name__!r} has no attribute {name!r}")


def _visit(root: Any, proxy: Any, path: AttrPath, value: Any, result: dict[AttrPath, Any]) -> None:
    """One attribute, as Pykka's walk treats it, and below a traversable one its own."""
    if proxy == value:
        _logger.warning(
            f"{root} attribute {'.'.join(path)!r} is a proxy to itself. "
            f"Consider making it private by renaming it to {'_' + path[-1]!r}."
        )
        result.pop(path, None)
        return
    traversable = _traversable(value)
    result[path] = _AttrInfo(callable=callable(value), traversable=traversable)
    if not traversable:
        return
    # Pykka reads each child from the merged `__dict__`s of the object the path leads to
    parent = _get_attr_directly(root, path)
    members = _get_obj_dict(parent)
    for name in _public_dir(value):
        try:
            child = members[name]
        except KeyError:
            raise AttributeError(
                f"type object {parent.__class__.__name__!r} has no attribute {name!r}"
            ) from None
        _visit(root, proxy, (*path, name), child, result)


def _public_dir(obj: Any) -> list[str]:
    """The public names of `dir(obj)`, the class's part worked out once per class."""
    if not _plain(obj):
        return [name for name in dir(obj) if not name.startswith("_")]
    names = set(_attrs_of(type(obj)).names)
    names.update(name for name in obj.__dict__ if not name.startswith("_"))
    return sorted(names)


def install() -> None:
    """Make every new Pykka proxy introspect through the per-class cache."""
    _pykka_proxy.introspect_attrs = introspect_attrs


def uninstall() -> None:
    """Give Pykka its own introspection back."""
    _pykka_proxy.introspect_attrs = _original


def installed() -> bool:
    return _pykka_proxy.introspect_attrs is introspect_attrs
