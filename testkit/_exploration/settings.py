"""What `explore` was asked for, checked once into a `Settings` that every way of running
iterations (this process, worker processes, a Dask cluster) reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from testkit._engine.test_function import TestFunction, check_test
from testkit._engine.trace import NUMBER_BOUND
from testkit._engine.watchdog import check_watchdog
from testkit._errors import TestkitError
from testkit._shrinking.driver import check_budget
from testkit._strategies import Strategy


@dataclass(frozen=True)
class Settings:
    """`explore`'s arguments, checked: what a run needs wherever its iterations run."""

    test: TestFunction
    iterations: int
    max_steps: int
    strategy: str | Strategy
    seed: int | None
    stop_at_first_bug: bool
    liveness_threshold: int | None
    timer_delay: int
    name: str | None
    watchdog: float | None
    coverage: bool
    time_budget: float | None = None
    workers: int = 1
    shrink_budget: float = 0.0
    """Seconds to spend shrinking the bugs found; 0 leaves them as found."""


def check_arguments(
    test: Any,
    iterations: int,
    max_steps: int,
    seed: int | None,
    threshold: int | None,
    timer_delay: int,
    progress: Any = None,
    workers: int = 1,
) -> None:
    """The checks `explore` and the command line share, each error saying what to pass."""
    check_test(test)
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise TestkitError(
            "explore(..., progress=...) must be True (a progress bar on stderr), False "
            f"(none), None (a line every 10 s on long runs) or a callable, got {progress!r}"
        )
    for name, value in (("iterations", iterations), ("max_steps", max_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TestkitError(f"explore(..., {name}=...) must be an integer >= 1, got {value!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TestkitError(f"explore(..., seed=...) must be an integer or None, got {seed!r}")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0
    ):
        raise TestkitError(
            "explore(..., liveness_threshold=...) must be an integer >= 0 or None, "
            f"got {threshold!r}"
        )
    if isinstance(timer_delay, bool) or not isinstance(timer_delay, int) or timer_delay < 0:
        raise TestkitError(
            f"explore(..., timer_delay=...) must be an integer >= 0, got {timer_delay!r}"
        )
    for name, bounded in (
        ("iterations", iterations),
        ("max_steps", max_steps),
        ("seed", seed),
        ("liveness_threshold", threshold),
        ("timer_delay", timer_delay),
    ):
        if bounded is not None and abs(bounded) >= NUMBER_BOUND:
            raise TestkitError(
                f"explore(..., {name}=...) has {len(str(abs(bounded)))} digits; a trace keeps "
                f"at most {len(str(NUMBER_BOUND)) - 1} (it could not be read back): pass a "
                "smaller number"
            )
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise TestkitError(
            f"explore(..., workers=...) must be a number of processes >= 1, got {workers!r}"
        )


def checked_settings(arguments: dict[str, Any]) -> Settings:
    """`explore`'s keyword arguments (all of them, by name) as `Settings`, or a
    `TestkitError` naming the first one that is wrong and what it should be."""
    a = arguments
    check_arguments(
        a["test"],
        a["iterations"],
        a["max_steps"],
        a["seed"],
        a["liveness_threshold"],
        a["timer_delay"],
        a["progress"],
        a["workers"],
    )
    watchdog = check_watchdog(a["watchdog"], "explore")
    time_budget = a["time_budget"]
    if time_budget is not None and (
        isinstance(time_budget, bool)
        or not isinstance(time_budget, (int, float))
        or not time_budget > 0
    ):
        raise TestkitError(
            f"explore(..., time_budget=...) must be a number of seconds > 0 or None, "
            f"got {time_budget!r}"
        )
    if not isinstance(a["shrink"], bool):
        raise TestkitError(f"explore(..., shrink=...) must be True or False, got {a['shrink']!r}")
    shrink_budget = 0.0
    if a["shrink"]:
        shrink_budget = check_budget(a["shrink_budget"], "explore(..., shrink_budget=...)")
    if a["dask"] is not None and a["workers"] != 1:
        raise TestkitError(
            "explore(..., dask=..., workers=...): choose one; with dask the cluster's "
            "workers run the iterations"
        )
    return Settings(
        test=a["test"],
        iterations=a["iterations"],
        max_steps=a["max_steps"],
        strategy=a["strategy"],
        seed=a["seed"],
        stop_at_first_bug=a["stop_at_first_bug"],
        liveness_threshold=a["liveness_threshold"],
        timer_delay=a["timer_delay"],
        name=a["name"],
        watchdog=watchdog,
        coverage=a["coverage"],
        time_budget=time_budget,
        workers=a["workers"],
        shrink_budget=shrink_budget,
    )
