"""Testing tools for FSM actors: TestKit-style probes and the deterministic tester.

`TestProbe` and `TestFSMRef` work with real Pykka threads and under the tester. `explore`
runs a test function under many schedules (Coyote-style), `replay` reproduces a found bug
from its `Trace`, and `deterministic()` runs a block of a test under one schedule.
"""

from __future__ import annotations

from testkit._engine.bug import Bug
from testkit._engine.runtime import Runtime
from testkit._engine.trace import Step, Trace
from testkit._errors import ReplayDivergence, TestkitError
from testkit._explaining.explanation import Change, Explanation
from testkit._exploration.deterministic import deterministic
from testkit._exploration.diagrams import sequence_diagram
from testkit._exploration.explore import explore
from testkit._exploration.replay import replay
from testkit._exploration.shrink import shrink
from testkit._probes.fsm_kit import Effects, FSMTestKit, Timer
from testkit._probes.fsm_ref import TestFSMRef
from testkit._probes.logs import expect_logs, forbid_logs
from testkit._probes.manual_time import ManualTime, expect_no_msg_for
from testkit._probes.messages import Terminated
from testkit._probes.probe import TestProbe
from testkit._probes.sync_dispatcher import UnansweredAsk
from testkit._reporting.coverage import Coverage
from testkit._reporting.machine_coverage import MachineCoverage
from testkit._reporting.progress import Progress
from testkit._reporting.report import BugFound, Interrupted, Report
from testkit._strategies import NAMES as STRATEGIES

__all__ = [
    "STRATEGIES",
    "Bug",
    "BugFound",
    "Change",
    "Coverage",
    "Effects",
    "Explanation",
    "FSMTestKit",
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
    "Timer",
    "Trace",
    "UnansweredAsk",
    "deterministic",
    "expect_logs",
    "expect_no_msg_for",
    "explore",
    "forbid_logs",
    "replay",
    "sequence_diagram",
    "shrink",
]
