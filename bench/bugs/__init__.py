"""A benchmark of protocol bugs written for this project: each module is a small system
with a seeded bug, `buggy(runtime)` and `fixed(runtime)` test functions, and `STORY`, one line
on what goes wrong. `SYSTEMS` lists them in the order of `bench/strategies.py`'s table."""

SYSTEMS = (
    "raft_election",
    "two_phase_commit",
    "primary_backup",
    "safra_termination",
    "lost_wakeup",
    "lease_lock",
    "retry_backoff",
    "deep_race",
)

FAULT_SYSTEMS = (
    "lost_ack_write",
    "split_leader",
    "double_charge",
)
"""Systems whose bug needs a declared fault: each module also has `FAULTS`, the
`testkit.Faults` to explore it with (`python bench/faults.py`)."""
