"""Small bar charts drawn as inline SVG (WeasyPrint renders SVG natively; no JavaScript in a PDF)."""

from __future__ import annotations

from html import escape
from typing import Sequence

FONT = "Noto Sans CJK SC"


def bar_chart(items: Sequence[tuple[str, float]], width: int = 640, bar_height: int = 18,
              value_format: str = "{:g}", max_value: float | None = None, color: str = "#2f6fb0",
              target: float | None = None) -> str:
    """Horizontal bars, one per (label, value); an optional target drawn as a dashed line."""
    if not items:
        return ""
    label_w, pad, value_w = 150, 6, 70
    plot_w = width - label_w - value_w
    top = max([v for _, v in items] + [max_value or 0, target or 0]) or 1
    height = len(items) * (bar_height + pad) + pad
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="11">']
    for i, (label, value) in enumerate(items):
        y = pad + i * (bar_height + pad)
        w = max(plot_w * (value / top), 0)
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_height - 5}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{color}"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height - 5}">{escape(value_format.format(value))}</text>')
    if target is not None:
        x = label_w + plot_w * (target / top)
        parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height}" stroke="#c0392b" '
                     f'stroke-dasharray="4,3"/>')
    parts.append("</svg>")
    return "".join(parts)
