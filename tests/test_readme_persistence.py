"""The README's event-sourced tutorial runs as written (with the journal in a temp dir)."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import fsm

README = Path(__file__).resolve().parent.parent / "README.md"


def tutorial_code() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Tutorial: event-sourced FSMs") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_tutorial_account_persists_recovers_and_snapshots(tmp_path: Path) -> None:
    account_code, journal_code = tutorial_code()[:2]  # then the testing snippets
    saved = fsm.default_journal()
    module = types.ModuleType("readme_tutorial")  # dataclasses look their module up
    sys.modules[module.__name__] = module
    namespace: dict[str, Any] = module.__dict__
    try:
        exec(compile(account_code, "README: Account", "exec"), namespace)
        path = str(tmp_path / "journal.db")
        exec(journal_code.replace('"/var/lib/bank/journal.db"', repr(path)), namespace)
        account, deposit, withdraw = (namespace[n] for n in ("Account", "Deposit", "Withdraw"))
        ref = account.start(7)
        assert [ref.ask(deposit(5)), ref.ask(withdraw(2)), ref.ask(withdraw(3))] == ["ok"] * 3
        assert ref.ask(deposit(4)) == "ok"
        ref.stop()
        again = account.start(7)
        assert again.proxy().state_name.get() is namespace["S"].FUNDED
        assert again.proxy().state_data.get() == namespace["Balance"](4)
        again.stop()
        journal = fsm.default_journal()
        assert isinstance(journal, fsm.SQLiteJournal)
        assert [type(e).__name__ for e in journal.events("account-7")] == [
            "Deposited", "Withdrawn", "Withdrawn", "Deposited",
        ]  # fmt: skip
        journal.close()
    finally:
        fsm.set_default_journal(saved)
        del sys.modules[module.__name__]
