"""The runtime's enabled operations: a list that strategies index, with O(1) add and remove.

`remove` moves the last operation into the freed place instead of shifting the tail, so the
order is the order of enabling only until the first removal; a schedule still depends only on
the seed (and a trace replays by the operations' names, not their places)."""

from __future__ import annotations

from typing import Any


class EnabledSet(list[Any]):
    """Enabled operations, indexable like a list; `append`/`remove` are O(1) (swap-remove).

    >>> ops = EnabledSet(); ops.append("a"); ops.append("b"); ops.append("c"); ops.remove("a")
    >>> list(ops)
    ['c', 'b']
    """

    __slots__ = ("_where",)

    def __init__(self) -> None:
        super().__init__()
        self._where: dict[Any, int] = {}

    def append(self, op: Any) -> None:
        """Add `op`, which must not be in the set yet."""
        self._where[op] = len(self)
        list.append(self, op)

    def remove(self, op: Any) -> None:
        """Drop `op` in O(1); the last operation takes its place. KeyError if absent."""
        where = self._where
        index = where.pop(op)
        last = list.pop(self)
        if index < len(self):
            self[index] = last
            where[last] = index

    def clear(self) -> None:
        self._where.clear()
        list.clear(self)
