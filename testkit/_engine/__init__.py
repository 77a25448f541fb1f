"""The engine: the deterministic runtime and one iteration under it (its operations, the
test function's turn, the sandbox and watchdog, the trace it records and the forced replay of
one), calling out only through its observer seam. Nothing here imports a room above it."""
