"""Nothing left uncontrolled: the program's own randomness (`random`, `uuid`, `os.urandom`,
`secrets`) comes from the iteration's seed and replays, the clocks follow virtual time, and
sets in messages replay under any PYTHONHASHSEED."""

from __future__ import annotations

import datetime
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import testkit

from . import source_systems as systems

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    systems.DRAWN.clear()
    yield
    systems.DRAWN.clear()


def _dealing_bug(seed: int = 1, shrink: bool = True) -> testkit.Report:
    report = testkit.explore(
        systems.dealing, iterations=20, seed=seed, progress=False, shrink=shrink
    )
    assert report.bug is not None and "three hands dealt" in report.bug.message
    return report


def test_the_programs_draws_are_the_same_for_the_same_seed() -> None:
    _dealing_bug(shrink=False)
    first = list(systems.DRAWN)
    systems.DRAWN.clear()
    _dealing_bug(shrink=False)
    assert first == systems.DRAWN
    hands = [drawn for drawn in first if drawn[0] != "test"]
    for column in range(len(hands[0])):  # every source gave each hand its own value
        assert len({hand[column] for hand in hands}) == len(hands), column
    systems.DRAWN.clear()
    _dealing_bug(seed=2, shrink=False)
    assert systems.DRAWN[:3] != first[:3]  # another seed, other values


def test_a_bug_that_prints_drawn_values_replays_exactly() -> None:
    report = _dealing_bug()
    assert report.bug is not None
    trace = testkit.Trace.from_text(report.bug.trace.to_text())
    assert trace.entropy and trace.entropy.split()[0].isdigit()
    replayed = testkit.replay(systems.dealing, trace)
    assert replayed.bug is not None and replayed.bug.message == report.bug.message


def test_replay_notices_other_draws() -> None:
    report = _dealing_bug()
    assert report.bug is not None
    trace = report.bug.trace
    draws, digest = trace.entropy.split()
    trace.entropy = f"{draws} {int(digest, 16) ^ 1:08x}"
    with pytest.raises(testkit.ReplayDivergence, match="drew other random values"):
        testkit.replay(systems.dealing, trace)


def test_one_actors_draws_do_not_depend_on_another_actors_steps() -> None:
    """Draws are keyed by actor and step: what the shrinker removes from one actor leaves
    the other's values as they were."""

    def alone(runtime: testkit.Runtime) -> None:
        systems.Dealer.start().tell("deal")

    def with_company(runtime: testkit.Runtime) -> None:
        other = systems.Table.start()
        other.tell("a hand")
        other.tell("another")
        systems.Dealer.start().tell("deal")

    values = []
    for test in (alone, with_company):
        with testkit.deterministic(seed=4) as runtime:
            test(runtime)
        values.append(systems.DRAWN.pop())
    assert values[0][:5] == values[1][:5] and values[0][6:] == values[1][6:]


def test_everything_is_given_back_after_a_run() -> None:
    saved = (random.random, random.getrandbits, os.urandom, random.Random.seed, random.seed)
    state = random.getstate()
    _dealing_bug()
    assert (random.random, random.getrandbits, os.urandom, random.Random.seed, random.seed) == (
        saved
    )
    assert random.getstate() == state
    assert type(random.random.__self__) is random.Random  # type: ignore[attr-defined]


def test_the_clocks_follow_virtual_time() -> None:
    readings: list[dict[str, Any]] = []

    def test(runtime: testkit.Runtime) -> None:
        systems.Clock.start(readings)

    report = testkit.explore(test, iterations=1, seed=1, progress=False)
    assert report.bug is None
    start, later = readings
    assert start["now"] == datetime.datetime(2026, 1, 1)
    assert start["today"] == datetime.date(2026, 1, 1)
    assert start["utcnow"] == datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert start["gmtime"] == (2026, 1, 1, 0, 0, 0)
    for clock in ("time", "monotonic", "perf_counter"):
        assert later[clock] - start[clock] == pytest.approx(5.0), clock
    for clock in ("time_ns", "monotonic_ns"):
        assert later[clock] - start[clock] == 5_000_000_000, clock
    assert later["now"] - start["now"] == datetime.timedelta(seconds=5)


def test_a_clock_bound_in_a_module_between_two_runs_is_virtual_in_the_second() -> None:
    # freezegun remembers per module which names hold the real clock; the sandbox keys that by
    # the module's number of names: a module new since the last run, or one that gained a
    # name, is looked at again
    import time
    import types

    import freezegun.api

    saved = freezegun.api._get_module_attributes_hash
    module: Any = types.ModuleType("testkit_clock_holder")
    module.early = time.time
    sys.modules[module.__name__] = module
    readings: list[tuple[str, float]] = []

    def test(runtime: testkit.Runtime) -> None:
        for name in ("early", "later"):
            if hasattr(module, name):
                readings.append((name, getattr(module, name)()))

    try:
        testkit.explore(test, iterations=1, seed=1, progress=False)
        module.later = time.monotonic  # a name more: looked at again
        testkit.explore(test, iterations=1, seed=1, progress=False)
    finally:
        del sys.modules[module.__name__]
    epoch = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc).timestamp()
    (_, first), (_, again), (name, later) = readings
    assert first == again == epoch
    assert name == "later" and later == epoch  # the virtual clock, not the uptime
    assert freezegun.api._get_module_attributes_hash is saved  # given back


def test_a_seed_the_program_gives_is_kept_for_the_rest_of_the_iteration() -> None:
    # a test seeds so that a shuffle comes out as it expects (Mopidy-MPD's and Mopidy-Local's
    # tests do): the values are Python's for that seed, in the order the schedule draws them
    import pykka

    expected = list(range(10))
    random.Random(1).shuffle(expected)
    shuffles: list[list[int]] = []

    class Shuffler(pykka.ThreadingActor):
        def shuffled(self, items: list[int]) -> list[int]:
            random.shuffle(items)
            return items

    def test(runtime: testkit.Runtime) -> None:
        actor = Shuffler.start().proxy()
        random.seed(1)
        shuffles.append(actor.shuffled(list(range(10))).get())
        mine = list(range(10))
        random.shuffle(mine)  # the same generator goes on, as in Python
        shuffles.append(mine)
        random.seed()  # no seed: the tester's streams again
        shuffles.append(random.sample(range(100), 5))
        actor.stop()

    report = testkit.explore(test, iterations=4, seed=3, progress=False)
    assert report.bug is None
    generator = random.Random(1)
    first, second = list(range(10)), list(range(10))
    generator.shuffle(first)
    generator.shuffle(second)
    assert first == expected
    assert shuffles[0::3] == [first] * 4 and shuffles[1::3] == [second] * 4
    again: list[list[int]] = []
    shuffles, kept = again, shuffles
    testkit.explore(test, iterations=4, seed=3, progress=False)
    assert again == kept  # unseeded draws come from the iteration's seed: the same again


def test_a_set_in_a_message_is_printed_in_sorted_order() -> None:
    report = testkit.explore(systems.tagging, iterations=5, seed=1, progress=False)
    assert report.bug is not None
    text = report.bug.trace.to_text()
    assert "names=frozenset({'alpha', 'beta', 'delta', 'epsilon', 'gamma'})" in text
    assert "by_kind={'greek': {'alpha', 'beta', 'delta', 'epsilon', 'gamma'}}" in text


def _python(code: str, hash_seed: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


RECORD = """
import sys, testkit
from tests import source_systems as systems
report = testkit.explore(getattr(systems, sys.argv[1]), iterations=20, seed=1, progress=False,
                         shrink=False)
report.bug.trace.save(sys.argv[2])
"""

REPLAY = """
import sys, testkit
from tests import source_systems as systems
try:
    report = testkit.replay(getattr(systems, sys.argv[1]), sys.argv[2])
except testkit.ReplayDivergence as exc:
    print("DIVERGED", exc)
else:
    print("REPLAYED", report.bug.headline())
"""


def test_a_trace_with_sets_replays_under_another_hash_seed(tmp_path: Path) -> None:
    path = tmp_path / "tags.trace"
    recorded = _python(RECORD, "1", "tagging", str(path))
    assert recorded.returncode == 0, recorded.stderr
    assert "# hash_seed: 1" in path.read_text()
    replayed = _python(REPLAY, "2", "tagging", str(path))
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.startswith("REPLAYED safety bug in Tagger#1"), replayed.stdout


def test_a_program_iterating_a_set_is_told_which_hash_seed_replays_it(tmp_path: Path) -> None:
    path = tmp_path / "fanout.trace"
    assert _python(RECORD, "1", "fanning_out", str(path)).returncode == 0
    assert _python(REPLAY, "1", "fanning_out", str(path)).stdout.startswith("REPLAYED")
    replayed = _python(REPLAY, "2", "fanning_out", str(path))
    assert replayed.stdout.startswith("DIVERGED"), replayed.stdout + replayed.stderr
    message = replayed.stdout
    assert "with other contents" in message
    assert "recorded under PYTHONHASHSEED=1 and this process runs under PYTHONHASHSEED=2" in message
    assert "iterates over a set" in message


WORKERS = """
import testkit
from tests import source_systems as systems
if __name__ == "__main__":
    for workers in (1, 2):
        report = testkit.explore(systems.fanning_out, iterations=8, seed=1, workers=workers,
                                 progress=False, shrink=False)
        print(report.bug.trace.hash_seed, report.bug.trace.to_text().count("'delta'"))
"""


def test_worker_processes_hash_strings_as_their_parent(tmp_path: Path) -> None:
    script = tmp_path / "workers.py"
    script.write_text(WORKERS)
    env = {**os.environ, "PYTHONHASHSEED": "3", "PYTHONPATH": str(ROOT)}
    found = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert found.returncode == 0, found.stderr
    one, two = found.stdout.splitlines()
    assert one == two and one.startswith("3 ")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("# hash_seed: random", "'# hash_seed:' must be a number (PYTHONHASHSEED)"),
        ("# entropy: 12", "'# entropy:' must be '<draws> <8 hex digits>'"),
        ("# entropy: many 0000abcd", "'# entropy:' must be '<draws> <8 hex digits>'"),
    ],
)
def test_a_malformed_source_header_is_a_clear_error(line: str, expected: str) -> None:
    text = f"# testkit-trace 2\n# max_steps: 10\n{line}\n0 start A#1\n"
    with pytest.raises(testkit.TestkitError) as caught:
        testkit.Trace.from_text(text, "t.trace")
    assert str(caught.value).startswith(f"t.trace, line 3: {expected}")


def test_the_source_headers_round_trip_and_are_absent_when_empty() -> None:
    trace = testkit.Trace([], max_steps=5, hash_seed="7", entropy="3 0000abcd")
    again = testkit.Trace.from_text(trace.to_text())
    assert (again.hash_seed, again.entropy) == ("7", "3 0000abcd")
    plain = testkit.Trace([], max_steps=5).to_text()
    assert "hash_seed" not in plain and "entropy" not in plain
