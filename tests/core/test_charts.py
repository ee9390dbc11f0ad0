"""Server-drawn SVG bar charts (``core.charts``)."""

from __future__ import annotations

import re

from core.charts import Series, bar_chart, nice_ticks

BAR_HEIGHT = re.compile(r'height="([\d.]+)" fill="#[0-9a-f]+" class="chart-bar"')


def test_ticks_are_round_and_reach_the_largest_value():
    assert nice_ticks(950) == [0, 250, 500, 750, 1000]
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(0) == [0, 1]


def test_it_draws_one_bar_per_value_with_an_accessible_name():
    svg = bar_chart(
        title="Renewals <due>",
        categories=["7 Dec", "14 Dec"],
        series=[Series("USD", [3, 0]), Series("EUR", [1, 2])],
    )

    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-label="Renewals &lt;due&gt;"' in svg
    assert "<title>Renewals &lt;due&gt;</title>" in svg
    assert len(BAR_HEIGHT.findall(svg)) == 4
    assert "<title>7 Dec · USD: 3</title>" in svg
    assert ">USD</text>" in svg and ">EUR</text>" in svg  # the legend


def test_the_tallest_bar_fills_the_scale_and_labels_are_formatted():
    svg = bar_chart(
        title="Revenue",
        categories=["Nov", "Dec"],
        series=[Series("USD", [100000, 50000])],
        value_label=lambda amount: f"${amount / 100:,.2f}",
        tick_label=lambda amount: f"${amount // 100:,}",
    )

    heights = [float(height) for height in BAR_HEIGHT.findall(svg)]
    assert heights[0] == 2 * heights[1]
    assert ">$1,000</text>" in svg  # the top tick, in whole units
    assert "<title>Nov: $1,000.00</title>" in svg
    assert ">USD</text>" not in svg  # one series: no legend
