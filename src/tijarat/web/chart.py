"""The home page's chart, drawn on the server as inline SVG: no script, no library, ~2 KB.

Bars for what came in each day, a line for the cash held at each day's end, on one scale so
the two read against each other honestly. Time runs left to right in both languages (the
SVG keeps `direction: ltr`), as Urdu financial charts commonly do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

WIDTH = 320
HEIGHT = 170
MARGIN_START = 68  # room for the amount labels ("Rs 12.3 لاکھ" is the widest)
MARGIN_END = 6
MARGIN_TOP = 8
MARGIN_BOTTOM = 22  # room for the day labels
BAR_SHARE = 0.6  # of each day's slot
DAYS_MAX = 366


@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date
    bar_minor: int  # e.g. sales that day
    line_minor: int  # e.g. cash at the day's end


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def chart_svg(
    points: Sequence[DayPoint],
    *,
    title: str,
    bar_name: str,
    line_name: str,
    amount_label: Callable[[int], str],
    day_label: Callable[[date], str],
) -> Markup:
    """An accessible SVG: a title, a tooltip per bar, labelled axes."""
    assert 0 < len(points) <= DAYS_MAX
    top = max([1] + [max(p.bar_minor, p.line_minor) for p in points])
    plot_width = WIDTH - MARGIN_START - MARGIN_END
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_width / len(points)
    bar_width = max(1.0, slot * BAR_SHARE)

    def y(value: int) -> float:
        return MARGIN_TOP + plot_height - plot_height * max(value, 0) / top

    def x(index: int) -> float:
        return MARGIN_START + slot * index + slot / 2

    parts = [
        Markup(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="chart-title">'
            '<title id="chart-title">{}</title>'
        ).format(WIDTH, HEIGHT, title)
    ]
    for fraction in (0, 2, 4):  # gridlines at 0, half and the top
        value = top * fraction // 4
        height = _number(y(value))
        parts.append(
            Markup(
                '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>'
            ).format(
                MARGIN_START,
                height,
                WIDTH - MARGIN_END,
                height,
                MARGIN_START - 4,
                height,
                amount_label(value),
            )
        )
    for index, point in enumerate(points):
        if point.bar_minor > 0:
            parts.append(
                Markup(
                    '<rect class="sales" x="{}" y="{}" width="{}" height="{}">'
                    "<title>{} · {}: {}</title></rect>"
                ).format(
                    _number(x(index) - bar_width / 2),
                    _number(y(point.bar_minor)),
                    _number(bar_width),
                    _number(y(0) - y(point.bar_minor)),
                    day_label(point.day),
                    bar_name,
                    amount_label(point.bar_minor),
                )
            )
    line = " ".join(f"{_number(x(i))},{_number(y(p.line_minor))}" for i, p in enumerate(points))
    parts.append(
        Markup('<polyline class="cash" points="{}"><title>{}</title></polyline>').format(
            line, line_name
        )
    )
    for index in sorted({0, len(points) // 2, len(points) - 1}):
        anchor = "start" if index == 0 else "end" if index == len(points) - 1 else "middle"
        position = MARGIN_START if index == 0 else x(index)
        if index == len(points) - 1:
            position = WIDTH - MARGIN_END
        parts.append(
            Markup('<text x="{}" y="{}" text-anchor="{}">{}</text>').format(
                _number(position), HEIGHT - 6, anchor, day_label(points[index].day)
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
