"""Testing tools for FSM actors: TestKit-style probes and the deterministic tester.

`TestProbe` and `TestFSMRef` work with real Pykka threads and under the tester. `explore`
runs a test function under many schedules (Coyote-style), `replay` reproduces a found bug
from its `Trace`, and `deterministic()` runs a block of a test under one schedule.
"""

from __future__ import annotations

from testkit._bug import Bug
from testkit._errors import Interrupted, ReplayDivergence, TestkitError
from testkit._explore import deterministic, explore
from testkit._fsm_ref import TestFSMRef
from testkit._probe import TestProbe
from testkit._progress import Progress
from testkit._replay import replay
from testkit._report import BugFound, Report
from testkit._runtime import Runtime
from testkit._strategies import NAMES as STRATEGIES
from testkit._trace import Step, Trace

__all__ = [
    "STRATEGIES",
    "Bug",
    "BugFound",
    "Interrupted",
    "Progress",
    "ReplayDivergence",
    "Report",
    "Runtime",
    "Step",
    "TestFSMRef",
    "TestProbe",
    "TestkitError",
    "Trace",
    "deterministic",
    "explore",
    "replay",
]
