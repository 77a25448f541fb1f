"""What `--dask` and the test module can get wrong, on a real dask cluster (worker
processes): a bad address, a test module that fails to import, a test module the workers do
not have (sent by value), a test made by a factory."""

from __future__ import annotations

import io
import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import testkit
from testkit import explore
from testkit._cli import main

from . import io_systems

distributed = pytest.importorskip("distributed", reason="needs the dask extra")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: two runs of the suite at once do not collide
        silence_logs=logging.CRITICAL,
    ) as local:
        for name in list(logging.root.manager.loggerDict):
            if name == "distributed" or name.startswith("distributed."):
                logging.getLogger(name).setLevel(logging.CRITICAL)
        yield local


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


def test_a_bad_dask_address_is_one_line_and_exit_2() -> None:
    code, text = run("test", "tests.buggy_systems:lost_update_fixed", "--dask", "bogus")
    assert code == 2, text
    assert text.startswith("testkit: testing")  # the banner, then one line of error
    (error,) = [line for line in text.splitlines() if line.startswith("error:")]
    assert "cannot reach the dask scheduler at 'bogus'" in error
    assert "tcp://HOST:PORT" in error and "Traceback" not in text


def test_a_test_module_that_fails_to_import_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_io_module.py").write_text("import os\nraise RuntimeError('half done')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, text = run("test", "broken_io_module:execute", "--dask", "tcp://127.0.0.1:1")
    assert code == 2, text
    assert text.count("\n") == 1 and "Traceback" not in text
    assert "importing module 'broken_io_module' failed: RuntimeError: half done" in text
    assert "broken_io_module.py:2" in text


def test_a_test_module_the_workers_lack_is_sent_by_value(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = textwrap.dedent(
        """
        from tests import buggy_systems

        def execute(runtime):
            buggy_systems.lost_update(runtime)
        """
    )
    (tmp_path / "only_here_io_module.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))  # after the workers started: not theirs
    import only_here_io_module  # type: ignore[import-not-found]

    client = distributed.Client(cluster)
    try:
        assert not any(client.run(_importable, "only_here_io_module").values())
        arguments: dict[str, Any] = {"iterations": 40, "max_steps": 500, "strategy": "random"}
        here = explore(only_here_io_module.execute, **arguments, seed=5, shrink=False)
        there = explore(only_here_io_module.execute, **arguments, seed=5, shrink=False, dask=client)
        assert there.bug is not None and here.bug is not None
        assert _text(there.bug.trace) == _text(here.bug.trace)
        assert (there.iterations, there.steps) == (here.iterations, here.steps)
    finally:
        client.close()
        sys.modules.pop("only_here_io_module", None)


def test_a_module_the_test_imports_missing_on_the_workers_is_one_clear_error(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "only_here_io_system.py").write_text(
        "from tests.buggy_systems import lost_update as run\n"
    )
    (tmp_path / "only_here_io_test.py").write_text(
        "import only_here_io_system\n\n"
        "def execute(runtime):\n"
        "    only_here_io_system.run(runtime)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        code, text = run(
            "test", "only_here_io_test:execute", "-i", "20", "--seed", "1", "--no-progress",
            "--dask", cluster.scheduler_address,
        )  # fmt: skip
    finally:
        sys.modules.pop("only_here_io_test", None)
        sys.modules.pop("only_here_io_system", None)
    assert code == 2, text
    (error,) = [line for line in text.splitlines() if line.startswith("error:")]
    assert "a dask worker cannot import only_here_io_system" in error, text


def test_a_factory_made_test_runs_on_the_cluster(cluster: Any, tmp_path: Path) -> None:
    code, text = run(
        "test", "tests.io_systems:make()", "-i", "40", "--max-steps", "500", "-s", "random",
        "--seed", "1", "--no-shrink", "--no-progress", "--dask", cluster.scheduler_address,
        "--trace-out", str(tmp_path / "made"),
    )  # fmt: skip
    assert code == 1, text
    here = explore(io_systems.made, iterations=40, max_steps=500, strategy="random", seed=1)
    assert here.bug is not None
    written = _text(testkit.Trace.load(tmp_path / "made.trace"))
    expected = _text(here.bug.original_trace)
    assert written[0] == expected[0] and written[2:] == expected[2:]  # [1] is the test's name
    assert written[1] == "# test: tests.io_systems:make()"
    assert "sequence diagram written to" in text


def _importable(module: str) -> bool:
    """On a worker: whether it can import `module`."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _text(trace: testkit.Trace) -> list[str]:
    """A trace's lines but the hash seed of the process that ran it."""
    return [line for line in trace.to_text().splitlines() if not line.startswith("# hash_seed:")]
