"""The clock's nanosecond conversions and the ISO 20022 date-time check, against their
definitions (both were rewritten for speed: these pin what they mean)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tijarat.kernel.clock import from_ns, to_ns
from tijarat.kernel.errors import DomainError
from tijarat.switch.iso20022.values import check_datetime

NS_PER_S = 1_000_000_000
MOMENTS = st.integers(min_value=-(10**18), max_value=4 * 10**18)  # 1938 to 2096


@given(MOMENTS)
def test_from_ns_is_the_moment_to_the_microsecond(ns: int) -> None:
    seconds, rest = divmod(ns, NS_PER_S)
    expected = datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1_000)
    moment = from_ns(ns)
    assert moment == expected
    assert moment.tzinfo is UTC
    assert to_ns(moment) == ns - ns % 1_000


@given(st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_whole_minute_offsets_within_14_hours_pass(minutes: int) -> None:
    check_datetime(datetime(2026, 11, 25, tzinfo=timezone(timedelta(minutes=minutes))), "at")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 25, tzinfo=UTC).replace(tzinfo=None),  # naive: no offset
        datetime(2026, 11, 25, tzinfo=timezone(timedelta(seconds=30))),
        datetime(2026, 11, 25, tzinfo=timezone(timedelta(hours=-14, minutes=-1))),
        datetime(2026, 11, 25, tzinfo=timezone(timedelta(hours=14, minutes=1))),
        "2026-11-25T00:00:00Z",
    ],
)
def test_other_date_times_are_refused(moment: object) -> None:
    with pytest.raises(DomainError):
        check_datetime(moment, "at")
