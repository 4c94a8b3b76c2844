"""The dashboard's trend chart: axis labels a merchant can read, marks inside the plot."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from app.analytics.charts import HEIGHT, PAD_BOTTOM, PAD_TOP, trend_svg
from app.analytics.schemas import TrendRow


def _rows(revenues: list[str], abandoned: list[int]) -> list[TrendRow]:
    start = date(2026, 11, 1)
    return [
        TrendRow(
            day=start + timedelta(days=i), abandoned=a, messages=0, recovered=0, revenue=Decimal(r)
        )
        for i, (r, a) in enumerate(zip(revenues, abandoned, strict=True))
    ]


def _axes(svg: str) -> tuple[list[str], list[str]]:
    """The left (money) and right (count) axis labels, top to bottom."""
    left = re.findall(r'text-anchor="end">([^<]*)</text>', svg)
    right = re.findall(r'<text x="[\d.]+" y="[\d.]+" class="axis">([^<]*)</text>', svg)
    return left, right


@pytest.mark.parametrize(
    ("revenues", "abandoned"),
    [
        (["0", "0", "0"], [0, 0, 1]),  # a new store's first abandonment
        (["0", "12.50", "0"], [1, 3, 2]),
        (["96.00", "0", "40"], [7, 0, 5]),
        (["0.50", "0", "0"], [0, 0, 0]),
        (["12345.67", "800", "0"], [120, 95, 260]),
    ],
)
def test_axis_labels_are_distinct_evenly_spaced_numbers(revenues, abandoned):
    svg = str(trend_svg(_rows(revenues, abandoned), "USD"))
    for labels in _axes(svg):
        values = [Decimal(v.replace(",", "")) for v in labels]
        assert len(values) == 5 and values[-1] == 0, labels
        steps = {a - b for a, b in pairwise(values)}
        assert len(steps) == 1 and steps.pop() > 0, labels  # distinct, top to bottom, even
    counts = [int(v.replace(",", "")) for v in _axes(svg)[1]]
    assert counts[0] >= max(abandoned)
    assert Decimal(_axes(svg)[0][0].replace(",", "")) >= max(Decimal(r) for r in revenues)


def test_marks_stay_inside_the_plot():
    svg = str(trend_svg(_rows(["96.00", "0", "40"], [7, 0, 5]), "USD"))
    bottom = HEIGHT - PAD_BOTTOM
    for y in re.findall(r'<rect x="[\d.]+" y="([\d.]+)"', svg):
        assert PAD_TOP - 0.1 <= float(y) <= bottom + 0.1
    points = re.search(r'<polyline points="([^"]+)"', svg)
    assert points
    for pair in points.group(1).split():
        assert PAD_TOP - 0.1 <= float(pair.split(",")[1]) <= bottom + 0.1
