"""The systematic tester finds each seeded bug, passes each fixed variant, and replays."""

from __future__ import annotations

import itertools

import pytest

import testkit
from testkit import explore, replay

from . import buggy_systems as systems

SEEDS = [1, 2, 3, 4, 5]

# (buggy test, fixed test, kind, actor, strategy, iterations within which every seed finds it)
CASES = [
    (systems.lost_update, systems.lost_update_fixed, "safety", "test", "random", 50),
    (systems.timer_race, systems.timer_race_fixed, "safety", "Oven#1", "random", 50),
    (systems.dropped_request, systems.dropped_request_fixed, "liveness", "Outstanding", "pct", 50),
    (systems.lost_on_restart, systems.lost_on_restart_fixed, "liveness", "JobsDone", "random", 50),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("buggy", "fixed", "kind", "actor", "strategy", "bound"),
    CASES,
    ids=[case[0].__name__ for case in CASES],
)
def test_seeded_bug_is_found_and_replays(
    buggy,
    fixed,
    kind,
    actor,
    strategy,
    bound,
    seed,  # type: ignore[no-untyped-def]
) -> None:
    report = explore(buggy, iterations=bound, max_steps=500, strategy=strategy, seed=seed)
    bug = report.bug
    assert bug is not None, f"{buggy.__name__} not found in {bound} iterations (seed {seed})"
    assert (bug.kind, bug.actor) == (kind, actor), bug.headline()
    again = replay(buggy, bug.trace)
    assert again.bug is not None
    assert again.bug.headline() == bug.headline()
    assert [str(s) for s in again.bug.trace.steps] == [str(s) for s in bug.trace.steps]


@pytest.mark.parametrize(
    "fixed", [case[1] for case in CASES], ids=[case[1].__name__ for case in CASES]
)
def test_fixed_variant_passes_a_thousand_iterations(fixed) -> None:  # type: ignore[no-untyped-def]
    report = explore(fixed, iterations=1000, max_steps=500, strategy="portfolio", seed=7)
    assert report.bug is None, report.bug and report.bug.headline()
    assert report.iterations == 1000
    assert report.schedules > 1


def test_liveness_under_a_perpetual_timer_needs_a_fair_strategy() -> None:
    found = explore(
        systems.never_served, iterations=3, max_steps=400, strategy="random", seed=1, shrink=False
    )
    assert found.bug is not None and found.bug.kind == "liveness"
    assert "hot state 'waiting'" in found.bug.message
    assert "max_steps=400" in found.bug.message
    assert found.bound_reached >= 1
    unfair = explore(systems.never_served, iterations=3, max_steps=400, strategy="pct", seed=1)
    assert unfair.bug is None  # an unfair strategy may starve; it never claims liveness bugs
    fixed = explore(
        systems.never_served_fixed, iterations=50, max_steps=400, strategy="random", seed=1
    )
    assert fixed.bug is None
    again = replay(systems.never_served, found.bug.trace)
    assert again.bug is not None and again.bug.message == found.bug.message


def test_deadlock_when_the_test_waits_for_a_reply_that_cannot_come() -> None:
    report = explore(systems.deadlock, iterations=1, seed=1)
    assert report.bug is not None
    assert report.bug.kind == "deadlock"
    assert "can never come" in report.bug.message


def test_a_probe_waiting_at_quiescence_is_a_deadlock() -> None:
    def waits_forever(runtime: testkit.Runtime) -> None:
        probe = testkit.TestProbe()
        systems.Silent.start().tell(("please answer", probe.ref))
        probe.expect_msg("an answer")

    bug = explore(waits_forever, iterations=1, seed=1).bug
    assert bug is not None and (bug.kind, bug.actor) == ("deadlock", "test")
    assert "waited until the system was quiescent for 'an answer'" in bug.message
    assert "deadlock: no actor can run any more" in bug.message


def test_same_seed_same_schedules() -> None:
    def traces(seed: int) -> list[str]:
        report = explore(
            systems.lost_on_restart_fixed,
            iterations=20,
            max_steps=300,
            strategy="portfolio",
            seed=seed,
            stop_at_first_bug=False,
        )
        return [str(report.schedules), str(report.steps)]

    assert traces(11) == traces(11)
    first = explore(systems.lost_update, iterations=50, strategy="random", seed=11)
    second = explore(systems.lost_update, iterations=50, strategy="random", seed=11)
    assert first.bug is not None and second.bug is not None
    assert first.bug.trace.to_text() == second.bug.trace.to_text()


@pytest.mark.parametrize("strategy", testkit.STRATEGIES)
def test_every_strategy_runs_by_name(strategy: str) -> None:
    report = explore(systems.lost_update_fixed, iterations=20, strategy=strategy, seed=3)
    assert report.bug is None
    assert report.iterations >= 1


def test_strategies_with_bounds_and_fair_variants_are_named() -> None:
    for name in ["pct:5", "fair-pct", "fair-pct:2", "prioritization:4", "fair-prioritization"]:
        report = explore(systems.timer_race, iterations=100, strategy=name, seed=1)
        assert report.strategy == (name if ":" in name else report.strategy)
        assert report.bug is not None, name


def test_a_portfolio_trace_names_the_member_that_found_the_bug() -> None:
    members = ["probabilistic:3", "fair-pos", "fair-pct:3", "random"]
    for seed in range(1, 6):
        report = explore(systems.lost_update, iterations=20, strategy="portfolio", seed=seed)
        assert report.strategy == "portfolio" and report.bug is not None
        assert report.bug.trace.strategy == members[(report.bug.trace.iteration - 1) % 4]


def test_unknown_strategy_is_a_clear_error() -> None:
    with pytest.raises(testkit.TestkitError, match="unknown strategy 'fastest'; choose one of"):
        explore(systems.lost_update, strategy="fastest")
    with pytest.raises(testkit.TestkitError, match="takes no bound"):
        explore(systems.lost_update, strategy="random:3")


def test_dfs_enumerates_every_interleaving_then_stops() -> None:
    def two_independent_actors(runtime: testkit.Runtime) -> None:
        systems.Silent.start().tell("a")
        systems.Silent.start().tell("b")

    report = explore(two_independent_actors, iterations=1000, strategy="dfs", seed=0)
    # The test function goes on (c1..c4) after each start or send; actor A starts (As) and
    # gets "a" (Aa) after c1; B starts after c2 and gets "b" after c3. Every order that
    # respects that is one schedule:
    before = [("c1", "c2"), ("c2", "c3"), ("c3", "c4"), ("As", "Aa"), ("c1", "Aa"),
              ("c2", "Bs"), ("Bs", "Bb"), ("c3", "Bb")]  # fmt: skip
    events = ["c1", "c2", "c3", "c4", "As", "Aa", "Bs", "Bb"]
    orders = sum(
        all(order.index(a) < order.index(b) for a, b in before)
        for order in itertools.permutations(events)
    )
    assert orders == 135
    assert report.exhausted
    assert report.iterations == orders
    assert report.schedules == orders


def test_dfs_also_enumerates_random_choices() -> None:
    seen: set[int] = set()

    def choose(runtime: testkit.Runtime) -> None:
        seen.add(runtime.random_int(4) * 10 + int(runtime.random_bool()))

    report = explore(choose, iterations=100, strategy="dfs", seed=0)
    assert report.exhausted and report.iterations == 8
    assert seen == {0, 1, 10, 11, 20, 21, 30, 31}


def test_report_counts() -> None:
    report = explore(systems.lost_update, iterations=200, strategy="random", seed=2,
                     stop_at_first_bug=False)  # fmt: skip
    assert report.iterations == 200
    assert 0 < report.buggy_iterations < 200
    assert report.buggy_percent == pytest.approx(100 * report.buggy_iterations / 200)
    assert len(report.bugs) == 1  # one distinct bug, counted once per iteration
    assert report.bug is not None and report.bug.count == report.buggy_iterations
    assert report.steps > 200 and report.steps_per_second > 0
    text = report.summary()
    assert "200 iteration(s)" in text and "buggy" in text and "steps/s" in text


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(testkit.TestkitError, match=r"iterations=\.\.\.\) must be an integer >= 1"):
        explore(systems.lost_update, iterations=0)
    with pytest.raises(testkit.TestkitError, match="max_steps"):
        explore(systems.lost_update, max_steps=-5)
    with pytest.raises(testkit.TestkitError, match="test must be a function"):
        explore("systems.lost_update")  # type: ignore[arg-type]
    with pytest.raises(testkit.TestkitError, match="seed"):
        explore(systems.lost_update, seed="one")  # type: ignore[arg-type]
    with pytest.raises(testkit.TestkitError, match="timer_delay"):
        explore(systems.lost_update, timer_delay=-1)
    with pytest.raises(testkit.TestkitError, match="liveness_threshold"):
        explore(systems.lost_update, liveness_threshold=-1)


def test_time_budget_stops_starting_iterations() -> None:
    report = testkit.explore(
        systems.lost_update_fixed, iterations=10**6, max_steps=500, seed=1, time_budget=0.3
    )
    assert report.timed_out
    assert 0 < report.iterations < 10**6
    assert report.elapsed < 5
    assert "time budget used up" in report.summary()


@pytest.mark.parametrize("budget", [0, -1, "1", True])
def test_time_budget_must_be_positive_seconds(budget: object) -> None:
    with pytest.raises(testkit.TestkitError, match="time_budget"):
        testkit.explore(systems.lost_update_fixed, time_budget=budget)  # type: ignore[arg-type]
