"""Comparing a scorecard snapshot with the reference model."""

from __future__ import annotations

from sales_scorecard.core.kpis import CLOCK_KPIS, MONEY_KPIS
from tests.reference.model import ReferenceModel

RATIO_TOLERANCE = 1e-4


def assert_kpis_equal(key: tuple[str, str, str], got: dict, want: dict) -> None:
    """Money and counts exactly, ratios within 1e-4; clock-dependent KPIs are skipped."""
    for name, expected in want.items():
        if name in CLOCK_KPIS or name == "score":
            continue
        actual = got[name]
        if expected is None or actual is None or isinstance(expected, (dict, str)) or name in MONEY_KPIS:
            assert actual == expected, (key, name, actual, expected)
        elif isinstance(expected, int) and not isinstance(expected, bool) and isinstance(actual, int):
            assert actual == expected, (key, name, actual, expected)
        else:
            assert abs(float(actual) - float(expected)) <= RATIO_TOLERANCE, (key, name, actual, expected)


def assert_snapshot_matches(rows: list[dict], model: ReferenceModel) -> int:
    """Every reference key is in the snapshot and every calendar key's KPIs match; returns the count."""
    snapshot = {(r["scope"], r["id"], r["period"]): r for r in rows}
    want_keys = model.keys()
    assert want_keys, "the reference model found no scorecards"
    missing = want_keys - set(snapshot)
    assert not missing, sorted(missing)[:20]
    compared = 0
    for key, row in sorted(snapshot.items()):
        if key[2] in ("R30D", "R90D"):
            continue
        assert_kpis_equal(key, row["kpis"], model.kpis(*key))
        compared += 1
    return compared


def applied_total(exposition: str) -> float:
    """Facts applied, stale or duplicate in the aggregation stage (all outcomes)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines()
               if line.startswith("scorecard_facts_total{"))
