"""Shared fixtures: every test starts and ends with no actor running."""

from __future__ import annotations

from collections.abc import Iterator

import pykka
import pytest

from testkit import TestProbe
from tests.bases import ACTOR_BASES

pytest_plugins = ["pytester", "testkit.pytest_plugin"]

# a project of its own, with a seeded race; tests/test_pytest_suite.py runs it
collect_ignore = ["thirdparty_style"]


@pytest.fixture(autouse=True)
def _stop_all_actors() -> Iterator[None]:
    yield
    pykka.ActorRegistry.stop_all()


@pytest.fixture
def probe() -> TestProbe:
    return TestProbe()


@pytest.fixture(params=list(ACTOR_BASES.values()), ids=list(ACTOR_BASES))
def actor_base(request: pytest.FixtureRequest) -> type[pykka.Actor]:
    """The FSM suite runs once with a thread per actor, once on the shared pool."""
    base: type[pykka.Actor] = request.param
    return base
