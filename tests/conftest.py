"""Shared fixtures: every test starts and ends with no actor running."""

from __future__ import annotations

from collections.abc import Iterator

import pykka
import pytest

from testkit import TestProbe

pytest_plugins = ["pytester", "testkit.pytest_plugin"]


@pytest.fixture(autouse=True)
def _stop_all_actors() -> Iterator[None]:
    yield
    pykka.ActorRegistry.stop_all()


@pytest.fixture
def probe() -> TestProbe:
    return TestProbe()
