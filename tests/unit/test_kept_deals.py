"""What the engine keeps of a deal (core/kept_deals.py): every field it reads back, exactly."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from sales_scorecard.core.engine import Outcome, ScorecardEngine
from sales_scorecard.core.kept_deals import KeptDeal
from sales_scorecard.schemas.records import DealEvent, record_from_event
from tests import factories as f


def _deal(**fields: object) -> DealEvent:
    record = record_from_event(f.deal("d1", "r1", "c1", **fields))  # type: ignore[arg-type]
    assert isinstance(record, DealEvent)
    return record


def test_a_kept_deal_reads_back_what_the_engine_reads() -> None:
    deal = _deal(amount="1200.50", version=3, customer_tier="B", event_id="e-3",
                 created_at="2026-11-02T10:00:00+08:00", closed_at="2026-11-12T16:30:00+08:00")
    kept = KeptDeal.of(deal, None)
    assert (kept.deal_id, kept.event_id, kept.version, kept.rep_id, kept.customer_id, kept.stage,
            kept.customer_tier) == ("d1", "e-3", 3, "r1", "c1", "won", "B")
    # 1200.50 is 120,050 cents; the cycle is 10 days and 6.5 hours: 864,000 + 23,400 s
    assert kept.money == (120_050, -2) and kept.amount == Decimal("1200.50")
    assert kept.cycle_micros == 887_400 * 1_000_000
    assert kept.closed_at == deal.closed_at and kept.closed_at is not None
    assert kept.closed_at.isoformat() == "2026-11-12T16:30:00+08:00"


@pytest.mark.parametrize("event_id", ["e-3", "订单-é-\U0001f4b0", "x" * 127])
def test_the_event_id_reads_back_as_given_and_a_repeat_is_a_duplicate(event_id: str) -> None:
    kept = KeptDeal.of(_deal(amount="10.00", event_id=event_id), None)
    assert kept.event_id == event_id
    engine = ScorecardEngine()
    first = engine.apply(_deal(amount="10.00", event_id=event_id))
    again, other = (engine.apply(_deal(amount="10.00", event_id=e)) for e in (event_id, event_id + "'"))
    assert (first, again, other) == (Outcome.APPLIED, Outcome.DUPLICATE, Outcome.STALE)


@pytest.mark.parametrize(("given", "money"), [("7", (7, 0)), ("7.5", (75, -1)), ("7.50", (750, -2)),
                                              ("0.00", (0, -2)), ("999999999999.99", (99_999_999_999_999, -2))])
def test_an_amount_reads_back_as_the_decimal_given(given: str, money: tuple[int, int]) -> None:
    kept = KeptDeal.of(_deal(amount=given), None)
    assert kept.money == money
    # the same Decimal: value and exponent, so it prints as it was given
    assert str(kept.amount) == given and kept.amount.as_tuple() == Decimal(given).as_tuple()


def test_an_open_deal_keeps_no_close_and_no_cycle() -> None:
    kept = KeptDeal.of(_deal(amount="10.00", stage="open", closed_at=None), None)
    assert kept.closed_at is None and kept.cycle_micros == 0 and kept.stage == "open"


def test_the_next_version_shares_the_id_and_an_unchanged_close_time() -> None:
    first = KeptDeal.of(_deal(amount="10.00", closed_at="2026-11-10T10:00:00+08:00"), None)
    again = _deal(amount="12.00", version=2, closed_at="2026-11-10T10:00:00+08:00")
    assert again.closed_at is not first.closed_at  # parsed apart
    second = KeptDeal.of(again, first)
    assert second.deal_id is first.deal_id and second.closed_at is first.closed_at
    moved = KeptDeal.of(dataclasses.replace(again, closed_at=again.closed_at.replace(hour=11)), first)  # type: ignore[union-attr]
    assert moved.closed_at is not first.closed_at and moved.closed_at.hour == 11  # type: ignore[union-attr]


def test_a_close_time_of_the_same_instant_in_another_offset_is_kept_as_given() -> None:
    # Equal instants, but each prints its own offset (explain and payroll show closed_at as given).
    first = KeptDeal.of(_deal(amount="10.00", closed_at="2026-11-10T10:00:00+08:00"), None)
    second = KeptDeal.of(_deal(amount="10.00", version=2, closed_at="2026-11-10T02:00:00Z"), first)
    assert second.closed_at == first.closed_at and second.closed_at is not first.closed_at
    assert second.closed_at is not None and second.closed_at.isoformat() == "2026-11-10T02:00:00+00:00"
