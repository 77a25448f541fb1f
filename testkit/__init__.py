"""Testing tools for FSM actors: TestKit-style probes and the deterministic tester."""

from __future__ import annotations

from testkit._fsm_ref import TestFSMRef
from testkit._probe import TestProbe

__all__ = ["TestFSMRef", "TestProbe"]
