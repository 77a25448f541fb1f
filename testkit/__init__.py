"""Testing tools for FSM actors: TestKit-style probes and the deterministic tester.

`TestProbe` and `TestFSMRef` work with real Pykka threads and under the tester. `explore`
runs a test function under many schedules (Coyote-style), `replay` reproduces a found bug
from its `Trace`, and `deterministic()` runs a block of a test under one schedule.
"""

from __future__ import annotations

from testkit._engine.bug import Bug
from testkit._engine.explore import deterministic, explore
from testkit._engine.replay import replay
from testkit._engine.runtime import Runtime
from testkit._engine.trace import Step, Trace
from testkit._errors import Interrupted, ReplayDivergence, TestkitError
from testkit._pictures.sequence import sequence_diagram
from testkit._probes.fsm_ref import TestFSMRef
from testkit._probes.manual_time import ManualTime, expect_no_msg_for
from testkit._probes.messages import Terminated
from testkit._probes.probe import TestProbe
from testkit._reporting.coverage import Coverage, MachineCoverage
from testkit._reporting.progress import Progress
from testkit._reporting.report import BugFound, Report
from testkit._shrinking.api import shrink
from testkit._strategies import NAMES as STRATEGIES

__all__ = [
    "STRATEGIES",
    "Bug",
    "BugFound",
    "Coverage",
    "Interrupted",
    "MachineCoverage",
    "ManualTime",
    "Progress",
    "ReplayDivergence",
    "Report",
    "Runtime",
    "Step",
    "Terminated",
    "TestFSMRef",
    "TestProbe",
    "TestkitError",
    "Trace",
    "deterministic",
    "expect_no_msg_for",
    "explore",
    "replay",
    "sequence_diagram",
    "shrink",
]
