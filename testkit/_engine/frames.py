"""Whose code a frame runs: the program under test's, or the tester's, fsm's, a library's
(Pykka, greenlet, freezegun) or Python's own. Where a bug was raised, the watchdog's "stuck
in", and the trimmed tracebacks all ask this one question."""

from __future__ import annotations

import functools
import importlib.util
import os
import sysconfig


def _folder(path: str) -> str:
    return os.path.join(os.path.realpath(path), "")


def _package(name: str) -> str:
    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec is not None else None
    return os.path.dirname(origin) if origin else os.path.join(os.sep, "nowhere", name)


_TESTKIT = _folder(os.path.dirname(os.path.dirname(__file__)))
_GREENLET = _folder(_package("greenlet"))
_PACKAGES = (_TESTKIT, _GREENLET, *(_folder(_package(n)) for n in ("fsm", "pykka", "freezegun")))
"""The tester's, fsm's and the libraries' own code: never where a bug of the program is."""
_PATHS = sysconfig.get_paths()
_STDLIB = tuple({_folder(_PATHS["stdlib"]), _folder(_PATHS["platstdlib"])})
_SITE = tuple({_folder(_PATHS["purelib"]), _folder(_PATHS["platlib"])})


@functools.lru_cache(maxsize=4096)
def is_users(filename: str) -> bool:
    """Whether `filename` is the program under test's own code: not the tester's, fsm's, a
    library's, Python's (a site-packages folder inside Python's own counts as the user's),
    nor code without a file (`<string>`)."""
    if filename.startswith("<"):
        return False
    path = os.path.realpath(filename)
    if path.startswith(_PACKAGES):
        return False
    return not (path.startswith(_STDLIB) and not path.startswith(_SITE))


@functools.lru_cache(maxsize=4096)
def is_testers(filename: str) -> bool:
    """Whether `filename` is the tester's own code (testkit, greenlet): left out of the
    tracebacks a bug report shows, where fsm's and Pykka's frames still say what happened."""
    if filename.startswith("<"):
        return False
    return os.path.realpath(filename).startswith((_TESTKIT, _GREENLET))
