"""Strategies by name: `pct:5`, `fair-prioritization:10`, `portfolio`."""

from __future__ import annotations

import re

from testkit._errors import TestkitError
from testkit._strategies.base import RandomStrategy, Strategy
from testkit._strategies.dfs import DFSStrategy
from testkit._strategies.fair import FairStrategy
from testkit._strategies.portfolio import PortfolioStrategy
from testkit._strategies.pos import POSStrategy
from testkit._strategies.priority import PCTStrategy, PrioritizationStrategy
from testkit._strategies.probabilistic import ProbabilisticStrategy
from testkit._strategies.rl import QLearningStrategy

DEFAULT_BOUND = {"pct": 3, "prioritization": 10, "probabilistic": 3}

NAMES = (
    "random",
    "probabilistic",
    "pct",
    "fair-pct",
    "prioritization",
    "fair-prioritization",
    "pos",
    "fair-pos",
    "rl",
    "fair-rl",
    "dfs",
    "portfolio",
)
_SPEC = re.compile(r"^(?P<base>[a-z-]+)(?::(?P<bound>.*))?$")


def make_strategy(spec: str | Strategy) -> Strategy:
    """A strategy from its name, optionally with a bound: `pct:5`, `fair-prioritization:10`."""
    if isinstance(spec, Strategy):
        return spec
    match = _SPEC.match(spec.strip().lower()) if isinstance(spec, str) else None
    base = match.group("base") if match else ""
    if match is None or base not in NAMES:
        raise TestkitError(
            f"unknown strategy {spec!r}; choose one of {', '.join(NAMES)} "
            "(pct, prioritization and probabilistic take an optional bound, e.g. 'pct:5')"
        )
    raw = match.group("bound")
    fair = base.startswith("fair-")
    core = base.removeprefix("fair-")
    if raw is not None and core not in DEFAULT_BOUND:
        raise TestkitError(f"strategy {core!r} takes no bound, got {spec!r}")
    if raw is not None and not (raw.isdigit() and raw.isascii()):
        raise TestkitError(
            f"the bound of strategy {base!r} must be a whole number >= 0, got {raw!r} in "
            f"{spec!r} (e.g. '{base}:{DEFAULT_BOUND[core]}')"
        )
    bound = int(raw) if raw is not None else DEFAULT_BOUND.get(core, 0)
    strategy: Strategy
    if core == "random":
        strategy = RandomStrategy()
    elif core == "probabilistic":
        strategy = ProbabilisticStrategy(bound)
    elif core == "pct":
        strategy = PCTStrategy(bound)
    elif core == "prioritization":
        strategy = PrioritizationStrategy(bound)
    elif core == "pos":
        strategy = POSStrategy()
    elif core == "rl":
        strategy = QLearningStrategy()
    elif core == "dfs":
        strategy = DFSStrategy()
    else:
        strategy = default_portfolio()
    return FairStrategy(strategy) if fair else strategy


def default_portfolio() -> PortfolioStrategy:
    """The default portfolio: `probabilistic`, `fair-pct` and `fair-pos`, one turn each.

    Chosen by measurement (`python bench/strategies.py -s 80` with candidate portfolios as
    `a+b+c` columns): within 2x of the best single strategy's median iterations on every
    benchmark bug over 80 seeds (worst 1.85x). `fair-pct` and `fair-pos` find the bugs where a
    message must stay back while much else happens 40-90x sooner than `probabilistic` (2PC,
    primary/backup; the lease 3-4x), and `fair-pct` the lost wake-up about twice as soon as
    any other; `probabilistic` is best on the Raft election, where strict priorities
    starve the interleavings a split vote needs. A round-robin of k turns finds a bug at
    about the mean of its members' rates, so a bug only one member finds costs k times its
    iterations: three turns is the fewest that cover every bug, and a fourth (fair-pct twice,
    the former default) put Raft at 2.7x. Every member is fair, so liveness bugs are found.

        explore(test, strategy="portfolio")
    """
    return PortfolioStrategy(
        [
            ProbabilisticStrategy(DEFAULT_BOUND["probabilistic"]),
            FairStrategy(PCTStrategy(DEFAULT_BOUND["pct"])),
            FairStrategy(POSStrategy()),
        ]
    )
