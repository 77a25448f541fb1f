"""Persisted events/s through a PersistentFSM on SQLite vs a bare sqlite3 loop, and recovery.

    python bench/journal.py [--events N] [--writers W] [--rounds R] [--recovery-events M]
                            [--dir DIR] [--synchronous full|normal]

Writes (both sides with the same durability: WAL, `synchronous=FULL` by default, every event
durable before it is confirmed; the same row and the same JSON per event), in paired rounds
so that machine load hits both alike, median of the rounds:

- one writer (the target, at least 0.5): one PersistentFSM persists N events, one per
  command (a sender tells N commands, then asks); vs a bare loop that inserts and commits
  each event on its own.
- W writers (for information): W PersistentFSMs on their threads, commands told round-robin;
  the journal's group commit shares one fsync among the writes that arrive together. Beside
  it the same bare one-commit-per-event loop, and a bare loop committing W events at a time
  (what group commit can at best approach).

Recovery (for information): an FSM whose journal holds M events (default 10^6), timed from
`start()` to its first answer: replaying all of them, and with snapshots (`snapshot_every=
1000`, the latest snapshot 1,000 events before the end, so 1,000 are replayed; the worst
case). Beside them: a bare sqlite3 loop that reads and json-decodes the same rows. Each is
timed twice: the first run may read the file from disk, the second finds it in the page cache.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pykka

import fsm
from fsm import FSM, Event, PersistentFSM, SQLiteJournal, State
from fsm._codec import encode_data, encode_event
from fsm._journal import AtomicWrite, JournalEntry, SnapshotEntry


@dataclass(frozen=True)
class Add:
    amount: int


@dataclass(frozen=True)
class Added:
    amount: int


@dataclass(frozen=True)
class Tally:
    count: int = 0
    total: int = 0


fsm.register_event(Added, "bench.Added")
fsm.register_event(Tally, "bench.Tally")


class Counter(PersistentFSM, FSM, pykka.ThreadingActor):
    """Persists one `Added` per `Add`; answers "count" with the number of events."""

    def __init__(self, pid: str, journal: fsm.Journal, snapshot_every: int | None = None) -> None:
        super().__init__()
        self.persistence_id = pid
        self.journal = journal
        self.snapshot_every = snapshot_every
        self.start_with("counting", Tally())
        self.when("counting", self.counting)
        self.initialize()

    def counting(self, event: Event) -> State | None:
        match event.message:
            case Add(amount):
                return self.stay().applying(Added(amount))
            case "count":
                return self.stay().replying(event.data.count)
        return None

    def apply_event(self, event: Any, data: Tally) -> Tally:
        return Tally(data.count + 1, data.total + event.amount)


# ---- writes ---------------------------------------------------------------------------------


def fresh(folder: Path, name: str) -> Path:
    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def fsm_writes(folder: Path, events: int, writers: int, synchronous: str) -> float:
    """Events/s persisted by `writers` Counters, each event confirmed before the next of
    the same writer is handled."""
    journal = SQLiteJournal(fresh(folder, "fsm.db"), synchronous=synchronous)
    refs = [Counter.start(f"counter-{i}", journal) for i in range(writers)]
    started = time.perf_counter()
    for n in range(events):
        refs[n % writers].tell(Add(n))
    counts: list[int] = [ref.ask("count", block=True) for ref in refs]
    counted = sum(counts)
    elapsed = time.perf_counter() - started
    assert counted == events, counted
    for ref in refs:
        ref.stop()
    journal.close()
    return events / elapsed


def bare_writes(
    folder: Path, events: int, writers: int, per_commit: int, synchronous: str
) -> float:
    """Events/s of a plain sqlite3 loop: the same schema, row and JSON, `per_commit` events
    per transaction."""
    path = fresh(folder, "bare.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    conn.execute(
        "CREATE TABLE events (persistence_id TEXT NOT NULL, seq INTEGER NOT NULL, "
        "state TEXT NOT NULL, manifest TEXT NOT NULL, payload, "
        "PRIMARY KEY (persistence_id, seq)) WITHOUT ROWID"
    )
    seqs = [0] * writers
    insert = "INSERT INTO events VALUES (?, ?, ?, ?, ?)"
    started = time.perf_counter()
    n = 0
    while n < events:
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(min(per_commit, events - n)):
            writer = n % writers
            seqs[writer] += 1
            payload = json.dumps({"amount": n}, separators=(",", ":"))
            conn.execute(
                insert, (f"counter-{writer}", seqs[writer], '"counting"', "bench.Added", payload)
            )
            n += 1
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return events / elapsed


def paired(rounds: int, a: Any, b: Any) -> tuple[float, float, float]:
    """Median of `a()`, of `b()` and of their ratio, over rounds that alternate the order."""
    xs, ys, ratios = [], [], []
    for r in range(rounds):
        if r % 2 == 0:
            x, y = a(), b()
        else:
            y, x = b(), a()
        xs.append(x)
        ys.append(y)
        ratios.append(x / y)
    return statistics.median(xs), statistics.median(ys), statistics.median(ratios)


# ---- recovery -------------------------------------------------------------------------------


def populate(path: Path, events: int, snapshot_at: int | None) -> None:
    """Write what a Counter persisting `events` Adds leaves behind (fast: synchronous=OFF)."""
    journal = SQLiteJournal(path, synchronous="off")
    batch: list[JournalEntry] = []
    tally = Tally()
    key = '"counting"'
    for seq in range(1, events + 1):
        event = Added(seq)
        manifest, payload = encode_event(event, False)
        batch.append(JournalEntry(seq, key, manifest, payload))
        tally = Tally(tally.count + 1, tally.total + seq)
        snapshot = None
        if seq == snapshot_at:
            snapshot = SnapshotEntry(seq, key, *encode_data(tally, False))
        if len(batch) == 10_000 or seq == events or snapshot is not None:
            journal.write(AtomicWrite("counter", tuple(batch), snapshot))
            batch = []
    journal.close()


def time_recovery(path: Path, snapshot_every: int | None, expected: int) -> tuple[float, float]:
    """(wall, CPU) seconds from `start()` to the first answer."""
    journal = SQLiteJournal(path)
    cpu, started = time.process_time(), time.perf_counter()
    ref = Counter.start("counter", journal, snapshot_every)
    count = ref.ask("count")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert count == expected, count
    ref.stop()
    journal.close()
    return elapsed, cpu


def time_bare_read(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds to read and decode every row."""
    cpu, started = time.process_time(), time.perf_counter()
    conn = sqlite3.connect(path)
    total = 0
    for (payload,) in conn.execute(
        "SELECT payload FROM events WHERE persistence_id = ? ORDER BY seq", ("counter",)
    ):
        total += json.loads(payload)["amount"]
    conn.close()
    assert total > 0
    return time.perf_counter() - started, time.process_time() - cpu


def _secs(seconds: float) -> str:
    return f"{seconds * 1000:6.1f} ms" if seconds < 1 else f"{seconds:6.2f} s "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=3000, help="events per write round")
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--recovery-events", type=int, default=1_000_000)
    parser.add_argument("--dir", default=None, help="where the files go (default: a temp dir)")
    parser.add_argument("--synchronous", choices=["full", "normal"], default="full")
    args = parser.parse_args(argv)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="bench-journal-"))
    folder.mkdir(parents=True, exist_ok=True)
    sync = args.synchronous
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, files in {folder}")  # fmt: skip
    print(f"durability: WAL, synchronous={sync.upper()}, each event durable before confirmed")

    print("\nwrites, events/s (median of paired rounds):")
    one, bare_one, ratio = paired(
        args.rounds,
        lambda: fsm_writes(folder, args.events, 1, sync),
        lambda: bare_writes(folder, args.events, 1, 1, sync),
    )
    print(f"  1 writer:  PersistentFSM {one:8,.0f}  bare loop {bare_one:8,.0f}  "
          f"ratio {ratio:.2f}  (target >= 0.5)")  # fmt: skip
    w = args.writers
    many, bare_many, ratio_many = paired(
        args.rounds,
        lambda: fsm_writes(folder, args.events, w, sync),
        lambda: bare_writes(folder, args.events, w, 1, sync),
    )
    batched = statistics.median(
        bare_writes(folder, args.events, w, w, sync) for _ in range(args.rounds)
    )
    print(f"  {w} writers: PersistentFSM {many:8,.0f}  bare loop {bare_many:8,.0f}  "
          f"ratio {ratio_many:.2f}  (group commit; bare loop with {w} per commit: "
          f"{batched:,.0f})")  # fmt: skip

    m = args.recovery_events
    print(f"\nrecovery of one FSM with {m:,} events (start() to its first answer):")
    plain = fresh(folder, "recover-all.db")
    populate(plain, m, None)
    size = plain.stat().st_size / 1e6
    every = 1000
    snapped = fresh(folder, "recover-snapshot.db")
    populate(snapped, m, m - every if m > every else None)
    for label, runs in (
        (f"replaying all {m:,} events", [time_recovery(plain, None, m) for _ in range(2)]),
        (
            f"snapshot + {every:,} events replayed",
            [time_recovery(snapped, every, m) for _ in range(2)],
        ),
        ("bare sqlite3 read + json.loads", [time_bare_read(plain) for _ in range(2)]),
    ):
        (wall1, cpu1), (wall2, cpu2) = runs
        print(f"  {label:36} {_secs(wall1)} (CPU {_secs(cpu1)}), again {_secs(wall2)} "
              f"(CPU {_secs(cpu2)})")  # fmt: skip
    print(f"  (file {size:.0f} MB; the bare read builds no dataclasses and runs no FSM)")
    print(f"\nload at the end {os.getloadavg()[0]:.2f}")
    if not args.dir:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
