"""A chat server as Pykka users write one: a `Room` that keeps members and history, a
`Greeter` that welcomes newcomers, a `Moderator` that counts and filters, looked up through
the `ActorRegistry` and called through proxies.

The seeded race: `Greeter.welcome` posts on behalf of a user and assumes the user has joined
the room. A test that asks for the welcome and then joins (two proxy calls in a row) always
sees the join first on threads, since nothing else runs before the caller's second call; the
deterministic tester lets the greeter run in between, and `Room.post` refuses a stranger.
"""

from __future__ import annotations

import pykka


class NotAMember(Exception):
    """Someone who has not joined posted to the room."""


class Room(pykka.ThreadingActor):
    """Members and the messages they posted."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.members: list[str] = []
        self.history: list[str] = []

    def join(self, user: str) -> int:
        if user not in self.members:
            self.members.append(user)
        return len(self.members)

    def leave(self, user: str) -> None:
        if user in self.members:
            self.members.remove(user)

    def post(self, user: str, text: str) -> int:
        if user not in self.members:
            raise NotAMember(f"{user} is not in {self.name}")
        moderator = pykka.ActorRegistry.get_by_class(Moderator)
        if moderator:
            text = moderator[0].proxy().clean(text).get()
        self.history.append(f"{user}: {text}")
        return len(self.history)

    def messages(self) -> list[str]:
        return list(self.history)


class Moderator(pykka.ThreadingActor):
    """Masks banned words and counts what it has seen."""

    def __init__(self, banned: tuple[str, ...] = ("darn",)) -> None:
        super().__init__()
        self.banned = banned
        self.seen = 0

    def clean(self, text: str) -> str:
        self.seen += 1
        for word in self.banned:
            text = text.replace(word, "*" * len(word))
        return text


class Greeter(pykka.ThreadingActor):
    """Welcomes newcomers in the room, on their behalf."""

    def __init__(self, room: pykka.ActorProxy[Room]) -> None:
        super().__init__()
        self.room = room
        self.welcomed = 0

    def welcome(self, user: str) -> int:
        count = self.room.post(user, f"hello, I am {user}").get()
        self.welcomed += 1
        return count


class Lobby(pykka.ThreadingActor):
    """Lets users in: joins them to the room, then has them welcomed (in that order)."""

    def enter(self, user: str) -> int:
        room = pykka.ActorRegistry.get_by_class(Room)[0].proxy()
        greeter = pykka.ActorRegistry.get_by_class(Greeter)[0].proxy()
        room.join(user).get()
        return greeter.welcome(user).get()
