"""Each strategy's defining property, on operations we control, and replay of what they find."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

import testkit
from testkit import TestkitError, explore, replay
from testkit._strategies import (
    FairStrategy,
    PCTStrategy,
    POSStrategy,
    PrioritizationStrategy,
    QLearningStrategy,
    RandomStrategy,
    Strategy,
    make_strategy,
)
from tests import buggy_systems as systems


class Op:
    """A stand-in for a runtime operation: an id, an enabled flag, maybe a partner."""

    def __init__(self, name: str) -> None:
        self.id = name
        self.enabled = True
        self.timers: Op | None = None
        self.mailbox: Op | None = None

    def __repr__(self) -> str:
        return self.id


def _ops(n: int) -> list[Op]:
    return [Op(f"op{i}") for i in range(n)]


def _begin(strategy: Strategy, ops: list[Op], iteration: int = 0, max_steps: int = 10_000) -> None:
    strategy.begin(iteration, random.Random(iteration), max_steps)
    hook = strategy.enabled_hook()
    for op in ops:
        if hook is not None:
            hook(op)


def _run(strategy: Strategy, ops: list[Op], decisions: int) -> list[Op]:
    """`decisions` picks among always-enabled `ops`; the chosen ones in order."""
    chosen = [strategy.pick(ops, step) for step in range(decisions)]
    strategy.end(decisions)
    return chosen


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_pct_makes_exactly_d_minus_1_effective_change_points_on_a_known_schedule(
    depth: int,
) -> None:
    pct = PCTStrategy(depth)
    ops = _ops(4)
    _begin(pct, ops)
    _run(pct, ops, 40)  # learns the run length: 40 decisions
    assert pct.expected_decisions == 40
    for iteration in range(1, 30):
        _begin(pct, ops, iteration)
        at_first = 0 in pct._change_points  # a switch before the first choice: not seen below
        chosen = _run(pct, ops, 40)
        switches = sum(a is not b for a, b in itertools.pairwise(chosen))
        assert pct.effective_changes == depth - 1
        assert switches == depth - 1 - at_first  # strict priorities: only change points switch


def test_pct_gives_new_operations_a_priority_above_every_demoted_one() -> None:
    pct = PCTStrategy(3)
    ops = _ops(2)
    _begin(pct, ops)
    _run(pct, ops, 10)
    for iteration in range(1, 20):
        _begin(pct, ops, iteration)
        _run(pct, ops, 10)  # both change points demote ops[0] or ops[1]
        late = Op("new actor")
        hook = pct.enabled_hook()
        assert hook is not None
        hook(late)
        assert pct.pick([*ops, late], 10) is late


def test_prioritization_counts_change_points_over_decisions_only() -> None:
    strategy = PrioritizationStrategy(2)
    ops = _ops(3)
    _begin(strategy, ops)
    _run(strategy, ops, 30)
    for iteration in range(1, 20):
        _begin(strategy, ops, iteration)
        _run(strategy, ops, 30)
        assert 1 <= strategy.effective_changes <= 2


def test_pos_redraws_priorities_of_the_racing_operations_only() -> None:
    pos = POSStrategy()
    mailboxes = _ops(4)
    timers = [Op(f"{m.id}/timers") for m in mailboxes]
    for mailbox, timer in zip(mailboxes, timers, strict=True):
        mailbox.timers, timer.mailbox = timer, mailbox
    ops = mailboxes + timers
    _begin(pos, ops)
    last = pos.pick(ops, 0)
    for step in range(1, 50):
        before = dict(pos.queue.priority)
        chosen = pos.pick(ops, step)
        racing = {last, last.timers or last.mailbox}
        assert set(pos.redrawn) == racing
        changed = {op for op in ops if pos.queue.priority[op] != before[op]}
        assert changed <= racing  # everyone else keeps their priority
        assert chosen is max(ops, key=lambda op: pos.queue.priority[op])
        last = chosen


def test_pos_gives_a_newly_enabled_operation_a_fresh_priority() -> None:
    pos = POSStrategy()
    ops = _ops(3)
    _begin(pos, ops)
    hook = pos.enabled_hook()
    assert hook is not None
    drawn = set()
    for _ in range(5):
        hook(ops[0])  # disabled and enabled again: a new event
        drawn.add(pos.queue.priority[ops[0]])
    assert len(drawn) == 5


@pytest.mark.parametrize(
    "inner",
    [lambda: PCTStrategy(3), lambda: PrioritizationStrategy(10), POSStrategy, QLearningStrategy],
)
def test_a_fair_variant_runs_every_enabled_operation_within_2n_decisions_after_the_prefix(
    inner: Any,
) -> None:
    ops = _ops(5)
    fair = FairStrategy(inner())
    _begin(fair, ops, max_steps=40)  # no run ended yet: the prefix is max_steps // 4 = 10
    assert fair.prefix == 10
    last_ran = {op: fair.prefix for op in ops}
    for step in range(300):
        op = fair.pick(ops, step)
        if step >= fair.prefix:
            assert step - last_ran[op] <= 2 * len(ops) + 1, f"{op} starved"
            last_ran[op] = step
    for op in ops:
        assert 300 - last_ran[op] <= 2 * len(ops) + 1


def test_without_the_fair_wrapper_pct_starves_an_enabled_operation() -> None:
    """The test above can fail: strict priorities never run the lowest operation."""
    pct = PCTStrategy(1)
    ops = _ops(3)
    _begin(pct, ops)
    assert len(set(_run(pct, ops, 100))) == 1


def test_the_fair_prefix_follows_the_runs_that_ended() -> None:
    fair = FairStrategy(PCTStrategy(3))
    ops = _ops(2)
    _begin(fair, ops, max_steps=2000)
    assert fair.prefix == 500  # nothing seen yet: max_steps // 4
    fair.end(45)
    _begin(fair, ops, 1, max_steps=2000)
    assert fair.prefix == 90  # a run up to twice the longest seen is the inner strategy's
    fair.end(2000)  # cut off at max_steps: not a run length
    _begin(fair, ops, 2, max_steps=2000)
    assert fair.prefix == 90
    fair.end(300)
    _begin(fair, ops, 3, max_steps=2000)
    assert fair.prefix == 500  # never beyond max_steps // 4


def test_rl_learns_away_from_choices_it_has_taken() -> None:
    rl = QLearningStrategy()
    ops = _ops(2)
    counts = {op.id: 0 for op in ops}
    for iteration in range(200):
        _begin(rl, ops, iteration)
        chosen = rl.pick(ops, 0)
        counts[chosen.id] += 1
        rl.end(1)
    assert all(q < 0 for q in rl.q.values())  # every step costs -1
    assert abs(counts["op0"] - counts["op1"]) < 60  # novelty keeps both in play


def test_rl_weighs_a_bounded_number_of_candidates() -> None:
    rl = QLearningStrategy()
    ops = _ops(1000)
    _begin(rl, ops)
    rl.pick(ops, 0)
    assert len(rl._path[0][2]) == testkit._strategies.rl.CANDIDATES


@pytest.mark.parametrize(
    "name",
    ["pct", "pct:1", "prioritization", "pos", "fair-pos", "rl", "fair-rl", "fair-pct", "portfolio"],
)
def test_replay_reproduces_a_bug_found_by_each_strategy(name: str) -> None:
    report = explore(systems.lost_update, iterations=200, max_steps=500, strategy=name, seed=3)
    assert report.bug is not None, f"{name} found nothing"
    replayed = replay(systems.lost_update, report.bug.trace)
    assert replayed.bug is not None
    assert replayed.bug.message == report.bug.message


@pytest.mark.parametrize("name", ["pos", "fair-rl", "portfolio"])
def test_the_strategy_hears_of_timers_the_test_function_and_new_actors(name: str) -> None:
    seen: list[str] = []
    strategy = make_strategy(name)

    class Recording(Strategy):
        def __init__(self) -> None:
            super().__init__()
            self.name = strategy.name

        def begin(self, iteration: int, rng: random.Random, max_steps: int) -> bool:
            return strategy.begin(iteration, rng, max_steps)

        def enabled_hook(self) -> Any:
            inner = strategy.enabled_hook()

            def hook(op: Any) -> None:
                seen.append(op.id)
                if inner is not None:
                    inner(op)

            return hook

        def pick(self, enabled: Any, step: int) -> Any:
            return strategy.pick(enabled, step)

    explore(systems.timer_race_fixed, iterations=20, max_steps=200, strategy=Recording(), seed=1)
    assert "test" in seen
    assert any(op.endswith("/timers") for op in seen)
    assert {"Oven#1", "Cook#1"} <= set(seen)


def test_the_new_strategies_have_names_and_refuse_a_bound() -> None:
    for name in ["pos", "fair-pos", "rl", "fair-rl"]:
        assert make_strategy(name).name == name
        assert name in testkit.STRATEGIES
    with pytest.raises(TestkitError, match="takes no bound"):
        make_strategy("pos:3")
    assert isinstance(make_strategy("random"), RandomStrategy)


def test_the_default_portfolio_is_the_measured_one_with_fair_members() -> None:
    members = testkit._strategies.catalog.default_portfolio().members
    assert [m.name for m in members] == ["probabilistic:3", "fair-pct:3", "fair-pos"]
    assert all(m.fair for m in members)


@pytest.mark.parametrize("spec", ["fair-pct", "fair-pos", "probabilistic", "prioritization"])
def test_a_portfolio_member_makes_the_same_choices_as_alone_for_the_same_seeds(spec: str) -> None:
    # What a member learns (PCT's run length, the fair prefix) comes from its own turns only,
    # so its find rate inside a portfolio is its rate alone, whatever the others' runs are.
    Run = tuple[int, int, int]  # seed, operations, decisions

    def turns(strategy: Strategy, runs: list[Run]) -> list[tuple[str, list[str]]]:
        picked = []
        for iteration, (seed, n, length) in enumerate(runs):
            ops = _ops(n)
            strategy.begin(iteration, random.Random(seed), 2000)
            hook = strategy.enabled_hook()
            for op in ops:
                if hook is not None:
                    hook(op)
            chosen = [strategy.pick(ops, step).id for step in range(length)]
            strategy.end(length)
            picked.append((strategy.active_name, chosen))
        return picked

    own = [(11, 3, 40), (12, 5, 120), (13, 4, 60), (14, 3, 250), (15, 6, 80)]
    others = [(21, 2, 300), (22, 7, 5), (23, 3, 900), (24, 4, 1), (25, 5, 700)]
    alone = turns(make_strategy(spec), own)
    portfolio = testkit._strategies.PortfolioStrategy([make_strategy(spec), make_strategy("pct")])
    inside = turns(portfolio, [run for pair in zip(own, others, strict=True) for run in pair])
    assert inside[::2] == alone
    assert len({tuple(chosen) for _, chosen in alone}) == len(own)  # the runs differ
