"""Charts drawn on the server, as inline SVG and HTML: no JavaScript, no chart library, nothing to load.

Each function takes plain numbers and returns ``Markup`` (safe to drop into a template) whose
every piece of text is escaped. The SVG carries no ``style`` attributes, only classes, so it
works under a strict Content-Security-Policy and follows the site's light and dark themes
(colours live in ``static/css/papertide.css`` under ``.chart``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

BAR_SCALE = 1000  # the width of a bar's viewBox: a full bar, stretched to its row by CSS


@dataclass(frozen=True)
class Bar:
    """One bar: a label (e.g. a paper title), its value, where it links, and optionally the part of
    the value to set apart (e.g. the upvotes gained this week, drawn at the bar's end)."""

    label: str
    value: float
    href: str | None = None
    note: str = ""  # shown after the bar, e.g. "+3 · 166"
    part: float = 0


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= ``value``: a round top for an axis."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)  # pragma: no cover - the loop always returns


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def bar_list(bars: Sequence[Bar], *, title: str) -> Markup:
    """Horizontal bars as an HTML list, each under its label. The labels are page text, not SVG
    text: an SVG scaled down to a phone shrinks its text with it (to 7 px), page text stays
    readable. Each bar is a tiny SVG as long as its value against the largest one shown (SVG
    attributes, not style attributes, which the CSP forbids); ``part`` is drawn in its own colour."""
    top = max((bar.value for bar in bars), default=0) or 1
    rows = []
    for bar in bars:
        label = escape(bar.label)
        if bar.href:
            label = Markup(f'<a href="{escape(bar.href)}">{label}</a>')
        length = max(BAR_SCALE * bar.value / top, 4)
        part = min(BAR_SCALE * bar.part / top, length) if bar.part else 0
        gained = (f'<rect class="chart-bar-part" x="{length - part:.1f}" width="{part:.1f}" height="10"/>'
                  if part else "")
        rows.append(
            f'<li><span class="bar-label">{label}</span><span class="bar-row">'
            f'<svg class="bar-track" viewBox="0 0 {BAR_SCALE} 10" preserveAspectRatio="none" aria-hidden="true">'
            f'<rect class="chart-bar" width="{length:.1f}" height="10"/>{gained}</svg>'
            f'<span class="bar-note">{escape(bar.note or _number(bar.value))}</span></span></li>'
        )
    return Markup(f'<ol class="bar-list" aria-label="{escape(title)}">{"".join(rows)}</ol>')


def cumulative(daily: Sequence[tuple[date, int]], *, start: int = 0) -> list[tuple[date, int]]:
    """Running totals of per-day counts, in date order, starting from ``start``."""
    total, out = start, []
    for day, count in sorted(daily):
        total += count
        out.append((day, total))
    return out


def line_chart(points: Sequence[tuple[date, int]], *, title: str, width: int = 640, height: int = 200) -> Markup:
    """A step line with a filled area: e.g. a paper's total upvotes, day by day.

    ``points`` are (day, value) pairs in any order; a single point is drawn as a flat line so
    that a paper with votes from one day still gets a readable chart.
    """
    points = sorted(points)
    left, right, top_pad, bottom = 44, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    parts = [
        f'<svg class="chart chart-line" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
    ]
    if not points:
        parts.append(f'<text class="chart-empty" x="{width / 2}" y="{height / 2}" text-anchor="middle">No votes yet</text></svg>')
        return Markup("".join(parts))

    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)
    top = nice_ceiling(max(value for _, value in points))

    def x(day: date) -> float:
        return left + plot_w * (day - first).days / span

    def y(value: float) -> float:
        return top_pad + plot_h * (1 - value / top)

    for fraction in (0, 0.5, 1):
        value = top * fraction
        parts.append(f'<line class="chart-grid" x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>')
        parts.append(f'<text class="chart-axis" x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{_number(value)}</text>')

    path = [f"M{x(first):.1f},{y(points[0][1]):.1f}"]
    for (_, previous), (day, value) in zip(points, points[1:]):
        path.append(f"H{x(day):.1f}V{y(value):.1f}")
    if len(points) == 1:
        path.append(f"H{left + plot_w:.1f}")
    line = "".join(path)
    end_x = x(last) if len(points) > 1 else left + plot_w
    parts.append(f'<path class="chart-area" d="{line}V{y(0):.1f}H{x(first):.1f}Z"/>')
    parts.append(f'<path class="chart-stroke" d="{line}"/>')
    parts.append(f'<circle class="chart-dot" cx="{end_x:.1f}" cy="{y(points[-1][1]):.1f}" r="3.5"/>')
    parts.append(f'<text class="chart-axis" x="{left}" y="{height - 8}">{first:%b %-d, %Y}</text>')
    if last != first:
        parts.append(f'<text class="chart-axis" x="{width - right}" y="{height - 8}" text-anchor="end">{last:%b %-d, %Y}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: Sequence[float], *, title: str, width: int = 96, height: int = 24) -> Markup:
    """A tiny trend line (e.g. votes per day this week) to sit beside a number."""
    parts = [
        f'<svg class="chart chart-spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    if values:
        top = max(max(values), 1)
        step = width / max(len(values) - 1, 1)
        coords = " ".join(f"{i * step:.1f},{height - 2 - (height - 4) * v / top:.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline class="chart-stroke" points="{coords}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
