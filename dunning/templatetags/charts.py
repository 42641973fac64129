"""Charts drawn on the server as inline SVG: no script, no build step, and readable by a
screen reader (`role="img"` with a title and a description pointing at the table that
always stands beside the chart with the same numbers).

Only drawing lives here: the tags scale the values they are given into a `viewBox`, so
the chart stretches to its box at any width. Colours come from CSS classes
(static/css/desk.css). Amounts are drawn as floats but written with the `money` filter,
from their Decimal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from receivables.templatetags.money import money

register = template.Library()

WIDTH = 600


def _number(value: Any) -> float | None:
    """A value to draw: a number, or an amount across currencies by its converted
    figure (`dunning.desk.Amount`); None when there is nothing to draw."""
    value = getattr(value, "converted", value)
    return None if value is None else float(value)


def _text(value: Any) -> str:
    value = getattr(value, "converted", value)
    if value is None:
        return "\N{EN DASH}"
    if isinstance(value, Decimal):
        return money(value)
    return str(value)


def _f(value: float) -> str:
    return f"{value:.1f}"


def _svg(chart_id: str, title: str, height: float, width: float, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" id="{id}" viewBox="0 0 {w} {h}" width="100%" role="img" '
        'aria-labelledby="{id}-title {id}-desc" preserveAspectRatio="xMinYMin meet">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        id=chart_id,
        w=_f(width),
        h=_f(height),
        title=title,
        desc=gettext("The figures are in the table beside the chart."),
        body=body,
    )


@register.simple_tag
def bar_chart(
    items: Iterable[Any],
    *,
    chart_id: str,
    title: str,
    label: str = "label",
    value: str = "value",
    tones: bool = False,
) -> SafeString:
    """Horizontal bars, one row per item: its `label` and its `value` written on a line,
    the bar under them, as long as the value is against the largest. With `tones`, the
    bars shade from green to deep red in their order (aging buckets, risk classes)."""
    rows = [(str(getattr(item, label)), getattr(item, value)) for item in items]
    largest = max((_number(v) or 0.0 for _l, v in rows), default=0.0)
    row_height = 38
    parts = []
    for index, (name, amount) in enumerate(rows):
        top = index * row_height
        share = (_number(amount) or 0.0) / largest if largest > 0 else 0.0
        tone = f" chart-tone-{index + 1}" if tones else ""
        parts.append(
            format_html(
                '<g class="chart-row"><text class="chart-label" x="0" y="{ty}">{name}</text>'
                '<text class="chart-value" x="{w}" y="{ty}" text-anchor="end">{text}</text>'
                '<rect class="chart-track" x="0" y="{by}" width="{w}" height="10" rx="3"/>'
                '<rect class="chart-bar{tone}" x="0" y="{by}" width="{bw}" height="10" rx="3"/>'
                "</g>",
                ty=_f(top + 14),
                by=_f(top + 20),
                w=WIDTH,
                bw=_f(WIDTH * max(share, 0.0)),
                name=name,
                text=_text(amount),
                tone=tone,
            )
        )
    height = max(len(rows) * row_height, row_height)
    return _svg(chart_id, title, height, WIDTH, mark_safe("".join(parts)))


@register.simple_tag
def line_chart(
    items: Sequence[Any], *, chart_id: str, title: str, label: str, value: str, unit: str = ""
) -> SafeString:
    """A small line chart over the items in order (months): a point per item with a
    value, the line broken where there is none; the highest and lowest values and the
    first and last labels written on the axes."""
    width, height = 300.0, 150.0
    left, right, top, bottom = 40.0, 292.0, 14.0, 118.0
    points = [(str(getattr(item, label)), _number(getattr(item, value))) for item in items]
    known = [v for _l, v in points if v is not None]
    low = min([0.0, *known])
    high = max([1.0, *known])
    step = (right - left) / max(len(points) - 1, 1)

    def y_of(number: float) -> float:
        return bottom - (number - low) / (high - low) * (bottom - top)

    segments: list[list[tuple[float, float]]] = [[]]
    dots = []
    for index, (name, number) in enumerate(points):
        if number is None:
            segments.append([])
            continue
        x, y = left + index * step, y_of(number)
        segments[-1].append((x, y))
        dots.append(
            format_html(
                '<circle class="chart-dot" cx="{x}" cy="{y}" r="3"><title>{name}: {v}{unit}</title>'
                "</circle>",
                x=_f(x),
                y=_f(y),
                name=name,
                v=f"{number:,.2f}",
                unit=unit,
            )
        )
    lines = format_html_join(
        "",
        '<polyline class="chart-line" points="{}"/>',
        ((" ".join(f"{_f(x)},{_f(y)}" for x, y in segment),) for segment in segments if segment),
    )
    axes = format_html(
        '<line class="chart-axis" x1="{l}" y1="{b}" x2="{r}" y2="{b}"/>'
        '<line class="chart-grid" x1="{l}" y1="{t}" x2="{r}" y2="{t}"/>'
        '<text class="chart-tick" x="{lt}" y="{ht}" text-anchor="end">{high}</text>'
        '<text class="chart-tick" x="{lt}" y="{lb}" text-anchor="end">{low}</text>'
        '<text class="chart-tick" x="{l}" y="{xt}">{first}</text>'
        '<text class="chart-tick" x="{r}" y="{xt}" text-anchor="end">{last}</text>',
        l=_f(left),
        r=_f(right),
        t=_f(top),
        b=_f(bottom),
        lt=_f(left - 5),
        ht=_f(top + 4),
        lb=_f(bottom + 4),
        xt=_f(bottom + 20),
        high=f"{high:,.0f}",
        low=f"{low:,.0f}",
        first=points[0][0] if points else "",
        last=points[-1][0] if points else "",
    )
    if not known:
        lines = format_html(
            '<text class="chart-tick" x="{x}" y="{y}" text-anchor="middle">{text}</text>',
            x=_f((left + right) / 2),
            y=_f((top + bottom) / 2),
            text=gettext("No figure in these months"),
        )
    body = format_html("{}{}{}", axes, lines, mark_safe("".join(dots)))
    return _svg(chart_id, title, height, width, body)


@register.simple_tag
def paired_bar_chart(
    items: Sequence[Any],
    *,
    chart_id: str,
    title: str,
    label: str,
    first: str,
    second: str,
    first_name: str,
    second_name: str,
) -> SafeString:
    """Two bars per item side by side (promised and expected per week), with a legend;
    the largest value written on the axis."""
    height = 230.0
    left, right, top, bottom = 8.0, float(WIDTH), 40.0, 200.0
    rows = [
        (
            str(getattr(item, label)),
            _number(getattr(item, first)) or 0.0,
            _number(getattr(item, second)) or 0.0,
        )
        for item in items
    ]
    largest = max([0.0, *(max(a, b) for _l, a, b in rows)])
    group = (right - left) / max(len(rows), 1)
    bar = group * 0.34

    def bar_height(number: float) -> float:
        return (number / largest) * (bottom - top) if largest > 0 else 0.0

    parts = [
        format_html(
            '<rect class="chart-bar" x="{x1}" y="8" width="12" height="12" rx="2"/>'
            '<text class="chart-label" x="{t1}" y="18">{n1}</text>'
            '<rect class="chart-bar chart-bar-second" x="{x2}" y="8" width="12" height="12" '
            'rx="2"/><text class="chart-label" x="{t2}" y="18">{n2}</text>'
            '<line class="chart-axis" x1="{l}" y1="{b}" x2="{r}" y2="{b}"/>'
            '<text class="chart-tick" x="{r}" y="18" text-anchor="end">{max}</text>',
            x1=_f(left),
            t1=_f(left + 18),
            x2=_f(left + 150),
            t2=_f(left + 168),
            n1=first_name,
            n2=second_name,
            l=_f(left),
            r=_f(right),
            b=_f(bottom),
            max=gettext("highest %(amount)s") % {"amount": f"{largest:,.0f}"},
        )
    ]
    for index, (name, one, two) in enumerate(rows):
        x = left + index * group + group * 0.14
        h1, h2 = bar_height(one), bar_height(two)
        parts.append(
            format_html(
                '<g class="chart-row"><rect class="chart-bar" x="{x1}" y="{y1}" width="{w}" '
                'height="{h1}"><title>{name}: {v1}</title></rect>'
                '<rect class="chart-bar chart-bar-second" x="{x2}" y="{y2}" width="{w}" '
                'height="{h2}"><title>{name}: {v2}</title></rect>'
                '<text class="chart-tick" x="{xm}" y="{yt}" text-anchor="middle">{name}</text></g>',
                x1=_f(x),
                x2=_f(x + bar),
                w=_f(bar),
                y1=_f(bottom - h1),
                y2=_f(bottom - h2),
                h1=_f(h1),
                h2=_f(h2),
                xm=_f(x + bar),
                yt=_f(bottom + 18),
                name=name,
                v1=f"{first_name} {one:,.2f}",
                v2=f"{second_name} {two:,.2f}",
            )
        )
    return _svg(chart_id, title, height, WIDTH, mark_safe("".join(parts)))
