"""Rankings (contract §6): ties share a rank and the next rank skips (1, 1, 3); within a
tie, rows are ordered by rep id. Rows without a value are left out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class RankedRow:
    """One ranked rep."""

    rank: int
    rep_id: str
    value: Decimal | int


def rank(rows: Iterable[tuple[str, Decimal | int | None]], descending: bool = True) -> list[RankedRow]:
    """Competition ranking ("1224") of (rep_id, value) rows."""
    present = [(rep_id, value) for rep_id, value in rows if value is not None]
    present.sort(key=lambda r: r[0])
    present.sort(key=lambda r: r[1], reverse=descending)  # stable: rep_id order within ties
    out: list[RankedRow] = []
    for i, (rep_id, value) in enumerate(present):
        if out and out[-1].value == value:
            out.append(RankedRow(out[-1].rank, rep_id, value))
        else:
            out.append(RankedRow(i + 1, rep_id, value))
    return out


def ranking_changed(old: list[RankedRow], new: list[RankedRow]) -> bool:
    """True when ranks, order or values differ."""
    return old != new
