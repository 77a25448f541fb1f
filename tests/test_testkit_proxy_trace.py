"""Calls are facts in the trace: a proxy call's step records the method and its arguments, and
replay checks them; a proxy's attribute reads and writes are steps of their own kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pykka.messages import ProxyCall

import testkit
from testkit._engine.payloads import ARGUMENT_LIMIT, DETAIL_LIMIT, call_text, describe_message

from . import proxy_systems as systems


@pytest.fixture
def argument() -> Iterator[dict[str, str]]:
    saved = dict(systems.ARGUMENT)
    yield systems.ARGUMENT
    systems.ARGUMENT.update(saved)


def _bug_trace() -> testkit.Trace:
    report = testkit.explore(
        systems.two_clients_racing, iterations=50, seed=1, progress=False, shrink=False
    )
    assert report.bug is not None
    trace: testkit.Trace = report.bug.trace
    return trace


def test_a_proxy_call_step_names_the_method_and_its_arguments() -> None:
    lines = _bug_trace().to_text().splitlines()
    puts = [line for line in lines if " call:put " in line]
    assert puts and all(line.endswith(", 'v1', tags=frozenset({'x', 'y', 'z'}))") for line in puts)
    assert any(line.endswith("deliver Store#1 call:ledger.note ('a wrote')") for line in lines)
    assert any(line.endswith("deliver Store#1 set:limit 20") for line in lines)
    assert any(line.endswith("deliver Store#1 get:ledger.notes") for line in lines)


def test_replay_checks_a_proxy_calls_arguments(argument: dict[str, str]) -> None:
    trace = _bug_trace()
    testkit.replay(systems.two_clients_racing, trace)  # the same arguments: it reproduces
    argument["value"] = "v2"
    with pytest.raises(testkit.ReplayDivergence) as caught:
        testkit.replay(systems.two_clients_racing, trace)
    message = str(caught.value)
    assert "call:put" in message and "'v1'" in message and "'v2'" in message


def test_long_arguments_are_cut_the_same_way_every_time(argument: dict[str, str]) -> None:
    argument["value"] = "v" * 500
    trace = _bug_trace()
    put = next(step for step in trace.steps if step.what == "call:put")
    assert len(put.detail) <= DETAIL_LIMIT
    assert "'" + "v" * (ARGUMENT_LIMIT - 4) + "..." in put.detail
    testkit.replay(systems.two_clients_racing, testkit.Trace.from_text(trace.to_text()))


def test_call_text_bounds_many_arguments() -> None:
    call = ProxyCall(attr_path=("m",), args=tuple(range(200)), kwargs={"k": {"b", "a"}})
    text = call_text(call)
    assert len(text) == DETAIL_LIMIT and text.startswith("(0, 1, 2") and text.endswith("...")
    assert describe_message(ProxyCall(("m",), (), {"k": {"b", "a"}})) == (
        "deliver",
        "call:m",
        "(k={'a', 'b'})",
    )
