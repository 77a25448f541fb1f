"""Reporting: what an exploration found, its progress as it runs, and its coverage as text,
state diagrams (Mermaid, DOT) and a page."""
