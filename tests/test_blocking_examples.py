"""The blocking-style playback example: its ask-cycle deadlock is found, explained and replayed."""

from __future__ import annotations

import statistics

import pytest

import testkit
from blocking_examples import playback


def test_the_seeded_ask_cycle_is_found_named_and_replayed() -> None:
    report = testkit.explore(playback.execute, iterations=100, seed=1)
    bug = report.bug
    assert bug is not None and bug.kind == "deadlock"
    assert "Library#1 waits for Core#1 (call current_track)" in bug.message
    assert "Core#1 waits for Library#1 (call lookup)" in bug.message
    assert "the waits began: " in bug.message
    replayed = testkit.replay(playback.execute, bug.trace)
    assert replayed.bug is not None and replayed.bug.message == bug.message


def test_the_deadlock_needs_some_interleaving() -> None:
    report = testkit.explore(playback.execute, iterations=200, seed=2, stop_at_first_bug=False)
    assert 0 < report.buggy_iterations < report.iterations


def test_the_default_portfolio_finds_it_within_100_iterations_median() -> None:
    found = []
    for seed in range(10):
        report = testkit.explore(playback.execute, iterations=100, seed=seed)
        found.append(report.iterations if report.bug is not None else 101)
    assert statistics.median(found) <= 100, found


def test_the_fixed_library_never_deadlocks() -> None:
    report = testkit.explore(playback.execute_fixed, iterations=300, seed=3)
    assert report.bug is None, report


def test_the_example_runs_on_real_threads(capsys: pytest.CaptureFixture[str]) -> None:
    playback.main()
    assert capsys.readouterr().out == "Outro at volume 50\n"
