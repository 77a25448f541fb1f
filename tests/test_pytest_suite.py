"""`pytest --testkit-explore N`: existing tests, unchanged, under the tester (issue 19 points
1, 2 and 7; issue 25 point 4)."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THIRDPARTY = ROOT / "tests" / "thirdparty_style"
PLUGIN = (
    "-p",
    "testkit.pytest_plugin",
    "-p",
    "no:cacheprovider",
    "-rN",
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",  # see tests/test_pytest_plugin.py
)

APP = """
import pykka

class Counter(pykka.ThreadingActor):
    def __init__(self):
        super().__init__()
        self.n = 0
    def get(self):
        return self.n
    def set(self, n):
        self.n = n

class Adder(pykka.ThreadingActor):
    def __init__(self, counter):
        super().__init__()
        self.counter = counter
    def bump(self):
        n = self.counter.get().get()
        self.counter.set(n + 1).get()
"""


def text_of(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


def test_every_kind_of_test_runs_n_schedules_with_fixtures_and_set_up_afresh(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        app=APP,
        test_kinds="""
        import threading, unittest
        import pykka, pytest
        from app import Counter

        RUNS = []

        def where():
            return "main" if threading.current_thread() is threading.main_thread() else "thread"

        class Where(pykka.ThreadingActor):
            def where(self):
                return where()

        @pytest.fixture
        def counter():
            RUNS.append("fixture")
            ref = Counter.start()
            yield ref.proxy()
            RUNS.append("fixture done")
            ref.stop()

        def test_function(counter):
            counter.set(counter.get().get() + 1).get()
            assert counter.get().get() == 1
            RUNS.append(Where.start().proxy().where().get())

        class TestClass:
            def setup_method(self):
                RUNS.append("setup_method")
                self.counter = Counter.start().proxy()
            def teardown_method(self):
                pykka.ActorRegistry.stop_all()
            def test_method(self):
                assert self.counter.get().get() == 0

        class Case(unittest.TestCase):
            def setUp(self):
                RUNS.append("setUp")
                self.counter = Counter.start().proxy()
            def tearDown(self):
                RUNS.append("tearDown")
                pykka.ActorRegistry.stop_all()
            def test_case(self):
                self.assertEqual(self.counter.get().get(), 0)

        @pytest.mark.testkit(enabled=False)
        def test_zz_counts():
            print("RUNS", RUNS)
        """,
    )
    result = pytester.runpytest(*PLUGIN, "-s", "--testkit-explore", "3", "-p", "no:randomly")
    result.assert_outcomes(passed=4)
    (line,) = re.findall(r"RUNS (\[.*\])", result.stdout.str())
    runs = eval(line)
    assert runs.count("fixture") == runs.count("fixture done") == 3
    assert runs.count("setup_method") == 3
    assert runs.count("setUp") == runs.count("tearDown") == 3
    assert runs.count("main") == 3  # the actor ran on the tester's thread, not one of its own


def test_without_an_option_or_the_marker_nothing_changes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import threading

        def test_starts_a_thread():
            thread = threading.Thread(target=lambda: None)
            thread.start()
            thread.join()
        """
    )
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=1)


RACE = """
import pytest
from app import Adder, Counter

def test_lost_update():
    counter = Counter.start().proxy()
    first, second = Adder.start(counter).proxy(), Adder.start(counter).proxy()
    one, two = first.bump(), second.bump()
    one.get(), two.get()
    assert counter.get().get() == 2
"""


def test_a_bug_is_a_failure_with_schedule_trace_and_a_replay_command_that_reproduces_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(app=APP, test_race=RACE)
    options = (*PLUGIN, "--testkit-explore", "10", "--testkit-seed", "4")
    first = pytester.runpytest(*options)
    first.assert_outcomes(failed=1)
    text = text_of(first)
    assert "assert 1 == 2" in text  # pytest's own report of the failing assertion
    assert re.search(r"BUG: safety bug in test at step \d+: AssertionError: assert 1 == 2", text)
    assert re.search(r"iteration \d+, strategy \S+, seed 4, \d+ steps", text)
    assert "Counter#1:" in text and "Adder#2:" in text  # what each actor did last
    (trace,) = re.findall(r"^trace: (\S+)", text, re.M)
    assert trace.startswith("testkit-traces/test_race.py_test_lost_update-")
    (replay,) = re.findall(r"^replay: (.+)$", text, re.M)
    assert replay == (
        f"pytest test_race.py::test_lost_update --testkit-replay {trace} "
        "-p testkit.pytest_plugin -p no:cacheprovider -W ignore::pytest.PytestAssertRewriteWarning"
    )
    rerun = re.findall(r"^rerun this exploration: (.+)$", text, re.M)
    assert rerun == [
        "pytest test_race.py::test_lost_update --testkit-explore 10 --testkit-strategy "
        "portfolio --testkit-seed 4 -p testkit.pytest_plugin -p no:cacheprovider "
        "-W ignore::pytest.PytestAssertRewriteWarning"
    ]
    pytester.runpytest(*options).assert_outcomes(failed=1)
    saved = sorted(p.name for p in (pytester.path / "testkit-traces").glob("*.trace"))
    assert len([name for name in saved if ".original." not in name]) == 2  # never overwritten
    replayed = pytester.runpytest(*shlex.split(replay)[1:], "-rN")
    replayed.assert_outcomes(failed=1)
    assert "assert 1 == 2" in text_of(replayed)
    assert f"trace: {trace} (replayed)" in text_of(replayed)


def test_a_bug_in_an_actor_names_the_actor_and_its_state(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pykka
        from fsm import FSM, Event

        class Door(FSM, pykka.ThreadingActor):
            def __init__(self):
                super().__init__()
                self.start_with("closed", None)
                self.when("closed", self.closed)
                self.initialize()

            def closed(self, event):
                if event.message == "kick":
                    raise RuntimeError("hinge broke")
                return self.stay()

        def test_kick():
            door = Door.start()
            door.tell("knock")
            door.tell("kick")
            pykka.ActorRegistry.stop_all()
        """
    )
    result = pytester.runpytest(*PLUGIN, "--testkit-explore", "1", "--testkit-seed", "1")
    result.assert_outcomes(failed=1)
    assert re.search(
        r"BUG: exception bug in Door#1 in state 'closed' at step \d+: RuntimeError: hinge broke",
        text_of(result),
    )


def test_the_marker_sets_one_test_and_enabled_false_or_the_ini_keeps_it_on_threads(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(
        """
        [pytest]
        testkit_real_threads = test_marked.py::test_by_ini*
        """
    )
    pytester.makepyfile(
        test_marked="""
        import threading
        import pykka, pytest

        RUNS = []

        class Where(pykka.ThreadingActor):
            def where(self):
                return threading.current_thread() is threading.main_thread()

        def on_tester():
            return Where.start().proxy().where().get()

        @pytest.mark.testkit(iterations=4, strategy="random")
        def test_marked_alone():
            RUNS.append(("marked", on_tester()))

        @pytest.mark.testkit(enabled=False, reason="checks its thread")
        def test_opted_out():
            RUNS.append(("opted out", on_tester()))

        def test_by_ini_glob():
            RUNS.append(("ini", on_tester()))

        def test_plain():
            RUNS.append(("plain", on_tester()))

        @pytest.mark.testkit(enabled=False)
        def test_zz_report():
            print("RUNS", sorted(set(RUNS)), len([r for r in RUNS if r[0] == "marked"]))
        """
    )
    alone = pytester.runpytest(*PLUGIN, "-s")  # the marker alone puts its test under the tester
    alone.assert_outcomes(passed=5)
    assert (
        "RUNS [('ini', False), ('marked', True), ('opted out', False), ('plain', False)] 4"
        in alone.stdout.str()
    )
    flag = pytester.runpytest(*PLUGIN, "-s", "--testkit-explore", "2")
    flag.assert_outcomes(passed=5)
    assert (
        "RUNS [('ini', False), ('marked', True), ('opted out', False), ('plain', True)] 4"
        in flag.stdout.str()
    )


def test_a_thread_the_tester_does_not_control_is_named_with_how_to_opt_out(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_threads="""
        import threading

        def test_worker_thread():
            worker = threading.Thread(target=lambda: None, name="poller")
            worker.start()
            worker.join()
        """
    )
    result = pytester.runpytest(*PLUGIN, "--testkit-explore", "2")
    result.assert_outcomes(failed=1)
    text = " ".join(text_of(result).split())
    assert "the test started thread 'poller' (in test_worker_thread (" in text
    assert "mark it @pytest.mark.testkit(enabled=False)" in text
    assert "or add 'test_threads.py::test_worker_thread' (a node-id glob) to " in text
    assert "testkit_real_threads in your pytest configuration" in text
    assert (
        pytester.runpytest(
            *PLUGIN, "--testkit-explore", "2", "-o", "testkit_real_threads=*::test_worker_*"
        ).ret
        == pytest.ExitCode.OK
    )


def test_a_test_that_runs_the_tester_itself_runs_as_written(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        app=APP,
        test_itself="""
        import testkit
        from app import Counter

        def test_with_deterministic():
            with testkit.deterministic(seed=1):
                assert Counter.start().proxy().get().get() == 0
        """,
    )
    pytester.runpytest(*PLUGIN, "--testkit-explore", "3").assert_outcomes(passed=1)


@pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5"])
def test_a_bad_number_of_schedules_is_a_usage_error_saying_what_to_write(
    pytester: pytest.Pytester, value: str
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*PLUGIN, "--testkit-explore", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = " ".join(text_of(result).split())
    assert f"--testkit-explore {value}: give the number of schedules" in text
    assert "write e.g. --testkit-explore 10" in text


def test_replaying_a_trace_of_another_test_is_a_usage_error_naming_the_right_command(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(app=APP, test_race=RACE + "\ndef test_other():\n    pass\n")
    found = pytester.runpytest(*PLUGIN, "--testkit-explore", "10", "--testkit-seed", "4")
    (trace,) = re.findall(r"^trace: (\S+)", text_of(found), re.M)
    result = pytester.runpytest(*PLUGIN, "test_race.py::test_other", "--testkit-replay", trace)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = " ".join(text_of(result).split())
    assert (
        "this trace was recorded for 'test_race.py::test_lost_update', which is not among " in text
    )
    assert f"replay it with: pytest test_race.py::test_lost_update --testkit-replay {trace}" in text
    both = pytester.runpytest(*PLUGIN, "--testkit-replay", trace, "--testkit-explore", "2")
    assert both.ret == pytest.ExitCode.USAGE_ERROR
    assert "drop --testkit-explore 2" in text_of(both)
    (pytester.path / "cli.trace").write_text(
        "# testkit-trace 2\n# test: app:scenario\n# max_steps: 10\n0 start Counter#1\n"
    )
    cli = pytester.runpytest(*PLUGIN, "--testkit-replay", "cli.trace")
    assert cli.ret == pytest.ExitCode.USAGE_ERROR
    assert "python -m testkit replay app:scenario cli.trace" in text_of(cli)


def test_the_plugin_is_a_pytest11_entry_point_named_after_its_module() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    points = config["options.entry_points"]["pytest11"].strip().splitlines()
    assert points == ["testkit.pytest_plugin = testkit.pytest_plugin"]


def test_a_conftest_naming_the_plugin_does_not_register_it_twice(
    pytester: pytest.Pytester,
) -> None:
    # -p registers it under its module's name, as the entry point does
    pytester.makeconftest('pytest_plugins = ["testkit.pytest_plugin"]')
    pytester.makepyfile("def test_nothing(): pass")
    pytester.runpytest("-p", "testkit.pytest_plugin").assert_outcomes(passed=1)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "testkit.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            *args,
        ],
        cwd=THIRDPARTY,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_thirdparty_style_suite_passes_on_threads_and_its_race_is_found_and_replayed(
    tmp_path: Path,
) -> None:
    normal = _run()
    assert normal.returncode == 0, normal.stdout + normal.stderr
    assert "8 passed" in normal.stdout
    explored = _run("--testkit-explore", "10", "--testkit-seed", "1", "-o", f"cache_dir={tmp_path}")
    output = explored.stdout
    assert explored.returncode == 1, output + explored.stderr
    assert "1 failed, 7 passed" in output
    assert "FAILED test_chat.py::ChatTest::test_a_new_user_is_welcomed" in output
    assert "NotAMember: alice is not in lounge" in output
    (replay,) = re.findall(r"^replay: (.+)$", output, re.M)
    trace = THIRDPARTY / shlex.split(replay)[3]
    try:
        replayed = _run(*shlex.split(replay)[1:])
        assert replayed.returncode == 1, replayed.stdout
        assert "1 failed" in replayed.stdout
        assert "NotAMember: alice is not in lounge" in replayed.stdout
    finally:
        for path in (THIRDPARTY / "testkit-traces").glob("*.trace"):
            path.unlink()
        (THIRDPARTY / "testkit-traces").rmdir()
    assert not trace.exists()


ECHO = """
import fsm, pykka

class Echo(pykka.ThreadingActor):
    def on_receive(self, message):
        fsm.sometimes(message == "rare", "a rare message")
        return message
"""
COMMON = """
from app import Echo

def test_common():
    ref = Echo.start()
    assert ref.ask("hi") == "hi"
    ref.stop()
"""


def test_sometimes_is_judged_over_the_session_not_each_test(pytester: pytest.Pytester) -> None:
    # a condition in shared actor code is reached by one test, not by every test using it
    pytester.makepyfile(
        app=ECHO,
        test_echo=COMMON
        + """
def test_rare():
    ref = Echo.start()
    assert ref.ask("rare") == "rare"
    ref.stop()
""",
    )
    result = pytester.runpytest(*PLUGIN, "--testkit-explore", "3", "--testkit-seed", "1")
    result.assert_outcomes(passed=2)
    assert result.ret == 0 and "never happened" not in text_of(result)


def test_a_sometimes_no_test_reached_fails_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        app=ECHO,
        test_echo=COMMON,
    )
    result = pytester.runpytest(*PLUGIN, "--testkit-explore", "3", "--testkit-seed", "1")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*testkit: what had to happen never did*",
            "FAILED: sometimes 'a rare message' never happened in 3 iteration(s) of 1 test(s) "
            "(test_echo.py::test_common)",
        ]
    )
    assert "INTERNALERROR" not in text_of(result)
    # on real threads `sometimes` only returns the condition: nothing to judge
    plain = pytester.runpytest(*PLUGIN)
    assert plain.ret == 0 and "never happened" not in text_of(plain)


def test_a_strict_fault_that_never_fired_fails_its_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        app=ECHO,
        test_echo="""
        import pytest, testkit
        from app import Echo

        @pytest.mark.testkit(faults=testkit.Faults(drop=["Echo"], strict=True))
        def test_nothing_to_drop():
            Echo.start().stop()
        """,
    )
    result = pytester.runpytest(*PLUGIN, "--testkit-explore", "3", "--testkit-seed", "1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*testkit: the exploration is not green: declared fault 'drop' never fired in 3*"]
    )
    assert "INTERNALERROR" not in text_of(result)


def test_a_bug_of_declared_faults_replays_with_them(pytester: pytest.Pytester) -> None:
    # the run that shows pytest's own report of the bug replays the trace's faults too
    pytester.makepyfile(
        app=ECHO,
        test_lossy="""
        import pytest, testkit
        from app import Echo

        @pytest.mark.testkit(faults=testkit.Faults(drop=["Echo"], budget=1))
        def test_every_tell_arrives():
            ref = Echo.start()
            for n in range(3):
                ref.tell(n)
            assert ref.ask("last") == "last"
            ref.stop()
        """,
    )
    result = pytester.runpytest(*PLUGIN, "--testkit-explore", "20", "--testkit-seed", "1")
    result.assert_outcomes(failed=1)
    text = text_of(result)
    assert " fault drop " in text and "did not reproduce" not in text, text


def test_a_replay_that_draws_other_random_values_says_so(pytester: pytest.Pytester) -> None:
    # --testkit-replay checks the trace's '# entropy:' as testkit.replay does
    pytester.makepyfile(
        app=APP.replace(
            "        n = self.counter", "        random.random()\n        n = self.counter"
        ).replace("import pykka", "import random\nimport pykka"),
        test_race=RACE,
    )
    first = pytester.runpytest(*PLUGIN, "--testkit-explore", "10", "--testkit-seed", "4")
    first.assert_outcomes(failed=1)
    (trace,) = re.findall(r"^trace: (\S+)", text_of(first), re.M)
    path = pytester.path / trace
    text = path.read_text()
    (draws, digest) = re.findall(r"^# entropy: (\d+) ([0-9a-f]{8})$", text, re.M)[0]
    assert int(draws) >= 2  # both adders drew
    path.write_text(text.replace(f"{draws} {digest}", f"{draws} {int(digest, 16) ^ 1:08x}"))
    replayed = pytester.runpytest(
        *PLUGIN, "test_race.py::test_lost_update", "--testkit-replay", trace
    )
    replayed.assert_outcomes(failed=1)
    assert "drew other random values" in text_of(replayed), text_of(replayed)


def test_a_foreign_threads_message_in_a_unittest_case_is_the_misuse_not_an_internal_error(
    pytester: pytest.Pytester,
) -> None:
    # unittest catches the tester's unwinding and runs tearDown, whose stop_all met the
    # cancelled test body: pytest showed that next phase's leftover as an INTERNALERROR
    pytester.makepyfile(
        test_foreign="""
        import _thread, unittest
        import pykka

        class Listener(pykka.ThreadingActor):
            def on_receive(self, message):
                pass

        class Player(pykka.ThreadingActor):
            def __init__(self, listener):
                super().__init__()
                self.listener = listener

            def play_and_wait(self):  # as a media library's streaming thread calls back
                done = _thread.allocate_lock()
                done.acquire()

                def streaming():
                    try:
                        self.listener.tell("end of stream")
                    finally:
                        done.release()

                _thread.start_new_thread(streaming, ())
                while done.locked():
                    pass

        class PlayerTest(unittest.TestCase):
            def setUp(self):
                self.player = Player.start(Listener.start()).proxy()

            def tearDown(self):
                pykka.ActorRegistry.stop_all()

            def test_play(self):
                self.player.play_and_wait().get()

        def test_after():
            pass
        """
    )
    # in a process of its own: its raw thread and its greenlets end with that process
    result = pytester.runpytest_subprocess(*PLUGIN, "--testkit-explore", "3", "--testkit-seed", "1")
    text = text_of(result)
    assert "INTERNALERROR" not in text, text
    result.assert_outcomes(failed=1, passed=1)
    assert "could not run this test under the deterministic tester" in text
    assert "which the tester does not control, sent 'end of stream'" in text


def test_a_thread_start_the_program_catches_is_still_the_misuse(pytester: pytest.Pytester) -> None:
    # asyncio logs what a callback raises, the tester's refusal too: the test then timed out
    # and the timeout was reported as a bug of the program, with a trace to replay
    pytester.makepyfile(
        test_executor="""
        import asyncio, socket
        import pykka

        class Greeter(pykka.ThreadingActor):
            def on_receive(self, message):
                return "hello"

        def test_lookup_in_executor():
            ref = Greeter.start()
            try:
                async def main():
                    loop = asyncio.get_running_loop()
                    done = loop.create_future()

                    def lookup():
                        future = loop.run_in_executor(None, socket.gethostname)
                        future.add_done_callback(lambda f: done.set_result(f.result()))

                    loop.call_soon(lookup)
                    return await asyncio.wait_for(done, timeout=1)

                loop = asyncio.new_event_loop()
                try:
                    assert loop.run_until_complete(main())
                finally:
                    loop.close()
                assert ref.ask("hi") == "hello"
            finally:
                ref.stop()
        """
    )
    # in a process of its own: the event loop's executor and what asyncio logged end with it
    result = pytester.runpytest_subprocess(*PLUGIN, "--testkit-explore", "3", "--testkit-seed", "1")
    result.assert_outcomes(failed=1)
    text = text_of(result)
    assert "could not run this test under the deterministic tester" in text, text
    assert "the test started thread 'asyncio_0'" in text
    assert "testkit-traces" not in text and "BUG" not in text


def test_a_test_that_keeps_state_between_schedules_is_told_so_not_reported_as_a_bug(
    pytester: pytest.Pytester,
) -> None:
    # a Mock made once by @patch counts the calls of every schedule: the second fails before
    # any step; no schedule made that, so no trace or replay command is offered
    pytester.makepyfile(
        test_leaky="""
        from unittest import mock

        class Registry:
            def remove(self, tag):
                pass

        REGISTRY = Registry()

        @mock.patch.object(REGISTRY, "remove", new=mock.Mock())
        def test_removed_once():
            REGISTRY.remove("tag")
            REGISTRY.remove.assert_called_once_with("tag")
        """
    )
    result = pytester.runpytest(*PLUGIN, "--testkit-explore", "3", "--testkit-seed", "1")
    result.assert_outcomes(failed=1)
    text = text_of(result)
    assert "Expected 'mock' to be called once" in text  # pytest's own report
    assert "is not repeatable in one process" in text and "@patch decorator" in text
    assert "BUG:" not in text and "--testkit-replay" not in text
    assert not (pytester.path / "testkit-traces").exists()


def test_the_shrink_budget_option_bounds_shrinking(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=APP, test_race=RACE)
    options = (*PLUGIN, "--testkit-explore", "10", "--testkit-seed", "4")
    shrunk = pytester.runpytest(*options)
    shrunk.assert_outcomes(failed=1)
    assert list((pytester.path / "testkit-traces").glob("*.original.trace"))  # it shrank
    for path in (pytester.path / "testkit-traces").iterdir():
        path.unlink()
    as_found = pytester.runpytest(*options, "--testkit-shrink-budget", "0")
    as_found.assert_outcomes(failed=1)
    saved = list((pytester.path / "testkit-traces").iterdir())
    assert len(saved) == 1 and ".original." not in saved[0].name  # left as found
    assert "--testkit-shrink-budget 0.0" in text_of(as_found)  # carried into the rerun
