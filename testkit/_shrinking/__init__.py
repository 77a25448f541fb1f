"""Shrinking: cut a failing trace down to a short one that replays to the same bug (the
engine's forced replay is its only way to run the program)."""
