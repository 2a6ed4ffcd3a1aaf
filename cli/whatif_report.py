"""How ``scorecard whatif`` shows a ``core.whatif.WhatIf``: a text summary, a CSV of every
rep-month and a self-contained HTML report with a chart of the changes (contract §13)."""

from __future__ import annotations

import csv
import html
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sales_scorecard.core.money import format_money
from sales_scorecard.core.whatif import Plans, RepMonth, Total, WhatIf, score_rounded

#: The CSV's columns, in order (contract §13).
CSV_COLUMNS = ("rep_id", "period", "commission_current", "commission_candidate", "score_current", "score_candidate")
#: Columns of the largest changes.
CHANGE_HEADER = ("rep", "month", "team", "current", "candidate", "change", "score current", "score candidate")
#: Bars of the distribution chart.
BINS = 20


def money(value: Decimal, signed: bool = False) -> str:
    """Cents with thousands separators (``+`` on a positive change when ``signed``)."""
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def plan_names(plans: Plans) -> str:
    """``commission plan id / the rep scorecard plan's id`` (a what-if scores rep-months)."""
    return f"{plans.commission.default.plan_id} / {plans.scorecard.rep.plan_id}"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    line = "  ".join(("{:<%d}" if i == 0 else "{:>%d}") % w for i, w in enumerate(widths))
    return [line.format(*header), *(line.format(*row) for row in rows)]


def _total_row(total: Total) -> tuple[str, ...]:
    return (total.name, f"{total.rep_months:,}", money(total.current), money(total.candidate),
            money(total.delta, signed=True))


def change_row(row: RepMonth) -> tuple[str, ...]:
    """One of the largest changes as ``CHANGE_HEADER`` lists it ("-" for no score)."""
    return (row.rep_id, row.period, row.team_id, money(row.commission_current), money(row.commission_candidate),
            money(row.delta, signed=True), score_rounded(row.score_current) or "-",
            score_rounded(row.score_candidate) or "-")


def summary(report: WhatIf, current: Plans, candidate: Plans, top: int) -> str:
    """Totals, per team and the ``top`` largest changes, as text."""
    out = [f"what-if {report.first}..{report.last}: {len(report.rows):,} rep-months",
           f"current plans:   {plan_names(current)}", f"candidate plans: {plan_names(candidate)}", ""]
    header = ("", "rep-months", "current", "candidate", "change")
    out += _table(header, [_total_row(report.total())])
    out += ["", "per team (the team at each month's end):"]
    out += _table(("team", *header[1:]), [_total_row(t) for t in report.by_team()])
    largest = report.largest_changes(top)
    out += ["", f"largest changes (top {top} rep-months by |change|):"]
    if largest:
        out += _table(CHANGE_HEADER, [change_row(r) for r in largest])
    else:
        out.append("none: no rep-month's commission changes")
    return "\n".join(out)


def csv_row(row: RepMonth) -> tuple[str, ...]:
    """One CSV row: money as 2-decimal strings, scores to 4 decimals ("" for none)."""
    return (row.rep_id, row.period, str(format_money(row.commission_current)),
            str(format_money(row.commission_candidate)), score_rounded(row.score_current),
            score_rounded(row.score_candidate))


def write_csv(report: WhatIf, path: Path, top: int) -> None:
    """One row per rep-month, by rep then month."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_row(r) for r in report.rows)


@dataclass(frozen=True)
class Bar:
    """One bar of the distribution: rep-months with a change in [low, high) (the last bar
    includes ``high``)."""

    low: Decimal
    high: Decimal
    count: int


def distribution(deltas: list[Decimal], bins: int = BINS) -> list[Bar]:
    """The changes in ``bins`` bars of equal width from the smallest to the largest; one
    bar when they are all equal, none without rep-months."""
    if not deltas:
        return []
    low, high = min(deltas), max(deltas)
    if low == high:
        return [Bar(low, high, len(deltas))]
    width = (high - low) / bins
    counts = [0] * bins
    for d in deltas:
        counts[min(int((d - low) / width), bins - 1)] += 1
    return [Bar(low + i * width, low + (i + 1) * width if i < bins - 1 else high, n) for i, n in enumerate(counts)]


def chart_svg(bars: list[Bar], width: int = 720, height: int = 260) -> str:
    """An inline SVG bar chart of ``distribution``: rep-months per range of change."""
    left, bottom, top_pad = 48, 40, 12
    plot_w, plot_h = width - left - 12, height - bottom - top_pad
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Rep-months per change of commission">']
    tallest = max((b.count for b in bars), default=0)
    parts.append(f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" '
                 'stroke="#555"/>')
    parts.append(f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end" font-size="11">{tallest:,}</text>')
    parts.append(f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end" font-size="11">0</text>')
    parts.append(f'<text x="12" y="{top_pad + plot_h / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top_pad + plot_h / 2})">rep-months</text>')
    slot = plot_w / max(len(bars), 1)
    for i, bar in enumerate(bars):
        h = 0 if tallest == 0 else plot_h * bar.count / tallest
        x, y = left + i * slot + 1, top_pad + plot_h - h
        colour = "#c0392b" if bar.high <= 0 and bar.low < 0 else "#2e86c1" if bar.low >= 0 and bar.high > 0 \
            else "#7f8c8d"
        label = f"{money(bar.low, True)} to {money(bar.high, True)}: {bar.count:,} rep-months"
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" height="{h:.1f}" '
                     f'fill="{colour}"><title>{html.escape(label)}</title></rect>')
    if bars:
        axis_y = top_pad + plot_h + 16
        parts.append(f'<text x="{left}" y="{axis_y}" font-size="11">{html.escape(money(bars[0].low, True))}</text>')
        parts.append(f'<text x="{left + plot_w}" y="{axis_y}" text-anchor="end" font-size="11">'
                     f'{html.escape(money(bars[-1].high, True))}</text>')
        parts.append(f'<text x="{left + plot_w / 2}" y="{axis_y + 16}" text-anchor="middle" font-size="11">'
                     'change of commission per rep-month (candidate − current)</text>')
    parts.append("</svg>")
    return "".join(parts)


def _html_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
         "th,td{padding:4px 10px;border-bottom:1px solid #ddd}td{text-align:right}td:first-child{text-align:left}"
         "th{background:#f4f6f7}")


def write_html(report: WhatIf, path: Path, top: int) -> None:
    """A self-contained page: totals, per team, the largest changes and the distribution of
    the changes per rep-month (inline SVG; no script, no external resource)."""
    header = ("", "rep-months", "current", "candidate", "change")
    largest = [change_row(r) for r in report.largest_changes(top)]
    title = f"What-if {report.first} to {report.last}"
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{len(report.rows):,} rep-months, commission as the formula pays it (contract §7, §11).</p>"
        "<h2>Totals</h2>" + _html_table(header, [_total_row(report.total())])
        + "<h2>Per team</h2><p>The team at each month's end.</p>"
        + _html_table(("team", *header[1:]), [_total_row(t) for t in report.by_team()])
        + f"<h2>Largest changes</h2><p>The {top} rep-months whose commission changes most.</p>"
        + _html_table(CHANGE_HEADER, largest)
        + "<h2>Distribution of the changes</h2>"
        + chart_svg(distribution([r.delta for r in report.rows]))
        + "</body></html>"
    )
    path.write_text(page, encoding="utf-8")


#: ``--out`` extension -> writer
WRITERS: dict[str, Callable[[WhatIf, Path, int], None]] = {".csv": write_csv, ".html": write_html}
