"""A small bounded TTL cache: verified identities and per-user hub tokens, in memory only."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Least-recently-used eviction beyond `max_size`; entries vanish at their own deadline."""

    def __init__(self, max_size: int, clock: Callable[[], float] = time.time) -> None:
        self.max_size = max_size
        self._clock = clock
        self._data: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        item = self._data.get(key)
        if item is None:
            return None
        deadline, value = item
        if deadline <= self._clock():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    def put(self, key: str, value: V, deadline: float) -> None:
        """Keep `value` until the absolute time `deadline` (ignored if already past)."""
        if deadline <= self._clock():
            self._data.pop(key, None)
            return
        self._data[key] = (deadline, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_size:
            self._data.popitem(last=False)

    def pop(self, key: str) -> V | None:
        item = self._data.pop(key, None)
        return None if item is None else item[1]

    def values(self) -> list[V]:
        return [v for _, v in self._data.values()]

    def __len__(self) -> int:
        return len(self._data)
