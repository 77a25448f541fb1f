"""Fuzzing `Trace.load` and `replay` with random and mutated traces: whatever the input, the
outcome is a trace or a Report, or a `TestkitError` (a `ReplayDivergence` is one), never
another exception."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkit import Report, TestkitError, Trace, explore, replay

from . import buggy_systems as systems

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SYSTEMS: list[Callable[..., Any]] = [
    systems.lost_update,
    systems.timer_race,
    systems.lost_on_restart,
]


@functools.cache
def recorded(index: int) -> str:
    """The text of a real trace of `SYSTEMS[index]`."""
    report = explore(SYSTEMS[index], iterations=50, max_steps=500, strategy="random", seed=1)
    assert report.bug is not None
    return report.bug.trace.to_text()


def load_bytes(path: Path, data: bytes) -> Trace | None:
    path.write_bytes(data)
    try:
        return Trace.load(path)
    except TestkitError as exc:
        assert str(path) in str(exc)  # every load error names the file
        return None


def replay_outcome(test: Callable[..., Any], trace: Trace) -> Report | None:
    try:
        report = replay(test, trace)
    except TestkitError:
        return None
    assert report.bug is not None
    return report


TOKENS = st.sampled_from(
    ["", "0", "-1", "1", "2", "500", "9" * 40, "abc", "True", "maybe", "random_int(100)=500",
     "random_int(0)=0", "random_bool()=maybe", "random_int(2)=1", "deliver", "timer", "start",
     "stop", "continue", "random", "test", "Register#1", "Oven#1", "\x00", "\xff", "é", "²",
     "#", "# iteration: 0", "# max_steps: 1", "# timer_delay: 999999", "# fair: true",
     "# test: tests.buggy_systems:lost_update_fixed", "\r", "\u2028", ":"]
) | st.text(max_size=12)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> tuple[int, str]:
    """A real trace with a few lines dropped, duplicated, swapped or with tokens replaced."""
    index = draw(st.integers(0, len(SYSTEMS) - 1))
    lines = recorded(index).splitlines()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "copy", "swap", "token", "insert", "cut"]))
        if action == "drop" and len(lines) > 1:
            del lines[at]
        elif action == "copy":
            lines.insert(at, lines[at])
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif action == "token":
            words = lines[at].split(" ")
            where = draw(st.integers(0, len(words) - 1))
            words[where] = draw(TOKENS)
            lines[at] = " ".join(words)
        elif action == "insert":
            lines.insert(at, draw(TOKENS))
        else:
            lines = lines[: max(at, 12)]  # keep the header: cut steps
    return index, "\n".join(lines) + "\n"


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_load_or_fail_cleanly(tmp_path: Path, data: bytes) -> None:
    load_bytes(tmp_path / "random.trace", data)


@FUZZ
@given(text=st.text(max_size=200), header=st.sampled_from(["", "# testkit-trace 2\n"]))
def test_random_text_loads_or_fails_cleanly(tmp_path: Path, text: str, header: str) -> None:
    trace = load_bytes(tmp_path / "text.trace", (header + text).encode("utf-8", "surrogatepass"))
    if trace is not None:
        replay_outcome(systems.lost_update, trace)


@settings(FUZZ, max_examples=600)
@given(case=mutated(), encoding=st.sampled_from(["utf-8"] * 7 + ["utf-16"]))
def test_mutated_real_traces_load_and_replay_or_fail_cleanly(
    tmp_path: Path, case: tuple[int, str], encoding: str
) -> None:
    index, text = case
    trace = load_bytes(tmp_path / "mutated.trace", text.encode(encoding))
    if trace is not None:
        replay_outcome(SYSTEMS[index], trace)


@pytest.mark.parametrize("index", range(len(SYSTEMS)))
def test_the_unmutated_traces_replay(index: int) -> None:
    """The fuzzed traces start from traces that replay, so mutations reach replay's checks."""
    assert replay_outcome(SYSTEMS[index], Trace.from_text(recorded(index))) is not None
