"""What a systematic test is: a plain function of the runtime, and the name it goes by."""

from __future__ import annotations

import inspect
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


def test_name(test: Callable[..., Any]) -> str:
    """`module:function` of a test, as the command line takes it."""
    module = getattr(test, "__module__", None) or "?"
    name = getattr(test, "__qualname__", None) or getattr(test, "__name__", None) or repr(test)
    return f"{module}:{name}"
