"""Charts drawn on the server as SVG: no script, no CDN, readable on a phone and printable."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from markupsafe import Markup

from app.analytics.schemas import TrendRow

WIDTH, HEIGHT = 720, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 44, 12, 28


TICKS = 4  # grid intervals: five labels from the top down to 0


def _nice(top: float) -> int:
    """A round axis maximum at or above `top` whose quarters are whole, round numbers (1, 2, 2.5
    or 5 times a power of ten, 2.5 only from 25 up), so every label is distinct and readable."""
    step = 1
    for power in (10**k for k in range(16)):
        for base in (1, 2, 2.5, 5):
            candidate = base * power
            if candidate == int(candidate) and candidate * TICKS >= top:
                return int(candidate) * TICKS
        step = power
    return int(step) * 10 * TICKS


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
    for i in range(TICKS + 1):
        y = PAD_TOP + inner_h * i / TICKS
        label = money_top * (TICKS - i) // TICKS
        count = count_top * (TICKS - i) // TICKS
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
