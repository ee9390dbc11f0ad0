"""Bar charts drawn on the server as SVG: no script, no CSP change, they print.

A chart is categories along the x axis (weeks, months) and one or more series of integers (one
bar per series in each category, side by side, a colour each). ``bar_chart`` returns the SVG as
safe HTML: ``role="img"`` with a ``<title>`` and an ``aria-label``, the y axis with a few round
ticks, the category labels below, a legend for more than one series. The text alternative (a
table of the same numbers) is the template's, beside the chart (``templates/admin/_chart.html``).
Axis labels and bars' tooltips are formatted by the caller (money, counts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Colours that keep 3:1 against white and against each other's neighbours (WCAG 1.4.11).
PALETTE = ("#1f5fa8", "#b8520a", "#2f7d32", "#7b3fa0", "#a3243b")

WIDTH = 640
HEIGHT = 240
LEFT = 64  # room for the y axis' labels
RIGHT = 8
TOP = 12
BOTTOM = 40  # room for the category labels (and the legend's row)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]


def nice_ticks(top: int, count: int = 4) -> list[int]:
    """Round tick values from 0 to at least ``top``: 0, 250, 500, 750, 1,000."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    return [step * index for index in range(0, math.ceil(top / step) + 1)]


def bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    value_label: Callable[[int], str] = str,
    tick_label: Callable[[int], str] | None = None,
) -> SafeString:
    """An SVG bar chart of ``series`` over ``categories`` (negative values are drawn as 0).

    ``value_label`` formats a bar's value (its tooltip), ``tick_label`` the axis' round values
    (``value_label`` unless given: money without its cents, say).
    """
    tick_label = tick_label or value_label
    largest = max((value for one in series for value in one.values), default=0)
    ticks = nice_ticks(largest)
    scale_top = ticks[-1]
    legend_height = 18 if len(series) > 1 else 0
    plot_height = HEIGHT - TOP - BOTTOM - legend_height
    plot_width = WIDTH - LEFT - RIGHT
    slot = plot_width / max(1, len(categories))
    bar_width = slot * 0.8 / max(1, len(series))

    def y_of(value: int) -> float:
        return TOP + plot_height - plot_height * max(0, value) / scale_top

    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" class="chart-grid"/>'
        '<text x="{}" y="{}" text-anchor="end" class="chart-tick">{}</text>',
        (
            (LEFT, WIDTH - RIGHT, f"{y_of(tick):.1f}", f"{y_of(tick):.1f}")
            + (LEFT - 6, f"{y_of(tick) + 4:.1f}", tick_label(tick))
            for tick in ticks
        ),
    )
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" class="chart-bar">'
        "<title>{}</title></rect>",
        (
            (
                f"{LEFT + slot * index + slot * 0.1 + bar_width * number:.1f}",
                f"{y_of(value):.1f}",
                f"{bar_width:.1f}",
                f"{TOP + plot_height - y_of(value):.1f}",
                PALETTE[number % len(PALETTE)],
                f"{category} · {one.name}: {value_label(value)}"
                if len(series) > 1
                else f"{category}: {value_label(value)}",
            )
            for number, one in enumerate(series)
            for index, (category, value) in enumerate(zip(categories, one.values, strict=True))
        ),
    )
    # Every label when they fit, else every second or third one: 13 months fit, 14 weeks not.
    every = max(1, math.ceil(len(categories) / 13))
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle" class="chart-label">{}</text>',
        (
            (f"{LEFT + slot * (index + 0.5):.1f}", TOP + plot_height + 16, category)
            for index, category in enumerate(categories)
            if index % every == 0
        ),
    )
    legend = format_html_join(
        "",
        '<rect x="{}" y="{}" width="12" height="12" fill="{}"/>'
        '<text x="{}" y="{}" class="chart-label">{}</text>',
        (
            (
                LEFT + 110 * number,
                HEIGHT - legend_height,
                PALETTE[number % len(PALETTE)],
                LEFT + 110 * number + 16,
                HEIGHT - legend_height + 10,
                one.name,
            )
            for number, one in enumerate(series)
        )
        if len(series) > 1
        else (),
    )
    axis = format_html(
        '<line x1="{}" x2="{}" y1="{}" y2="{}" class="chart-axis"/>',
        LEFT,
        WIDTH - RIGHT,
        TOP + plot_height,
        TOP + plot_height,
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}{}{}{}{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        title,
        grid,
        bars,
        axis,
        labels,
        legend,
    )
