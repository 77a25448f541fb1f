"""More of the chat server's tests: plain functions with fixtures, and a class with
setup_method, looking actors up in the registry."""

from __future__ import annotations

from collections.abc import Iterator

import pykka
import pytest

from tests.thirdparty_style.chat import Greeter, Lobby, Moderator, Room


@pytest.fixture
def room() -> Iterator[pykka.ActorProxy[Room]]:
    proxy = Room.start("hall").proxy()
    yield proxy
    pykka.ActorRegistry.stop_all()


def test_the_registry_finds_the_room(room: pykka.ActorProxy[Room]) -> None:
    (found,) = pykka.ActorRegistry.get_by_class(Room)
    assert found.proxy().name.get() == "hall"


def test_many_users_enter_through_the_lobby(room: pykka.ActorProxy[Room]) -> None:
    Greeter.start(room)
    lobby = Lobby.start().proxy()
    for number, user in enumerate(["ann", "ben", "cid"], start=1):
        assert lobby.enter(user).get() == number
    assert room.members.get() == ["ann", "ben", "cid"]


class TestModeration:
    def setup_method(self) -> None:
        self.room = Room.start("moderated").proxy()
        self.moderator = Moderator.start(("heck",)).proxy()

    def teardown_method(self) -> None:
        pykka.ActorRegistry.stop_all()

    def test_each_post_is_cleaned_once(self) -> None:
        self.room.join("dan").get()
        futures = [self.room.post("dan", f"heck {n}") for n in range(3)]
        assert pykka.get_all(futures) == [1, 2, 3]
        assert self.moderator.seen.get() == 3
        assert self.room.messages().get()[0] == "dan: **** 0"
