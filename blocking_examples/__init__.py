"""Pykka code in the ordinary blocking style, under the deterministic tester.

`playback` is a small music player core: plain `pykka.ThreadingActor`s talking through
proxies and blocking `.get()` calls, with a seeded ask-cycle deadlock that only some
interleavings reach, and its fix.
"""
