"""The protocol-bug benchmark (`bench/bugs/`) stays honest: every buggy variant is found, every
fixed variant is clean, and the portfolio estimator of `bench/strategies.py` adds up."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator

import pytest

import testkit
from bench.bugs import SYSTEMS
from bench.strategies import portfolio_median, strategy_of
from testkit import TestkitError
from testkit._strategies import PortfolioStrategy

FINDER = {"lost_wakeup": "fair-pct", "safra_termination": "random"}
"""The strategy each bug is found with (pct where none is named; the lost wake-up is a
liveness bug, which only a fair strategy reports)."""


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize("system", SYSTEMS)
def test_buggy_variant_is_found(system: str) -> None:
    module = importlib.import_module(f"bench.bugs.{system}")
    strategy = FINDER.get(system, "pct")
    report = testkit.explore(module.buggy, 3000, 2000, strategy, 1, progress=False, shrink=False)
    assert report.bug is not None, f"{system}: {strategy} did not find the bug"


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("strategy", ["random", "fair-pct", "fair-pos"])
def test_fixed_variant_is_clean(system: str, strategy: str) -> None:
    module = importlib.import_module(f"bench.bugs.{system}")
    report = testkit.explore(module.fixed, 40, 2000, strategy, 1, progress=False, shrink=False)
    assert report.bug is None, f"{system}: {report.bug}"


def test_portfolio_median_takes_members_in_turn() -> None:
    assert portfolio_median([0.5]) == 1
    assert portfolio_median([0.0, 0.5]) == 2  # one good member of two: twice its iterations
    assert portfolio_median([0.1, 0.1]) == portfolio_median([0.1])
    assert portfolio_median([0.0, 0.0]) == float("inf")


def test_a_candidate_portfolio_column_takes_its_turns_in_order() -> None:
    candidate = strategy_of("fair-pct+probabilistic+fair-pct")
    assert isinstance(candidate, PortfolioStrategy)
    names = [m.name for m in candidate.members]
    assert names == ["fair-pct:3", "probabilistic:3", "fair-pct:3"]
    assert candidate.members[0] is candidate.members[2]  # one instance, two turns
    assert strategy_of("pos") == "pos"
    with pytest.raises(TestkitError, match="unknown strategy 'nope'"):
        strategy_of("pos+nope")
