"""The home page's server-drawn chart: one bar per day with sales, one line of cash."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest

from tijarat.kernel.clock import PAKISTAN, to_ns
from tijarat.web.business import CHART_DAYS, CHART_DAYS_MIN, chart_days
from tijarat.web.chart import HEIGHT, MARGIN_BOTTOM, MARGIN_TOP, DayPoint, chart_svg

SVG = "{http://www.w3.org/2000/svg}"


def _draw(points: list[DayPoint], title: str = "Money in and cash") -> ET.Element:
    markup = chart_svg(
        points,
        title=title,
        bar_name="Money in",
        line_name="Cash",
        amount_label=lambda minor: f"Rs{minor // 100}",
        day_label=lambda day: day.isoformat(),
    )
    # Parse it as XML: well-formed, and every attribute where we think it is.
    return ET.fromstring(str(markup).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))


def test_bars_for_days_with_money_in_and_a_line_through_every_day() -> None:
    start = date(2026, 11, 1)
    points = [
        DayPoint(start + timedelta(days=i), bar, line)
        for i, (bar, line) in enumerate([(0, 100_00), (50_00, 150_00), (0, 120_00), (200_00, 0)])
    ]
    svg = _draw(points)
    bars = svg.findall(f"{SVG}rect")
    assert len(bars) == 2  # days without money in draw no bar
    heights = [float(bar.get("height", "0")) for bar in bars]
    assert heights[1] == pytest.approx(4 * heights[0], rel=0.02)  # one scale for everything
    assert heights[1] == pytest.approx(HEIGHT - MARGIN_TOP - MARGIN_BOTTOM, rel=0.01)
    titles = [bar.findtext(f"{SVG}title") for bar in bars]
    assert titles == ["2026-11-02 · Money in: Rs50", "2026-11-04 · Money in: Rs200"]
    (line,) = svg.findall(f"{SVG}polyline")
    coordinates = [pair.split(",") for pair in line.get("points", "").split()]
    assert len(coordinates) == 4
    xs = [float(x) for x, _ in coordinates]
    assert xs == sorted(xs)  # time runs left to right
    ys = [float(y) for _, y in coordinates]
    assert ys[1] < ys[2] < ys[0] < ys[3]  # 150 above 120 above 100 above 0 (SVG y grows down)
    labels = [text.text for text in svg.findall(f"{SVG}text")]
    assert "2026-11-01" in labels
    assert "2026-11-04" in labels
    assert "Rs200" in labels  # the top of the scale


def test_text_is_escaped() -> None:
    svg = _draw([DayPoint(date(2026, 11, 1), 1, 1)], title="<script>alert(1)</script>")
    assert svg.findtext(f"{SVG}title") == "<script>alert(1)</script>"  # text, not markup
    assert not svg.findall(f"{SVG}script")


def test_an_empty_history_still_draws_a_flat_chart() -> None:
    svg = _draw([DayPoint(date(2026, 11, 1) + timedelta(days=i), 0, 0) for i in range(30)])
    assert svg.findall(f"{SVG}rect") == []
    points = svg.findall(f"{SVG}polyline")[0].get("points", "")
    assert len({y for _, y in re.findall(r"([\d.]+),([\d.]+)", points)}) == 1


@pytest.mark.parametrize(
    ("opened", "days"),
    [
        (datetime(2026, 11, 24, 23, 59, tzinfo=PAKISTAN), CHART_DAYS_MIN),  # late last night
        (datetime(2026, 11, 15, 0, 0, tzinfo=PAKISTAN), 11),  # the 15th to the 25th
        (datetime(2026, 10, 27, 0, 0, tzinfo=PAKISTAN), CHART_DAYS),  # 30 days exactly
        (datetime(2025, 1, 1, tzinfo=PAKISTAN), CHART_DAYS),
    ],
)
def test_the_chart_spans_the_days_since_the_wallet_opened(opened: datetime, days: int) -> None:
    now = to_ns(datetime(2026, 11, 25, 0, 30, tzinfo=PAKISTAN))  # 19:30 UTC on the 24th
    assert chart_days(to_ns(opened), now) == days
