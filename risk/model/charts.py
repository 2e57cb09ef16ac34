"""Small SVG charts for the evaluation report: lines and grouped bars, no dependencies.

The report must open anywhere, offline, as one file: a regulator's workstation may have no
internet and no plotting library. Inline SVG does that in a few kilobytes per chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

import numpy as np

WIDTH, HEIGHT = 460, 330
LEFT, RIGHT, TOP, BOTTOM = 58, 16, 34, 80
COLOURS = ("#1f5fa8", "#d9822b", "#2e8b57", "#a23b72", "#6b6b6b", "#8c564b")
MAX_POINTS = 400


@dataclass(frozen=True)
class Series:
    """One line: name, x and y values (same length), dashed or not."""

    name: str
    x: np.ndarray
    y: np.ndarray
    dashed: bool = False


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most ``MAX_POINTS`` points, first and last kept (curves of a million rows)."""
    if len(x) <= MAX_POINTS:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).round().astype(int))
    return x[keep], y[keep]


def _ticks(lo: float, hi: float) -> list[float]:
    return [float(v) for v in np.linspace(lo, hi, 6)]


def _frame(
    title: str,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    x_tick_text: list[tuple[float, str]] | None = None,
) -> tuple[list[str], Callable[[float, float], tuple[float, float]]]:
    """Axes, grid, ticks and labels; returns the SVG parts and a data→pixel function."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    (x0, x1), (y0, y1) = x_range, y_range

    def at(x: float, y: float) -> tuple[float, float]:
        px = LEFT + (x - x0) / ((x1 - x0) or 1) * plot_w
        py = TOP + plot_h - (y - y0) / ((y1 - y0) or 1) * plot_h
        return round(px, 1), round(py, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="14" '
        f'font-weight="bold">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#999"/>',
    ]
    for v in _ticks(y0, y1):
        _, py = at(x0, v)
        parts.append(
            f'<line x1="{LEFT}" y1="{py}" x2="{LEFT + plot_w}" y2="{py}" stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{py + 4}" text-anchor="end" font-size="11">{v:.2g}</text>'
        )
    for v, text in x_tick_text or [(v, f"{v:.2g}") for v in _ticks(x0, x1)]:
        px, _ = at(v, y0)
        parts.append(
            f'<text x="{px}" y="{TOP + plot_h + 16}" text-anchor="middle" '
            f'font-size="11">{escape(text)}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h + 34}" text-anchor="middle" '
        f'font-size="12">{escape(x_label)}</text>'
        f'<text x="14" y="{TOP + plot_h / 2}" text-anchor="middle" font-size="12" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2})">{escape(y_label)}</text>'
    )
    return parts, at


def _legend(names: list[str], dashed: list[bool]) -> list[str]:
    """One entry per series under the plot, wrapping to a second row when needed."""
    parts = []
    x, y = LEFT, HEIGHT - 26
    for i, name in enumerate(names):
        width = 30 + 7 * len(name)
        if x + width > WIDTH and x > LEFT:
            x, y = LEFT, y + 16
        dash = ' stroke-dasharray="5 3"' if dashed[i] else ""
        colour = COLOURS[i % len(COLOURS)]
        parts.append(
            f'<line x1="{x}" y1="{y - 4}" x2="{x + 18}" y2="{y - 4}" stroke="{colour}" '
            f'stroke-width="2"{dash}/><text x="{x + 22}" y="{y}" font-size="11">'
            f"{escape(name)}</text>"
        )
        x += width
    return parts


def line_chart(
    title: str,
    series: list[Series],
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] | None = None,
    diagonal: bool = False,
) -> str:
    """Lines in one frame; ``diagonal`` draws y = x (chance or perfect calibration)."""
    if y_range is None:
        top = max((float(np.nanmax(s.y)) for s in series if len(s.y)), default=1.0)
        y_range = (0.0, top * 1.05 or 1.0)
    parts, at = _frame(title, x_label, y_label, x_range, y_range)
    if diagonal:
        lo = max(x_range[0], y_range[0])
        hi = min(x_range[1], y_range[1])
        (ax, ay), (bx, by) = at(lo, lo), at(hi, hi)
        parts.append(
            f'<line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}" stroke="#bbb" stroke-dasharray="3 3"/>'
        )
    for i, s in enumerate(series):
        x, y = _thin(np.asarray(s.x, float), np.asarray(s.y, float))
        ok = np.isfinite(x) & np.isfinite(y)
        points = " ".join(
            f"{px},{py}" for px, py in (at(a, b) for a, b in zip(x[ok], y[ok], strict=True))
        )
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{COLOURS[i % len(COLOURS)]}" '
            f'stroke-width="2"{dash}/>'
        )
    parts += _legend([s.name for s in series], [s.dashed for s in series])
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    title: str, categories: list[str], groups: dict[str, list[float]], y_label: str
) -> str:
    """Grouped bars: one group per category, one bar per entry of ``groups``."""
    values = [v for vs in groups.values() for v in vs if np.isfinite(v)]
    top = max(values, default=1.0) * 1.1 or 1.0
    n = len(categories)
    ticks = [(i + 0.5, c) for i, c in enumerate(categories)]
    parts, at = _frame(title, "", y_label, (0.0, float(n)), (0.0, top), ticks)
    width = 0.8 / max(len(groups), 1)
    for g, (name, vs) in enumerate(groups.items()):
        for i, v in enumerate(vs):
            if not np.isfinite(v):
                continue
            x0, y0 = at(i + 0.1 + g * width, v)
            x1, y1 = at(i + 0.1 + (g + 1) * width, 0.0)
            parts.append(
                f'<rect x="{x0}" y="{y0}" width="{round(x1 - x0 - 1, 1)}" '
                f'height="{round(y1 - y0, 1)}" fill="{COLOURS[g % len(COLOURS)]}">'
                f"<title>{escape(name)} {escape(categories[i])}: {v:.3g}</title></rect>"
            )
    parts += _legend(list(groups), [False] * len(groups))
    parts.append("</svg>")
    return "".join(parts)
