"""pytest integration: the `explore` fixture fails the test on a bug, with trace and replay.

Enable it in your `conftest.py` with `pytest_plugins = ["testkit.pytest_plugin"]`, then:

    def test_coffee_machine(explore):
        report = explore(execute_fixed, iterations=200, max_steps=2000, seed=1)

(It is not auto-registered: pytest would then rewrite the asserts of every module of this
distribution, changing the messages of the very assertions the tester reports.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testkit._explore import explore
from testkit._report import Report, describe_bug, test_name


def _trace_path(root: Path, nodeid: str) -> Path:
    return root / ".testkit-traces" / (re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid) + ".trace")


def _replay_hint(test: Callable[..., Any], path: Path) -> str:
    name = test_name(test)
    if "<locals>" in name or "<lambda>" in name:
        return f"testkit.replay(<your test function>, {str(path)!r})"
    return f"python -m testkit replay {name} {path}"


@pytest.fixture(name="explore")
def explore_fixture(request: pytest.FixtureRequest) -> Callable[..., Report]:
    """`explore(test, ...)` that fails the pytest test if a bug is found."""

    def run(test: Callable[..., Any], *args: Any, **kwargs: Any) -> Report:
        report = explore(test, *args, **kwargs)
        bug = report.bug
        if bug is not None:
            path = bug.trace.save(_trace_path(Path(request.config.rootpath), request.node.nodeid))
            pytest.fail(
                f"{describe_bug(bug)}\ntrace: {path}\nreplay: {_replay_hint(test, path)}",
                pytrace=False,
            )
        return report

    return run
