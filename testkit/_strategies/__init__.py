"""Exploration strategies, one module each: which enabled operation runs next, and which
random value comes.

The runtime asks only when there is a real choice (two or more enabled operations, or a
random value). A strategy may keep state across the iterations of one `explore` call (PCT
learns how long schedules are; DFS remembers where it is in the tree). All randomness comes
from the per-iteration `rng`, so the same seed always gives the same schedules.
"""

from testkit._strategies.base import RandomStrategy, Strategy
from testkit._strategies.catalog import DEFAULT_BOUND, NAMES, make_strategy
from testkit._strategies.dfs import DFSStrategy
from testkit._strategies.fair import FairStrategy
from testkit._strategies.portfolio import PortfolioStrategy
from testkit._strategies.pos import POSStrategy
from testkit._strategies.priority import PCTStrategy, PrioritizationStrategy
from testkit._strategies.probabilistic import ProbabilisticStrategy
from testkit._strategies.rl import QLearningStrategy

__all__ = [
    "DEFAULT_BOUND",
    "NAMES",
    "DFSStrategy",
    "FairStrategy",
    "PCTStrategy",
    "POSStrategy",
    "PortfolioStrategy",
    "PrioritizationStrategy",
    "ProbabilisticStrategy",
    "QLearningStrategy",
    "RandomStrategy",
    "Strategy",
    "make_strategy",
]
