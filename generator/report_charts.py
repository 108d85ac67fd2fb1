"""Small inline SVG charts for the report page: crisp at any zoom, and no image files to carry."""
from __future__ import annotations

from html import escape

# The same level always gets the same colour, here and in the page's highlight legend.
EXPLICITNESS_COLOURS = {"explicit": "#3b6ea8", "paraphrased": "#4c9a6a", "implied": "#c27c2c", "split": "#8a5aa8"}


def horizontal_bars(rows: list[tuple[str, int, str]], unit: str, width: int = 520) -> str:
    """One bar per (label, value, colour), the value written at the end of the bar."""
    label_w, bar_h, gap = 110, 18, 8
    top = max((v for _, v, _ in rows), default=0) or 1
    span = width - label_w - 90
    height = len(rows) * (bar_h + gap) + gap
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value, colour) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = max(1, round(span * value / top)) if value else 0
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" rx="3" fill="{colour}"/>'
                     f'<text x="{label_w + w + 6}" y="{y + bar_h - 5}" class="value">{value:,} {escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def percentile_strip(p: dict, lo: float, hi: float, fmt: str, width: int = 520) -> str:
    """A box plot on one axis: whiskers p5..p95, box p25..p75, a line at the median, dots at min and max."""
    pad, height, mid = 70, 76, 34
    x = lambda v: pad + (width - 2 * pad) * (v - lo) / ((hi - lo) or 1)  # noqa: E731
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<line x1="{x(p["p5"]):.1f}" x2="{x(p["p95"]):.1f}" y1="{mid}" y2="{mid}" class="whisker"/>',
             f'<rect x="{x(p["p25"]):.1f}" y="{mid - 11}" width="{max(1, x(p["p75"]) - x(p["p25"])):.1f}" height="22" '
             f'rx="3" class="box"/>',
             f'<line x1="{x(p["p50"]):.1f}" x2="{x(p["p50"]):.1f}" y1="{mid - 11}" y2="{mid + 11}" class="median"/>']
    for key in ("p0", "p100"):
        parts.append(f'<circle cx="{x(p[key]):.1f}" cy="{mid}" r="3" class="extreme"/>')
    # The median's label sits above the box, min and max below it, so close values never overprint.
    for key, anchor, y in (("p0", "end", mid + 30), ("p50", "middle", mid - 16), ("p100", "start", mid + 30)):
        parts.append(f'<text x="{x(p[key]):.1f}" y="{y}" text-anchor="{anchor}">{key} {fmt.format(p[key])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def charts(stats: dict) -> dict[str, str]:
    """SVG markup by name; the template marks it safe, every label in it is escaped here."""
    from markupsafe import Markup

    levels = stats["by_explicitness"]
    ordered = [k for k in EXPLICITNESS_COLOURS if k in levels] + sorted(set(levels) - set(EXPLICITNESS_COLOURS))
    out = {"explicitness": horizontal_bars(
        [(k, levels[k]["mentions"], EXPLICITNESS_COLOURS.get(k, "#777")) for k in ordered], "mentions")}
    lengths = stats["lengths"]
    out["lengths"] = percentile_strip(lengths, lengths["p0"], lengths["p100"], "{:,}")
    if stats["depth"]:
        out["depth"] = percentile_strip(stats["depth"], 0.0, 1.0, "{:.2f}")
    return {name: Markup(svg) for name, svg in out.items()}
