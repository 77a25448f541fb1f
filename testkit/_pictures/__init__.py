"""Pictures of runs: the sequence diagram of a replayed trace (its recorder and its page)."""
