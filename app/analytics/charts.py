"""Charts drawn on the server as SVG: no script, no CDN, readable on a phone and printable."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from markupsafe import Markup

from app.analytics.schemas import TrendRow

WIDTH, HEIGHT = 720, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 44, 12, 28


def _nice(top: float) -> float:
    """A round axis maximum (1, 2, 2.5 or 5 times a power of ten) at or above `top`."""
    if top <= 0:
        return 1.0
    power = 10 ** len(str(int(top))) / 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= top:
            return step * power
    return 10 * power


def trend_svg(rows: list[TrendRow], currency: str) -> Markup:
    """Bars: recovered revenue per day (left axis). Line: abandoned checkouts (right axis)."""
    if not rows:
        return Markup("")
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    money_top = _nice(float(max((r.revenue for r in rows), default=Decimal(0))))
    count_top = _nice(float(max((r.abandoned for r in rows), default=0)))
    slot = inner_w / len(rows)
    bar = max(1.0, slot * 0.7)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="Recovered revenue and abandoned checkouts per day" '
        f'preserveAspectRatio="none">'
    ]
    for i in range(5):
        y = PAD_TOP + inner_h * i / 4
        label = money_top * (4 - i) / 4
        count = count_top * (4 - i) / 4
        parts.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{label:,.0f}</text>"
            f'<text x="{WIDTH - PAD_RIGHT + 6}" y="{y + 4:.1f}" class="axis">{count:,.0f}</text>'
        )
    points = []
    for i, row in enumerate(rows):
        x = PAD_LEFT + slot * i + (slot - bar) / 2
        h = inner_h * float(row.revenue) / money_top
        title = escape(f"{row.day}: {row.revenue} {currency} recovered, {row.abandoned} abandoned")
        parts.append(
            f'<rect x="{x:.1f}" y="{PAD_TOP + inner_h - h:.1f}" width="{bar:.1f}" '
            f'height="{h:.1f}" class="bar"><title>{title}</title></rect>'
        )
        cx = PAD_LEFT + slot * (i + 0.5)
        points.append(f"{cx:.1f},{PAD_TOP + inner_h - inner_h * row.abandoned / count_top:.1f}")
    parts.append(f'<polyline points="{" ".join(points)}" class="line"/>')
    every = max(1, len(rows) // 6)
    for i in range(0, len(rows), every):
        cx = PAD_LEFT + slot * (i + 0.5)
        parts.append(
            f'<text x="{cx:.1f}" y="{HEIGHT - 8}" class="axis" text-anchor="middle">'
            f"{rows[i].day.strftime('%b %d')}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_width(part: int, whole: int) -> int:
    """Percent width for a funnel bar; at least 1 when there is something, so it stays visible."""
    if whole <= 0 or part <= 0:
        return 0
    return max(1, round(100 * part / whole))
