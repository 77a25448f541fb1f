"""What a systematic test is: a plain function of the runtime, and the name it goes by."""

from __future__ import annotations

import importlib
import inspect
import sys
import traceback
from collections.abc import Callable
from typing import Any

from testkit._engine.runtime import Runtime
from testkit._errors import TestkitError

TestFunction = Callable[[Runtime], Any]
"""`test(runtime)`: starts actors, registers monitors, waits with probes or `ask`."""


def check_test(test: Any, where: str = "explore") -> None:
    """A test is a plain function of one argument, the runtime; anything else is misuse."""
    if not callable(test):
        raise TestkitError(
            f"{where}(test, ...): test must be a function taking the runtime, got {test!r}"
        )
    name = getattr(test, "__qualname__", None) or repr(test)
    if inspect.iscoroutinefunction(test) or inspect.isasyncgenfunction(test):
        raise TestkitError(
            f"{name} is an async function; the tester runs plain functions (def, not "
            "async def): its actors need no event loop, and waiting is ask() or a TestProbe"
        )
    if inspect.isgeneratorfunction(test):
        raise TestkitError(
            f"{name} is a generator function (it contains yield), so calling it would run "
            "nothing; write the test as a plain function of the runtime"
        )
    try:
        signature = inspect.signature(test)
    except (TypeError, ValueError):  # a builtin or C callable: nothing to check
        return
    try:
        signature.bind(object())
    except TypeError:
        raise TestkitError(
            f"{name}{signature} cannot be called with the runtime as its one argument; a "
            f"test function looks like: def {getattr(test, '__name__', 'test')}(runtime): ..."
        ) from None


_loaded: dict[int, tuple[Any, str]] = {}
"""Tests loaded by `load_test`, by id, with the target they were loaded by (the object is
kept so that its id is not reused)."""


def load_test(target: str) -> Callable[..., Any]:
    """The test named by `module:function` (or `module:Class.method`, or `module:factory()`:
    the factory is called without arguments and its result is the test); a TestkitError
    saying what is wrong otherwise. The test keeps `target` as its name (`test_name`), so
    traces record a name this function can load again: in a worker process, for a replay,
    for the sequence diagram."""
    if not isinstance(target, str):
        raise TestkitError(f"a test target is a 'module:function' string, got {target!r}")
    module_name, sep, path = target.partition(":")
    call = path.endswith("()")
    attribute = path.removesuffix("()")
    if not sep or not module_name or not attribute or "(" in attribute or ")" in attribute:
        raise TestkitError(
            "expected MODULE:FUNCTION (e.g. failover_examples.coffee_machine:execute), or "
            f"MODULE:FACTORY() for a factory called without arguments, got {target!r}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TestkitError(
            f"cannot import module {module_name!r}: {exc}; run from the directory that "
            "contains it, or install its package"
        ) from None
    except (Exception, SystemExit) as exc:  # the module is broken: say where, no traceback
        raise TestkitError(
            f"importing module {module_name!r} failed: {_exception_line(exc)}; fix the module "
            "(python -c 'import " + module_name + "' shows the traceback)"
        ) from None
    test: Any = module
    for part in attribute.split("."):
        test = getattr(test, part, None)
        if test is None:
            raise TestkitError(f"module {module_name!r} has no function {attribute!r}")
    if call:
        if not callable(test):
            raise TestkitError(f"{target}: {attribute} is not a factory to call")
        try:
            test = test()
        except Exception as exc:
            raise TestkitError(
                f"{target}: calling the factory {attribute}() failed: {_exception_line(exc)}"
            ) from None
    if not callable(test):
        raise TestkitError(f"{target} is not a function but {type(test).__name__}")
    _loaded[id(test)] = (test, target)
    return test  # type: ignore[no-any-return]


def _exception_line(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    text = str(exc)
    return f"{type(exc).__name__}{': ' + text if text else ''}{where}"


def test_name(test: Callable[..., Any]) -> str:
    """`module:function` of a test, as the command line takes it: the target `load_test`
    loaded it by; else, for a test made by a factory and bound to a module-level name
    (`made = make(3)`), that name; else the module and qualified name."""
    loaded = _loaded.get(id(test))
    if loaded is not None and loaded[0] is test:
        return loaded[1]
    module = getattr(test, "__module__", None) or "?"
    name = getattr(test, "__qualname__", None) or getattr(test, "__name__", None)
    if name is None or "<" in name:  # not reachable by attribute from its module
        bound = _module_level_name(test, module)
        if bound is not None:
            return f"{module}:{bound}"
    return f"{module}:{name or repr(test)}"


def by_name(test: Callable[..., Any]) -> str | None:
    """The target `load_test` turns into this very test in another process, if there is
    one: the target it was loaded by, or the module-level name bound to it."""
    loaded = _loaded.get(id(test))
    if loaded is not None and loaded[0] is test:
        return loaded[1]
    name = test_name(test)
    module_name, _, path = name.partition(":")
    found: Any = sys.modules.get(module_name)
    for part in path.split("."):
        found = getattr(found, part, None)
    return name if found is test else None


def _module_level_name(test: Any, module_name: str) -> str | None:
    module = sys.modules.get(module_name)
    for name, value in list(vars(module).items()) if module is not None else ():
        if value is test:
            return name
    return None
