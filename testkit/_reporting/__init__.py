"""Reporting: what an exploration found, and its progress as it runs."""
