"""TestKit tools: `TestProbe` and `TestFSMRef`, under real threads and under the tester."""
