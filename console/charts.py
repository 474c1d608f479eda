"""A line chart drawn as inline SVG on the server: no JavaScript library, nothing fetched from a CDN.

Coordinates are computed with Decimal and rounded to 0.1 px; amounts never pass through float.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

PIXEL = Decimal("0.1")


@dataclass(frozen=True)
class Line:
    label: str
    css_class: str
    points: str  # SVG polyline "x,y x,y ..."
    count: int


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    plot_left: int
    plot_top: int
    plot_right: int
    plot_bottom: int
    y_max: Decimal
    lines: tuple[Line, ...]
    x_first: str
    x_last: str


def line_chart(x_labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[Decimal]]], *,
               width: int = 760, height: int = 260) -> LineChart:
    """`series`: (label, css class, values), each as long as `x_labels`. The y axis starts at zero."""
    left, top, right, bottom = 70, 16, width - 16, height - 36
    y_max = max((value for _, _, values in series for value in values), default=Decimal(0))
    y_max = y_max if y_max > 0 else Decimal(1)
    steps = max(len(x_labels) - 1, 1)
    x_step = Decimal(right - left) / steps
    y_scale = Decimal(bottom - top) / y_max

    def point(index: int, value: Decimal) -> str:
        x = (left + x_step * index).quantize(PIXEL, ROUND_HALF_UP)
        y = (bottom - max(value, Decimal(0)) * y_scale).quantize(PIXEL, ROUND_HALF_UP)
        return f"{x},{y}"

    lines = tuple(
        Line(label, css_class, " ".join(point(i, v) for i, v in enumerate(values)), len(values))
        for label, css_class, values in series
    )
    return LineChart(width, height, left, top, right, bottom, y_max, lines,
                     x_labels[0] if x_labels else "", x_labels[-1] if x_labels else "")
