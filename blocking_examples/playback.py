"""A playback core, a library and a mixer that ask each other, as Pykka code is written.

`Core.play(uri)` looks the track up in the `Library` and reads the `Mixer`'s volume, each
with a blocking proxy call. The shipped `Library.refresh()` asks the core which track is
playing, so that a rescan keeps it: when the core is inside `play()` (waiting for the
library) while the library handles `refresh()` (waiting for the core), each waits for the
other forever. That happens only when the core starts playing before the library picks up
the refresh queued ahead of the lookup. `FixedLibrary` remembers the last track it handed
out instead of asking back.

    python -m testkit test blocking_examples.playback:execute -i 100
    python -m testkit test blocking_examples.playback:execute_fixed -i 1000
"""

from __future__ import annotations

from typing import Any

import pykka

from testkit import Runtime

TRACKS = {"track:1": "Intro", "track:2": "Outro"}


class Library(pykka.ThreadingActor):
    """Looks tracks up; `refresh()` rescans and keeps the track that is playing."""

    def __init__(self) -> None:
        super().__init__()
        self.core: Any = None
        self.tracks = dict(TRACKS)
        self.kept: str | None = None

    def attach(self, core: Any) -> None:
        self.core = core

    def lookup(self, uri: str) -> str:
        return self.tracks[uri]

    def refresh(self) -> None:
        self.kept = self.core.current_track().get()  # the seeded bug: it asks back
        self.tracks = dict(TRACKS)


class FixedLibrary(Library):
    """Keeps the last track it looked up itself: a refresh never waits for the core."""

    def lookup(self, uri: str) -> str:
        self.kept = uri
        return self.tracks[uri]

    def refresh(self) -> None:
        self.tracks = dict(TRACKS)


class Mixer(pykka.ThreadingActor):
    """Holds the volume."""

    def __init__(self) -> None:
        super().__init__()
        self.volume = 50

    def get_volume(self) -> int:
        return self.volume

    def set_volume(self, volume: int) -> None:
        self.volume = volume


class Core(pykka.ThreadingActor):
    """Plays tracks: asks the library and the mixer, and blocks on both replies."""

    def __init__(self, library: Any, mixer: Any) -> None:
        super().__init__()
        self.library = library
        self.mixer = mixer
        self.playing: str | None = None

    def play(self, uri: str) -> str:
        title = self.library.lookup(uri).get()
        volume = self.mixer.get_volume().get()
        self.playing = uri
        return f"{title} at volume {volume}"

    def current_track(self) -> str | None:
        return self.playing


def _run(library_class: type[Library]) -> None:
    library = library_class.start().proxy()
    mixer = Mixer.start().proxy()
    core = Core.start(library, mixer).proxy()
    library.attach(core)
    library.refresh()  # not waited for: it runs whenever the library gets to it
    mixer.set_volume(80)
    played = core.play("track:1").get()
    assert played in ("Intro at volume 50", "Intro at volume 80"), played
    for actor in pykka.ActorRegistry.get_all():
        actor.stop()


def execute(runtime: Runtime) -> None:
    """The systematic test of the shipped library: some schedules deadlock."""
    _run(Library)


def execute_fixed(runtime: Runtime) -> None:
    """The same test with `FixedLibrary`: no schedule deadlocks."""
    _run(FixedLibrary)


def main() -> None:
    """Run the fixed system once with real Pykka threads."""
    library = FixedLibrary.start().proxy()
    core = Core.start(library, Mixer.start().proxy()).proxy()
    library.attach(core)
    print(core.play("track:2").get())
    pykka.ActorRegistry.stop_all()


if __name__ == "__main__":
    main()
