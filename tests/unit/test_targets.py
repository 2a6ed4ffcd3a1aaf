"""Target resolution and derivation (SPEC §3, docs/kpi-decisions.md)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal as D

from sales_scorecard.core.targets import TargetBook, resolve_revenue_target

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def book(*entries: tuple[str, str, str, str]) -> TargetBook:
    b = TargetBook()
    for i, (scope, id, period, revenue) in enumerate(entries):
        b.put(scope, id, period, T0, f"e{i}", D(revenue), None, None)
    return b


def test_month_from_quarter_then_year() -> None:
    b = book(("rep", "r1", "2026-Q4", "300.00"), ("rep", "r1", "2026", "1200.00"))
    assert b.resolve_own("rep", "r1", "2026-11", "revenue") == D("100")  # quarter / 3 wins over year / 12
    assert b.resolve_own("rep", "r1", "2026-02", "revenue") == D("100")  # year / 12
    assert b.resolve_own("rep", "r1", "2026-Q1", "revenue") == D("300")  # year / 4


def test_quarter_from_months_and_year_from_quarters() -> None:
    months = [("rep", "r1", f"2026-{m:02d}", "10.00") for m in range(1, 13)]
    b = book(*months)
    assert b.resolve_own("rep", "r1", "2026-Q2", "revenue") == D("30")
    assert b.resolve_own("rep", "r1", "2026", "revenue") == D("120")
    partial = book(*months[:11])
    assert partial.resolve_own("rep", "r1", "2026-Q4", "revenue") is None  # December missing, no year
    assert partial.resolve_own("rep", "r1", "2026", "revenue") is None


def test_exact_division_is_not_rounded() -> None:
    b = book(("rep", "r1", "2026-Q4", "100.00"))
    month = b.resolve_own("rep", "r1", "2026-10", "revenue")
    assert month != D("33.33") and str(month).startswith("33.333333333333")  # rounded only at output


def test_latest_target_wins() -> None:
    b = TargetBook()
    later = datetime(2026, 2, 1, tzinfo=timezone.utc)
    assert b.put("rep", "r1", "2026-11", later, "b", D("2"), None, None)
    assert not b.put("rep", "r1", "2026-11", T0, "a", D("1"), None, None)  # older: ignored
    assert b.given("rep", "r1", "2026-11", "revenue") == D("2")


def test_team_and_company_sum_members() -> None:
    b = book(("rep", "r1", "2026-11", "100.00"), ("rep", "r2", "2026-11", "50.00"), ("team", "t3", "2026-11", "7.00"))
    members = {"t1": ["r1", "r2", "r9"], "t2": ["r8"], "t3": ["r7"]}
    assert resolve_revenue_target(b, "team", "t1", "2026-11", members) == D("150")  # r9 has none: counts 0
    assert resolve_revenue_target(b, "team", "t2", "2026-11", members) is None      # nobody has one
    assert resolve_revenue_target(b, "company", "*", "2026-11", members) == D("157")
    assert resolve_revenue_target(b, "company", "*", "2026-11", {"t2": ["r8"]}) is None
