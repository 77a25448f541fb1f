"""Ports of Akka's TestProbeSpec and TestKitSpec cases (the name says which), both runtimes."""

from __future__ import annotations

import pytest

from testkit import Terminated, TestFSMRef, TestProbe
from tests.probe_actors import RUNTIMES, Worker, runtime


@pytest.mark.parametrize("kind", RUNTIMES)
def test_reply_to_futures(kind: str) -> None:  # TestProbeSpec, TestKitSpec "reply to futures"
    with runtime(kind):
        tk = TestProbe("tk")
        future = tk.ref.ask("hello", block=False)
        tk.expect_msg("hello")
        assert tk.last_sender is future
        tk.reply("world")
        assert future.get(timeout=3) == "world"


@pytest.mark.parametrize("kind", RUNTIMES)
def test_reply_to_messages(kind: str) -> None:  # TestProbeSpec, TestKitSpec "reply to messages"
    with runtime(kind):
        tk1, tk2 = TestProbe("tk1"), TestProbe("tk2")
        sender = Worker.start()
        sender.tell(("tell", tk1.ref, "hello"))  # the FSM is the sender tk1 sees
        tk1.expect_msg("hello")
        assert tk1.last_sender == sender
        tk2.send(tk1.ref, "hello")  # tk1.ref.!("hello")(tk2.ref)
        tk1.expect_msg("hello")
        assert tk1.last_sender is tk2
        tk1.reply("world")
        tk2.expect_msg("world")
        assert tk2.last_sender is tk1


@pytest.mark.parametrize("kind", RUNTIMES)
def test_properly_send_and_reply_to_messages(kind: str) -> None:  # TestProbeSpec
    with runtime(kind):
        probe1, probe2 = TestProbe("probe1"), TestProbe("probe2")
        probe1.send(probe2.ref, "hello")
        probe2.expect_msg("hello")
        probe2.reply("world")
        probe1.expect_msg("world")


@pytest.mark.parametrize("kind", RUNTIMES)
def test_be_able_to_expect_primitive_types(kind: str) -> None:  # TestProbeSpec
    with runtime(kind):
        probe = TestProbe()
        for _ in range(3):
            probe.ref.tell(42)
        assert probe.expect_msg_type(int) == 42
        assert probe.expect_msg_any_of(42) == 42
        assert probe.expect_msg_all_of(42) == [42]


@pytest.mark.parametrize("kind", RUNTIMES)
def test_be_able_to_ignore_primitive_types(kind: str) -> None:  # TestProbeSpec
    with runtime(kind):
        probe = TestProbe()
        probe.ignore_msg(lambda msg: msg == 42)
        probe.ref.tell(42)
        probe.ref.tell("pigdog")
        probe.expect_msg("pigdog")


@pytest.mark.parametrize("kind", RUNTIMES)
def test_watch_actors_when_queue_non_empty(kind: str) -> None:  # TestProbeSpec
    with runtime(kind):
        probe = TestProbe()
        target = Worker.start()
        target.stop()
        probe.ref.tell("hello")
        probe.watch(target)
        probe.expect_msg("hello", timeout=1)
        probe.expect_msg(Terminated(target), timeout=1)


@pytest.mark.parametrize("kind", RUNTIMES)
def test_allow_user_defined_name(kind: str) -> None:  # TestProbeSpec
    with runtime(kind):
        probe = TestProbe(name="worker-probe")
        with pytest.raises(AssertionError, match=r"TestProbe\('worker-probe'\)"):
            probe.expect_msg("never", timeout=0.05)


def test_have_reasonable_default_name() -> None:  # TestProbeSpec
    assert TestProbe().name == "probe"
    assert "probe" in repr(TestProbe())


@pytest.mark.parametrize("kind", RUNTIMES)
def test_be_able_to_watch(kind: str) -> None:  # TestProbeSpec / TestKit "watch"
    with runtime(kind):
        probe = TestProbe()
        target = Worker.start()
        assert probe.watch(target) is target
        target.tell("stop")
        assert probe.expect_terminated(target) == Terminated(target)
        assert probe.last_sender == target


@pytest.mark.parametrize("kind", RUNTIMES)
def test_receive_while(kind: str) -> None:  # TestKit "receiveWhile"
    with runtime(kind):
        probe = TestProbe()
        for msg in (1, 2, 3, "done", 4):
            probe.ref.tell(msg)
        assert probe.receive_while(lambda m: isinstance(m, int), max=1) == [1, 2, 3]
        probe.expect_msg("done")  # the first message that ended it stays
        assert probe.receive_while(lambda m: True, messages=0) == []
        assert probe.receive_while(lambda m: True, idle=0.05) == [4]


@pytest.mark.parametrize("kind", RUNTIMES)
def test_await_cond_and_await_assert(kind: str) -> None:  # TestKit "awaitCond", "awaitAssert"
    with runtime(kind):
        probe = TestProbe()
        fsm = TestFSMRef(Worker)
        for _ in range(3):
            fsm.tell("count")
        probe.await_cond(lambda: fsm.state_data == 3, max=3)

        def three() -> int:
            data: int = fsm.state_data
            assert data == 3, f"data is {data}"
            return data

        assert probe.await_assert(three, max=3) == 3


@pytest.mark.parametrize("kind", RUNTIMES)
def test_forward(kind: str) -> None:  # TestKit "forward" keeps the original sender
    with runtime(kind):
        client, middle = TestProbe("client"), TestProbe("middle")
        server = Worker.start()
        client.send(middle.ref, ("reply", "pong"))
        middle.expect_msg(("reply", "pong"))
        middle.forward(server)
        client.expect_msg("pong")  # the server's reply went past the middle probe
        middle.expect_no_msg(0.05)
