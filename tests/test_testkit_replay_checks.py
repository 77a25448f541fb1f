"""`replay` checks what it can: the test the trace was made for, every delivery's message
type, repr and receiver state, and the iteration that seeds timer delays."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pykka
import pytest

import testkit
from fsm import FSM, Event, State
from testkit import ReplayDivergence, TestkitError, Trace, explore, replay
from testkit._cli import main
from testkit._engine.replaying import check_target

from . import buggy_systems as systems

SHOP = "tests.test_testkit_replay_checks:shop"


@dataclass(frozen=True)
class Order:
    item: Any


class Note:
    """A message whose repr spans lines."""

    def __repr__(self) -> str:
        return "Note(first\rsecond\u2028third)"


class Shop(FSM, pykka.ThreadingActor):
    """Takes orders while open; closing it is the seeded bug."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("open", 0)
        self.when("open", self.serving)
        self.initialize()

    def serving(self, event: Event) -> State:
        assert event.message != "close", f"closed after {event.data} order(s)"
        return self.stay().using(event.data + 1)


ORDERED: list[Any] = [2]


def shop(runtime: testkit.Runtime) -> None:
    ref = Shop.start()
    ref.tell(Order(ORDERED[0]))
    ref.tell(Note())
    ref.tell("close")


@pytest.fixture
def shop_trace() -> Trace:
    ORDERED[0] = 2
    report = explore(shop, iterations=1, seed=1)
    assert report.bug is not None
    return report.bug.trace


def test_a_changed_message_repr_is_a_divergence_with_the_step_and_both_values(
    shop_trace: Trace,
) -> None:
    step = next(s for s in shop_trace.steps if s.what == "Order")
    assert str(step).endswith("deliver Shop#1 Order Order(item=2) @'open'")
    ORDERED[0] = 3  # the program changed since the trace was recorded
    with pytest.raises(ReplayDivergence) as info:
        replay(shop, shop_trace)
    assert info.value.step == step.index
    assert info.value.expected == f"{step.index} deliver Shop#1 Order Order(item=2) @'open'"
    assert info.value.got == f"{step.index} deliver Shop#1 Order Order(item=3) @'open'"


def test_a_changed_receiver_state_is_a_divergence(shop_trace: Trace) -> None:
    edited = shop_trace.to_text().replace("Order(item=2) @'open'", "Order(item=2) @'closed'")
    with pytest.raises(ReplayDivergence, match=r"expected \d+ deliver .*@'closed', got .*@'open'"):
        replay(shop, Trace.from_text(edited))


def test_a_hand_edited_repr_is_a_divergence(shop_trace: Trace, tmp_path: Path) -> None:
    path = tmp_path / "edited.trace"
    path.write_text(shop_trace.to_text().replace("Order(item=2)", "Order(item=20)"))
    with pytest.raises(ReplayDivergence, match=r"Order\(item=20\).*, got .*Order\(item=2\)"):
        replay(shop, path)


def test_a_multi_line_repr_and_object_addresses_still_replay(
    shop_trace: Trace, tmp_path: Path
) -> None:
    ORDERED[0] = object()  # its repr holds an address, different in every run
    report = explore(shop, iterations=1, seed=1)
    assert report.bug is not None
    path = report.bug.trace.save(tmp_path / "t.trace")
    text = path.read_text()
    assert "Note(first\\rsecond\\u2028third)" in text
    assert " at 0x" in text
    path.write_text(text.replace(" at 0x", " at 0xdead", 1))
    assert replay(shop, path).bug is not None


def test_a_trace_recorded_for_another_test_is_refused_before_running(tmp_path: Path) -> None:
    trace = explore(systems.lost_update, iterations=50, max_steps=500, seed=1).bug
    assert trace is not None
    expected = (
        "this trace was recorded for tests.buggy_systems:lost_update, you asked to replay it "
        "against tests.buggy_systems:lost_update_fixed"
    )
    with pytest.raises(TestkitError, match=expected):
        replay(systems.lost_update_fixed, trace.trace)
    anonymous = dataclasses.replace(trace.trace, test="")
    assert replay(systems.lost_update, anonymous).bug is not None


@pytest.mark.parametrize(
    ("recorded", "target"),
    [
        ("pkg:run", "pkg:run"),
        ("pkg:run", "pkg.inner:run"),  # re-exported by its package
        ("pkg.inner:run", "pkg:run"),
        ("__main__:run", "pkg:run"),  # recorded from `python -m pkg` or a script
        ("a custom name", "pkg:run"),  # explore(name=...) without module:function
        ("", "pkg:run"),
    ],
)
def test_the_target_check_accepts_the_same_function_under_another_name(
    recorded: str, target: str
) -> None:
    check_target(recorded, target)


@pytest.mark.parametrize(
    ("recorded", "target"),
    [("pkg:run", "pkg:walk"), ("pkg:run", "other:run"), ("pkg:run", "pkg2:run")],
)
def test_the_target_check_refuses_another_function(recorded: str, target: str) -> None:
    with pytest.raises(TestkitError, match=f"recorded for {recorded}, you asked"):
        check_target(recorded, target)


class Ticker(FSM, pykka.ThreadingActor):
    """Ticks once, a second after it starts; a tick before ten messages is the bug."""

    def __init__(self) -> None:
        super().__init__()
        self.start_with("on", 0)
        self.when("on", self.on)
        self.initialize()

    def on_start(self) -> None:
        self.set_timer("slow tick", "tick", 1.0)

    def on(self, event: Event) -> State:
        if event.message == "tick":
            assert event.data >= 10, f"ticked after {event.data} messages"
            return self.stay()
        return self.stay().using(event.data + 1)


def ticks(runtime: testkit.Runtime) -> None:
    ref = Ticker.start()
    for _ in range(10):
        ref.tell("inc")


def test_the_iteration_counts_from_1_and_format_1_traces_still_replay() -> None:
    report = explore(ticks, iterations=50, max_steps=500, strategy="random", seed=3, shrink=False)
    assert report.bug is not None
    trace = report.bug.trace
    # this bug depends on the timer delays of its iteration: off by one, it diverges
    assert trace.iteration == report.iterations == 4
    assert "timer Ticker#1 timer:slow tick 'tick'" in trace.to_text()
    assert replay(ticks, Trace.from_text(trace.to_text())).bug is not None
    format_1 = trace.to_text().replace("# testkit-trace 2", "# testkit-trace 1")
    with pytest.raises(ReplayDivergence, match="timer Ticker#1"):
        replay(ticks, Trace.from_text(format_1))  # read as 0-based: iteration 5
    format_1 = format_1.replace("# iteration: 4", "# iteration: 3")
    again = replay(ticks, Trace.from_text(format_1))
    assert again.bug is not None and again.bug.trace.iteration == 4


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_cli_replay_exit_codes(shop_trace: Trace, tmp_path: Path) -> None:
    path = shop_trace.save(tmp_path)
    code, text = run_cli("replay", SHOP, str(path))
    assert code == 1 and "reproduced the bug" in text, text
    code, text = run_cli("replay", "tests.buggy_systems:lost_update", str(path))
    assert code == 2 and text.startswith(f"error: this trace was recorded for {SHOP}")
    binary = tmp_path / "binary.trace"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    code, text = run_cli("replay", SHOP, str(binary))
    assert code == 2 and text.startswith("error: ") and "looks like UTF-16" in text
    code, text = run_cli("replay", SHOP, str(tmp_path))
    assert code == 2 and "it is a directory" in text
    ORDERED[0] = 3
    code, text = run_cli("replay", SHOP, str(path))
    assert code == 2 and "could not reproduce the bug: divergence at step" in text
    assert "Order(item=2)" in text and "Order(item=3)" in text


def test_cli_trace_out_may_be_a_directory(tmp_path: Path) -> None:
    ORDERED[0] = 2
    code, text = run_cli("test", SHOP, "-i", "1", "--seed", "1", "--trace-out", str(tmp_path))
    assert code == 1, text
    written = [p for p in tmp_path.glob("*.trace") if not p.name.endswith(".original.trace")]
    assert [p.name for p in written] == [Trace.load(written[0]).file_name()]
    assert f"trace written to {written[0]}" in text


def test_replay_of_something_that_is_not_a_trace_is_a_clear_error() -> None:
    with pytest.raises(TestkitError, match="trace must be a Trace or the path of a trace file"):
        replay(shop, 5)  # type: ignore[arg-type]


def test_every_iteration_names_a_probe_alike() -> None:
    """A probe's actor is not started by the runtime, so its placeholder URN is all it has:
    the same in every iteration, or a trace whose messages carry its ref cannot replay."""
    seen: list[str] = []

    def test(runtime: testkit.Runtime) -> None:
        seen.append(repr(testkit.TestProbe("client").ref))

    report = testkit.explore(test, iterations=3, seed=1, progress=False)
    assert report.bug is None and len(seen) == 3 and len(set(seen)) == 1, seen
