"""The pytest plugin: options, marker and precedence, traces, misuse errors, log flooding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import testkit
from testkit import Report
from testkit._engine.test_function import test_name as name_of
from testkit._exploration import explore as _explore

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
# -rN: no short summary, which repeats whole failure messages when CI=true is set (the
# counts below read each failure once)
# -W: where pytest finds this package's pytest11 entry point, each inline session warns that
# the package's modules were imported (by the outer session) before it could rewrite them
PLUGIN = ("-p", "testkit.pytest_plugin", "-rN", "-W", "ignore::pytest.PytestAssertRewriteWarning")


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester whose inner sessions can import `tests.buggy_systems`."""
    pytester.syspathinsert(ROOT)
    return pytester


def text_of(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


# ---- traces ---------------------------------------------------------------------------------


def test_a_bug_fails_the_test_with_a_unique_trace_under_rootdir_and_the_replay_command(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        test_uses_fixture="""
        from tests import buggy_systems as systems

        def test_buggy(explore):
            explore(systems.lost_update, iterations=50, seed=1, strategy="random")

        def test_buggy_other_seed(explore):
            explore(systems.lost_update, iterations=50, seed=2, strategy="random")

        def test_fixed(explore):
            report = explore(systems.lost_update_fixed, iterations=50, seed=1)
            assert report.bug is None
        """
    )
    result = inner.runpytest(*PLUGIN)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*safety bug in test*lost update*",
            "why:",
            "  It fails when `*reaches `Register#1`*; passes when*",
            "trace: testkit-traces/tests.buggy_systems_lost_update-random-seed1-it*.trace",
            "replay: python -m testkit replay tests.buggy_systems:lost_update "
            "testkit-traces/tests.buggy_systems_lost_update-random-seed1-it*.trace",
            "rerun this exploration: pytest test_uses_fixture.py::test_buggy --testkit-seed 1",
        ]
    )
    traces = sorted(p.name for p in (inner.path / "testkit-traces").glob("*[0-9].trace"))
    assert len(traces) == 2, traces  # one per bug, neither overwriting the other
    assert [name.split("-seed")[1][0] for name in traces] == ["1", "2"]
    assert not (inner.path / ".testkit-traces").exists()
    replayed = inner.path / "testkit-traces" / traces[0]
    from tests import buggy_systems

    bug = testkit.replay(buggy_systems.lost_update, replayed).bug
    assert bug is not None and "lost update" in bug.message


def test_a_trace_that_cannot_be_saved_still_fails_with_the_bug_and_the_seed(
    inner: pytest.Pytester,
) -> None:
    (inner.path / "testkit-traces").write_text("a file where the directory should be")
    inner.makepyfile(
        """
        from tests import buggy_systems as systems

        def test_buggy(explore):
            explore(systems.lost_update, iterations=50, seed=1, strategy="random")
        """
    )
    result = inner.runpytest(*PLUGIN)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*lost update*", "trace not saved (*", "*--testkit-seed 1"])


def test_with_stop_at_first_bug_false_every_bug_is_listed_with_its_own_trace(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        test_two_bugs="""
        def two_bugs(runtime):
            value = runtime.random_int(3)
            assert value != 1, "bug one"
            assert value != 2, "bug two"

        def test_all(explore):
            explore(two_bugs, iterations=30, seed=1, strategy="random", stop_at_first_bug=False)
        """
    )
    result = inner.runpytest(*PLUGIN)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["BUG: *bug *", "* more bug(s):", "  safety bug in test *"])
    output = result.stdout.str()
    assert "bug one" in output and "bug two" in output
    traces = list((inner.path / "testkit-traces").glob("*[0-9].trace"))
    assert output.count("trace: testkit-traces/") == min(len(traces), 11)
    assert len(traces) >= 2


# ---- options ---------------------------------------------------------------------------------


def test_help_lists_every_option_with_its_default(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*PLUGIN, "--help")
    text = " ".join(result.stdout.str().split())
    for option, default in [
        ("--testkit-iterations=N", "default: the test's, else 100"),
        ("--testkit-seed=N", "default: the test's, else random"),
        ("--testkit-strategy=NAME", "default: the test's, else portfolio"),
        ("--testkit-workers=N", "default: the test's, else 1"),
        ("--testkit-timeout=SECONDS", "default: the test's, else no limit"),
        ("--testkit-shrink-budget=SECONDS", "default: the test's, else 30"),
    ]:
        assert option in text
        assert default in text
    assert "overrides the testkit marker and the explore(...) call" in text


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--testkit-iterations", "0", "iterations must be an integer >= 1"),
        ("--testkit-workers", "-2", "workers must be an integer >= 1"),
        ("--testkit-strategy", "fastest", "unknown strategy 'fastest'; choose one of random"),
        ("--testkit-strategy", "random:3", "takes no bound"),
        ("--testkit-timeout", "0", "a finite number of seconds > 0"),
        ("--testkit-timeout", "inf", "a finite number of seconds > 0"),
        ("--testkit-iterations", "many", "invalid int value: 'many'"),
        ("--testkit-shrink-budget", "-1", "--testkit-shrink-budget -1.0: the shrink budget"),
        ("--testkit-shrink-budget", "nan", "a finite number of seconds >= 0"),
    ],
)
def test_bad_option_values_are_usage_errors(
    pytester: pytest.Pytester, option: str, value: str, message: str
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*PLUGIN, option, value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in text_of(result)
    assert "Traceback" not in text_of(result)


def test_the_marker_is_registered_for_strict_markers(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest
        from tests import buggy_systems as systems

        @pytest.mark.testkit(iterations=3, max_steps=500)
        def test_fixed(explore):
            assert explore(systems.lost_update_fixed, seed=1).iterations == 3
        """
    )
    inner.runpytest(*PLUGIN, "--strict-markers").assert_outcomes(passed=1)
    inner.runpytest(*PLUGIN, "--markers").stdout.fnmatch_lines(["@pytest.mark.testkit(*"])


class Recorder:
    """Stands in for `testkit.explore` and records what the plugin passed it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self,
        test: Any,
        iterations: int = 100,
        max_steps: int = 10_000,
        strategy: str = "portfolio",
        seed: int | None = None,
        **kwargs: Any,
    ) -> Report:
        call = dict(kwargs, iterations=iterations, max_steps=max_steps, strategy=strategy)
        self.calls.append(dict(call, seed=seed))
        return Report(name_of(test), strategy, seed or 0, max_steps)


PRECEDENCE = """
    import pytest
    from tests import buggy_systems as systems

    pytestmark = pytest.mark.testkit(max_steps=50, seed=5, timer_delay=3)

    @pytest.mark.testkit(iterations=7, seed=6)
    def test_settings(explore):
        explore(systems.lost_update, 3, 99, strategy="pct", seed=1, liveness_threshold=4)
    """


def test_option_beats_marker_beats_call_beats_default(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    monkeypatch.setattr(_explore, "explore", recorder)
    inner.makepyfile(PRECEDENCE)
    inner.runpytest(*PLUGIN).assert_outcomes(passed=1)
    inner.runpytest(
        *PLUGIN,
        "--testkit-iterations=9",
        "--testkit-seed=2",
        "--testkit-strategy=random",
        "--testkit-timeout=1.5",
    ).assert_outcomes(passed=1)
    marker_over_call, option_over_marker = recorder.calls
    assert {k: v for k, v in marker_over_call.items() if k != "progress"} == {
        "iterations": 7,  # the test's own marker over the call's 3
        "max_steps": 50,  # the module's marker over the call's 99
        "seed": 6,  # the closest marker wins
        "timer_delay": 3,
        "strategy": "pct",  # the call's, no marker or option set it
        "liveness_threshold": 4,
    }
    assert {k: v for k, v in option_over_marker.items() if k != "progress"} == {
        "iterations": 9,
        "max_steps": 50,
        "seed": 2,
        "timer_delay": 3,
        "strategy": "random",
        "liveness_threshold": 4,
        "time_budget": 1.5,
    }


@pytest.mark.parametrize(
    ("options", "marker", "workers"),
    [
        ((), "", None),
        (("--testkit-workers=1",), "", None),
        (("--testkit-workers=3",), "", 3),
        ((), "@pytest.mark.testkit(workers=2)", 2),
        (("--testkit-workers=4",), "@pytest.mark.testkit(workers=2)", 4),
        (("--testkit-workers=1",), "@pytest.mark.testkit(workers=2)", None),
    ],
)
def test_workers_is_passed_only_when_asked_for_and_not_one(
    inner: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    options: tuple[str, ...],
    marker: str,
    workers: int | None,
) -> None:
    recorder = Recorder()
    monkeypatch.setattr(_explore, "explore", recorder)
    inner.makepyfile(
        f"""
        import pytest
        from tests import buggy_systems as systems

        {marker}
        def test_workers(explore):
            explore(systems.lost_update_fixed)
        """
    )
    inner.runpytest(*PLUGIN, *options).assert_outcomes(passed=1)
    (call,) = recorder.calls
    assert call.get("workers") == workers
    assert ("workers" in call) == (workers is not None)


def test_workers_with_an_explore_that_has_none_is_a_clear_failure(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def old_explore(test: Any, iterations: int = 100, *, progress: Any = None) -> Report:
        raise AssertionError("not to be called with workers")

    monkeypatch.setattr(_explore, "explore", old_explore)
    inner.makepyfile(
        """
        from tests import buggy_systems as systems

        def test_workers(explore):
            explore(systems.lost_update_fixed)
        """
    )
    result = inner.runpytest(*PLUGIN, "--testkit-workers=2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*workers=2 was asked for, but this version of testkit.explore*"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            "@pytest.mark.testkit(iterations=10, iteration=3)",
            "ERROR: *::test_marked: @pytest.mark.testkit: unknown keyword(s) iteration (write "
            "iterations= instead of iteration=); it accepts actor_failures, coverage, dask, "
            "enabled, faults, iterations, liveness_threshold, max_steps, *seed, shrink, "
            "shrink_budget, "
            "stop_at_first_bug, strategy, time_budget, timer_delay*workers",
        ),
        ("@pytest.mark.testkit(10)", "*@pytest.mark.testkit takes keywords only, got (10,)*"),
        (
            "@pytest.mark.testkit(iterations=0)",
            "*@pytest.mark.testkit(iterations=0): iterations must be an integer >= 1",
        ),
        (
            "@pytest.mark.testkit(strategy='fastest')",
            "*@pytest.mark.testkit(strategy='fastest'): unknown strategy 'fastest'*",
        ),
        ("@pytest.mark.testkit(seed='one')", "*seed='one'): seed must be an integer"),
        ("@pytest.mark.testkit(time_budget=-1)", "*a finite number of seconds > 0"),
        ("@pytest.mark.testkit(enabled='no')", "*enabled='no'): enabled must be True or False"),
    ],
)
@pytest.mark.parametrize("uses", ["explore", "nothing"])
def test_bad_markers_are_usage_errors_saying_what_to_write(
    inner: pytest.Pytester, marker: str, message: str, uses: str
) -> None:
    body = "explore(systems.lost_update_fixed)" if uses == "explore" else "pass"
    inner.makepyfile(
        f"""
        import pytest
        from tests import buggy_systems as systems

        {marker}
        def test_marked({uses if uses == "explore" else ""}):
            {body}
        """
    )
    result = inner.runpytest(*PLUGIN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in text_of(result)


def test_the_users_progress_callback_is_still_called(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from tests import buggy_systems as systems

        def test_progress(explore):
            seen = []
            explore(systems.lost_update_fixed, iterations=4, seed=1, progress=seen.append)
            assert [p.iteration for p in seen] == [1, 2, 3, 4]
        """
    )
    inner.runpytest(*PLUGIN).assert_outcomes(passed=1)


def test_a_progress_value_the_plugin_cannot_chain_is_passed_on_unchanged(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    monkeypatch.setattr(_explore, "explore", recorder)
    inner.makepyfile(
        """
        from tests import buggy_systems as systems

        def test_progress(explore):
            explore(systems.lost_update_fixed, progress=True)
            explore(systems.lost_update_fixed)
        """
    )
    inner.runpytest(*PLUGIN).assert_outcomes(passed=1)
    bar, default = recorder.calls
    assert bar["progress"] is True
    assert callable(default["progress"])  # the plugin's, telling where iterations end


# ---- misuse errors -------------------------------------------------------------------------

SLEEPER = """
    import threading
    import pykka
    from fsm import FSM, Event

    class Sleeper(FSM, pykka.ThreadingActor):
        def __init__(self):
            super().__init__()
            self.start_with("idle", None)
            self.when("idle", self.idle)
            self.initialize()

        def idle(self, event):
            self.log.warning("about to start a thread on %r", event.message)
            threading.Thread(target=lambda: None, name="helper").start()
            return self.stay()

    def sleeps(runtime):
        Sleeper.start().tell("wake up")

    def test_sleeps(explore):
        explore(sleeps, iterations=3, seed=1)

    def test_bad_argument(explore):
        explore(sleeps, iterations=0)
    """


def test_testkit_errors_show_their_message_without_testkit_frames(inner: pytest.Pytester) -> None:
    inner.makepyfile(SLEEPER)
    result = inner.runpytest(*PLUGIN)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "TestkitError: Sleeper#1* started a thread ('helper') under the deterministic tester*",
            "log records of the iteration that failed (all 1; 1 in all, *",
            "  WARNING *.Sleeper: about to start a thread on 'wake up'",
            "TestkitError: explore(..., iterations=...) must be an integer >= 1, got 0",
        ]
    )
    output = result.stdout.str()
    assert "_explore.py" not in output and "pytest_plugin.py" not in output


# ---- logs ------------------------------------------------------------------------------------

NOISY = """
    import logging
    import pykka
    from fsm import FSM

    class Noisy(FSM, pykka.ThreadingActor):
        def __init__(self):
            super().__init__()
            self.start_with("idle", None)
            self.when("idle", lambda event: None)  # every message: an 'unhandled' warning
            self.initialize()

    runs = []

    def noisy(runtime):
        runs.append(len(runs))
        noisy = Noisy.start()
        for number in range(30):
            noisy.tell(f"junk {len(runs)}-{number}")
        runtime.run()
        assert len(runs) < 3, "the third run fails"

    def test_noisy(explore):
        explore(noisy, iterations=10, seed=1, strategy="random")

    def test_logs_after_explore_are_captured_as_usual(explore):
        runs.clear()
        explore(noisy, iterations=1, seed=1)
        logging.getLogger("mine").warning("after exploring")
        assert False, "show the captured log"
    """


def test_a_noisy_system_gives_a_short_report_with_the_buggy_iterations_last_records(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(test_noisy_system=NOISY)
    result = inner.runpytest(*PLUGIN, "test_noisy_system.py::test_noisy")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "Captured log" not in output
    result.stdout.fnmatch_lines(
        [
            "log records of the buggy iteration (the last 20 of 30; 90 in all, kept out of *",
            "  WARNING test_noisy_system.Noisy: unhandled event 'junk 3-10' in state 'idle'*",
            "  WARNING *'junk 3-29'*",
        ]
    )
    assert output.count("unhandled event") == 20
    assert "'junk 2-" not in output  # only the buggy (third) iteration's records
    assert len(result.outlines) < 80, output


def test_pytest_log_capture_is_back_after_explore(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_noisy_system=NOISY)
    result = inner.runpytest(
        *PLUGIN, "test_noisy_system.py::test_logs_after_explore_are_captured_as_usual"
    )
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "Captured log call" in output and "after exploring" in output
    assert "unhandled event" not in output
