"""The engine: the deterministic runtime, its operations, the test function's turn, the
sandbox and watchdog, and the loops that explore and replay (with the traces they record)."""
