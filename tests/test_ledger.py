"""The ledger example: the tester finds the write-behind bug, the fixed account survives
10,000 schedules, and on a real SQLite file every acknowledged command survives kill -9."""

from __future__ import annotations

import io
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

import fsm
import testkit
from failover_examples import ledger
from failover_examples.ledger.production import Ack, check, parse_acks
from testkit import explore, replay
from testkit._cli import main as cli_main
from testkit._engine.observer import Observer, installed

ROOT = Path(__file__).resolve().parent.parent
LOST = "AssertionError: acknowledged command(s)"

# Measured with the default portfolio over seeds 1-20: found in 1-3 iterations (19 of 20
# in the first); the bound leaves a wide margin.
BOUND = 50


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_write_behind_bug_is_found_and_replays(seed: int) -> None:
    report = explore(ledger.execute, BOUND, 2000, seed=seed)
    bug = report.bug
    assert bug is not None, f"not found in {BOUND} iterations with seed {seed}"
    assert (bug.kind, bug.actor) == ("safety", "LedgerSafety")
    assert bug.message.startswith(LOST) and "lost in the crash" in bug.message
    again = replay(ledger.execute, bug.trace)
    assert again.bug is not None and again.bug.headline() == bug.headline()


def test_the_fixed_account_survives_ten_thousand_schedules() -> None:
    report = explore(ledger.execute_fixed, iterations=10_000, max_steps=2000, seed=11)
    assert report.bug is None, report.bug and report.summary()
    assert report.iterations == 10_000


# Measured with the default portfolio and ledger.FAULTS over seeds 1-10: found in 2-12
# iterations (median 3); the bound leaves a wide margin.
EAGER_BOUND = 100


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_eager_account_is_found_by_a_crash_mid_write(seed: int) -> None:
    """`EagerAccount` answers just before its write: found by the default portfolio once a
    write is a scheduling point and a declared crash can land while the account waits for
    the journal (after the answer, before the confirmation)."""
    report = explore(ledger.execute_eager, EAGER_BOUND, seed=seed, faults=ledger.FAULTS)
    bug = report.bug
    assert bug is not None, f"not found in {EAGER_BOUND} iterations with seed {seed}"
    assert (bug.kind, bug.actor) == ("safety", "LedgerSafety")
    steps = [str(s).split(" ", 1)[1] for s in bug.original_trace.steps]
    crash = steps.index("fault crash EagerAccount#1")
    before = steps[:crash]
    waits = [s for s in before if s.startswith("wait EagerAccount#1 journal")]
    resumes = [s for s in before if s.startswith("resume EagerAccount#1 journal")]
    assert waits and len(resumes) < len(waits), "the crash struck while a write was pending"
    again = replay(ledger.execute_eager, bug.trace)
    assert again.bug is not None and again.bug.headline() == bug.headline()
    picture = testkit.sequence_diagram(ledger.execute_eager, bug.original_trace, "mermaid")
    assert "crashed before the journal confirmed it" in picture


def test_the_fixed_account_survives_crashes_mid_write_and_recovers() -> None:
    """`Account` answers only after the write: a crash while it waits for the journal loses
    the write or keeps it, never an acknowledgement; the restarted account recovers from
    the journal (the monitor checks every command is in it exactly once)."""
    lost: list[int] = []

    class Lost(Observer):
        def journal(self, step: int, mailbox: Any, event: str, write: Any) -> None:
            if event == "lost":
                lost.append(step)

    with installed(Lost()):
        report = explore(
            ledger.execute_declared_fixed, 500, seed=11, faults=ledger.FAULTS, coverage=False
        )
    assert report.bug is None, report.bug and report.summary()
    assert report.faults.injected["restart"] > 0
    assert lost, "no crash struck mid-write in 500 iterations"


def test_the_cli_finds_the_bug_as_the_docstring_says() -> None:
    out = io.StringIO()
    code = cli_main(
        ["test", "failover_examples.ledger:execute", "-i", "100", "--max-steps", "2000",
         "--seed", "1", "--trace-out", "/dev/null"],
        out,
    )  # fmt: skip
    assert code == 1
    assert "lost in the crash" in out.getvalue()


# ---- production: a real SQLite file and kill -9 ---------------------------------------------


class Server:
    """`python -m failover_examples.ledger serve` as a child process, its stdout read line by
    line on a thread (so a test never blocks on a silent child)."""

    def __init__(self, journal: Path, *args: str) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "failover_examples.ledger", "serve", "--journal",
             str(journal), *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for_acks(self, count: int, limit: float = 120.0) -> None:
        """Read until `count` ACK lines came (or fail, with the child's stderr)."""
        deadline = time.monotonic() + limit
        while sum(line.startswith("ACK ") for line in self.seen) < count:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.fail(f"fewer than {count} acknowledgements within {limit} s")
            if line is None:
                self.fail(f"the server ended before {count} acknowledgements")
            self.seen.append(line)

    def kill(self) -> None:
        """SIGKILL the child (never this process), then take what it printed before."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(60)
        self.finish()

    def finish(self) -> list[str]:
        self.reader.join(60)
        while True:
            line = self.lines.get()
            if line is None:
                break
            self.seen.append(line)
        return self.seen

    def fail(self, why: str) -> NoReturn:
        self.process.kill()
        self.process.wait(60)
        assert self.process.stderr is not None
        pytest.fail(f"{why}; stderr:\n{self.process.stderr.read()[-3000:]}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(60)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.close()


def recovered_problems(journal_path: Path, lines: list[str]) -> list[str]:
    journal = fsm.SQLiteJournal(journal_path)
    try:
        return check(journal, parse_acks(lines))
    finally:
        journal.close()


def test_every_acknowledged_command_survives_kill_9(tmp_path: Path, servers: list[Server]) -> None:
    journal = tmp_path / "ledger.db"
    everything: list[str] = []
    for run in ("r1", "r2"):  # killed mid-load twice, the second time after recovering
        server = Server(journal, "--accounts", "6", "--run", run, "--snapshot-every", "50")
        servers.append(server)
        server.wait_for_acks(300)
        server.kill()
        assert server.process.returncode == -signal.SIGKILL
        if run == "r2":
            assert sum(line.startswith("RECOVERED") for line in server.seen) == 6
        everything += server.seen
    last = Server(journal, "--accounts", "6", "--run", "r3", "--commands", "20")
    servers.append(last)
    assert last.process.wait(120) == 0
    everything += last.finish()
    assert everything[-1] == "DONE\n"
    acks = parse_acks(everything)
    assert len(acks) >= 600 + 6 * 20
    assert recovered_problems(journal, everything) == []
    # and the same through the command line a person would use
    acks_file = tmp_path / "acks.txt"
    acks_file.write_text("".join(everything), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "failover_examples.ledger", "verify", "--journal", str(journal),
         str(acks_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK: all {len(acks)} acknowledged commands of 6 account(s)" in result.stdout


def test_the_write_behind_account_loses_acknowledged_commands_to_kill_9(
    tmp_path: Path, servers: list[Server]
) -> None:
    """The seeded bug in production: it answers at once and would write a minute later."""
    journal = tmp_path / "ledger.db"
    server = Server(journal, "--accounts", "2", "--variant", "write-behind",
                    "--flush-after", "600")  # fmt: skip
    servers.append(server)
    server.wait_for_acks(40)
    server.kill()
    problems = recovered_problems(journal, server.seen)
    assert len(problems) >= 40
    assert all("is not in the journal" in problem for problem in problems)


def test_the_pooled_server_keeps_its_promises_too(tmp_path: Path, servers: list[Server]) -> None:
    journal = tmp_path / "ledger.db"
    server = Server(journal, "--accounts", "4", "--commands", "30", "--pooled")
    servers.append(server)
    assert server.process.wait(120) == 0
    lines = server.finish()
    assert len(parse_acks(lines)) == 120
    assert recovered_problems(journal, lines) == []


def test_a_line_cut_short_by_the_kill_is_not_an_acknowledgement() -> None:
    lines = ["RECOVERED 000 balance 0\n", "ACK 000 c 1 accepted 5\n", "ACK 000 c 2 acc"]
    assert parse_acks(lines) == [Ack("000", "c", 1, "accepted", 5)]
