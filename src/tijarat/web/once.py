"""Acting once per form: the answer to a request key, remembered in this process.

Most money forms are idempotent further down (the wallet and the switch take the form's
request key). Sending a request to pay is not yet: `WalletService.request_payment` takes no
key. So the dashboard remembers, per business and request key, the answer it gave, and a
double tap or a reload gets that answer instead of sending a second request. Concurrent
submissions of one key wait for the first (a lock per key).

The memory is this process's: with several workers a repeat that lands on another worker is
not caught. A key in the wallet itself is the lasting fix (see docs/dashboard.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

KEYS_REMEMBERED_MAX = 10_000  # answers kept; the oldest are forgotten first
T = TypeVar("T")


@dataclass
class _Running:
    lock: threading.Lock = field(default_factory=threading.Lock)
    callers: int = 0


class Once(Generic[T]):
    """`run(key, act)` calls `act()` the first time a key is seen, and answers its result
    (without calling again) for that key afterwards. An act that raises is not remembered:
    the form may be corrected and sent again with the same key."""

    def __init__(self, keys_max: int = KEYS_REMEMBERED_MAX) -> None:
        assert keys_max > 0
        self.keys_max = keys_max
        self._lock = threading.Lock()
        self._answers: OrderedDict[Hashable, T] = OrderedDict()
        self._running: dict[Hashable, _Running] = {}

    def run(self, key: Hashable, act: Callable[[], T]) -> tuple[T, bool]:
        """The answer for `key` and whether it is a repeat (an earlier answer)."""
        with self._lock:
            if key in self._answers:
                return self._answers[key], True
            running = self._running.setdefault(key, _Running())
            running.callers += 1
        try:
            with running.lock:  # one act per key at a time; the others wait, then replay
                with self._lock:
                    if key in self._answers:
                        return self._answers[key], True
                answer = act()
                with self._lock:
                    self._answers[key] = answer
                    while len(self._answers) > self.keys_max:
                        self._answers.popitem(last=False)
                return answer, False
        finally:
            with self._lock:
                running.callers -= 1
                if running.callers == 0:
                    del self._running[key]
