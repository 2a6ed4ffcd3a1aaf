"""Arithmetic on calendar period labels (``2026``, ``2026-Q4``, ``2026-11``) without time zones."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, MutableSet
from functools import lru_cache

#: A month label written by a user (``2026-07``): what ``parses_as_month`` accepts.
MONTH_TEXT = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def period_kind(label: str) -> str:
    """``year``, ``quarter``, ``month``, ``day`` or the trailing window's own name."""
    if label in ("R30D", "R90D"):
        return label
    if len(label) == 4:
        return "year"
    if label[5] == "Q":
        return "quarter"
    return "month" if len(label) == 7 else "day"


def is_month(label: str) -> bool:
    """Whether ``label`` names a calendar month (``period_kind(label) == "month"``, faster)."""
    return len(label) == 7 and label[5] != "Q"


def parses_as_month(text: str) -> bool:
    """Whether untrusted ``text`` is a month label (``YYYY-MM``, month 01-12)."""
    return MONTH_TEXT.fullmatch(text) is not None


def shift(label: str, n: int) -> str:
    """The period ``n`` steps after ``label`` (same kind; negative goes back)."""
    kind = period_kind(label)
    year = int(label[:4])
    if kind == "year":
        return f"{year + n:04d}"
    if kind == "quarter":
        index = year * 4 + int(label[6]) - 1 + n
        return f"{index // 4:04d}-Q{index % 4 + 1}"
    if kind == "month":
        index = year * 12 + int(label[5:7]) - 1 + n
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    raise ValueError(f"cannot shift {label!r}")


@lru_cache(maxsize=4096)
def touched_by(month: str, coverage: bool) -> tuple[str, ...]:
    """The calendar periods whose scorecards a contribution to ``month`` can change: its
    month, quarter and year, the next ones (growth over the previous period), the same
    ones a year later (growth over the year before) and, with ``coverage``, the twelve
    months after it (a win stays in the 365-day coverage book that long)."""
    quarter, year = quarter_of_month(month), month[:4]
    labels = {
        month, quarter, year,
        shift(month, 1), shift(quarter, 1), shift(year, 1),
        shift(month, 12), shift(quarter, 4),
    }
    if coverage:
        labels.update(shift(month, n) for n in range(1, 13))
    return tuple(sorted(labels))


@lru_cache(maxsize=512)
def touched_by_kind(month: str, coverage: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``touched_by`` split into (months, quarters and years)."""
    labels = touched_by(month, coverage)
    return tuple(x for x in labels if is_month(x)), tuple(x for x in labels if not is_month(x))


def year_earlier(label: str) -> str:
    """The same calendar period one year before."""
    return f"{int(label[:4]) - 1:04d}{label[4:]}"


def quarter_of_month(month: str) -> str:
    """``2026-11`` -> ``2026-Q4``."""
    return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"


def months_of(label: str) -> list[str]:
    """The month labels inside a month, quarter or year label."""
    kind = period_kind(label)
    if kind == "month":
        return [label]
    if kind == "quarter":
        first = (int(label[6]) - 1) * 3 + 1
        return [f"{label[:4]}-{m:02d}" for m in range(first, first + 3)]
    if kind == "year":
        return [f"{label}-{m:02d}" for m in range(1, 13)]
    raise ValueError(f"{label!r} has no months")


@lru_cache(maxsize=1024)
def month_labels(label: str) -> tuple[str, ...]:
    """``months_of`` as a tuple, kept: what a quarter's or a year's figures are summed from."""
    return tuple(months_of(label))


def months_in(kind: str) -> int:
    """How many months a period kind covers (trailing windows: their rounded length)."""
    return {"month": 1, "quarter": 3, "year": 12, "R30D": 1, "R90D": 3}[kind]


class LabelSet(MutableSet[str]):
    """A small mutable set of period labels kept as a tuple.

    The engine holds one per scope (``ScorecardEngine.known``): a rep has about 17 labels
    a year, and a ``set`` of 20 strings takes ~2 KiB against ~0.2 KiB here. Membership
    scans the tuple; fine for the few dozen labels a scope has."""

    __slots__ = ("_labels",)

    def __init__(self, labels: Iterable[str] = ()) -> None:
        self._labels: tuple[str, ...] = tuple(dict.fromkeys(labels))

    def __contains__(self, label: object) -> bool:
        return label in self._labels

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __repr__(self) -> str:
        return f"LabelSet({sorted(self._labels)!r})"

    def add(self, label: str) -> None:
        if label not in self._labels:
            self._labels += (label,)

    def discard(self, label: str) -> None:
        if label in self._labels:
            self._labels = tuple(x for x in self._labels if x != label)

    def update(self, labels: Iterable[str]) -> None:
        """Add every label (like ``set.update``)."""
        own = self._labels
        missing = [label for label in labels if label not in own]
        if missing:
            self._labels = own + tuple(dict.fromkeys(missing))
