"""Shrinking: cut a failing trace down to a short one that replays to the same bug."""
