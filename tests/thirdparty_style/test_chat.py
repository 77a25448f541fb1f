"""The chat server's tests, as its authors wrote them: unittest, setUp/tearDown, proxies."""

from __future__ import annotations

import unittest

import pykka

from tests.thirdparty_style.chat import Greeter, Lobby, Moderator, NotAMember, Room


class ChatTest(unittest.TestCase):
    def setUp(self) -> None:
        self.room = Room.start("lounge").proxy()
        self.moderator = Moderator.start().proxy()
        self.greeter = Greeter.start(self.room).proxy()
        self.room.join("bob").get()  # everyone is up before the test begins

    def tearDown(self) -> None:
        pykka.ActorRegistry.stop_all()

    def test_members_post_and_strangers_do_not(self) -> None:
        self.room.post("bob", "hi").get()
        with self.assertRaises(NotAMember):
            self.room.post("eve", "hi").get()
        self.assertEqual(self.room.messages().get(), ["bob: hi"])

    def test_the_moderator_masks_banned_words(self) -> None:
        self.room.post("bob", "darn it").get()
        self.assertEqual(self.room.messages().get(), ["bob: **** it"])
        self.assertEqual(self.moderator.seen.get(), 1)

    def test_the_lobby_joins_then_welcomes(self) -> None:
        lobby = Lobby.start().proxy()
        self.assertEqual(lobby.enter("carol").get(), 1)
        self.assertEqual(self.room.messages().get(), ["carol: hello, I am carol"])

    def test_a_new_user_is_welcomed(self) -> None:
        greeting = self.greeter.welcome("alice")  # the seeded race: welcome, then join
        self.room.join("alice")
        self.assertEqual(greeting.get(), 1)
        self.assertEqual(self.greeter.welcomed.get(), 1)

    def test_leaving_members_are_strangers_again(self) -> None:
        self.room.leave("bob").get()
        with self.assertRaises(NotAMember):
            self.room.post("bob", "still here?").get()
