"""Compact bucket state: packed multisets count like Counters, revenue sums like Decimals."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sales_scorecard.core.aggregates import PACKED_KEYS, Bucket, BucketSum, _tally_add, _tally_view, money_units
from sales_scorecard.core.labels import LabelSet

KEYS = [f"c{i}" for i in range(PACKED_KEYS + 4)]  # enough to pass from packed to a Counter


@given(st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from([1, 1, -1]))))
def test_a_packed_tally_counts_like_a_counter(steps: list[tuple[str, int]]) -> None:
    tally, expected = None, Counter()  # type: ignore[var-annotated]
    for key, sign in steps:
        tally = _tally_add(tally, key, sign)
        expected[key] += sign
        assert dict(_tally_view(tally)) == {k: n for k, n in expected.items() if n}


def test_a_tally_of_one_key_counted_once_is_the_key_itself() -> None:
    assert _tally_add(None, "c1", 1) == "c1"
    assert _tally_add("c1", "c1", 1) == ("c1", 2)
    assert _tally_add(("c1", 2), "c1", -1) == "c1"
    assert _tally_add("c1", "c1", -1) is None


amounts = st.decimals(min_value=0, max_value=10**12, places=2) | st.integers(0, 10**6).map(Decimal) | \
    st.sampled_from([Decimal("1E+3"), Decimal("0.5"), Decimal("0.00")])


@given(st.lists(st.tuples(amounts, st.sampled_from([1, -1]))))
def test_bucket_revenue_is_the_decimal_a_running_sum_gives(steps: list[tuple[Decimal, int]]) -> None:
    # Exponent included: Decimal(0) + 1000.00 is 1000.00, and 0.5 - 0.5 is 0.0.
    bucket, total = Bucket(), Decimal(0)
    for amount, sign in steps:
        bucket.apply((("revenue", money_units(amount)),), sign)
        total += amount * sign
        assert bucket.revenue == total and str(bucket.revenue) == str(total)
    merged = Bucket.merged([bucket, bucket])
    assert str(merged.revenue) == str(Decimal(0) + total + total)


def test_rarer_aggregates_read_zero_until_counted() -> None:
    bucket = Bucket()
    assert (bucket.lost, bucket.complaints, bucket.survey_count, dict(bucket.campaigns)) == (0, 0, 0, {})
    bucket.apply((("complaint", "high"),), 1)
    assert bucket.complaints == 1 and bucket.by_severity == {"high": 1} and bucket.lost == 0


def test_label_set_behaves_as_a_set() -> None:
    labels = LabelSet(["2026-11", "2026"])
    labels.update(("2026-11", "2026-Q4", "2026"))
    assert labels == {"2026", "2026-Q4", "2026-11"} and len(labels) == 3
    assert set(labels & {"2026", "2027"}) == {"2026"}
    labels.discard("2026")
    labels.discard("2025")
    assert "2026" not in labels and sorted(labels) == ["2026-11", "2026-Q4"]


ACTIVITY_DELTAS = st.lists(st.tuples(
    st.sampled_from(["call", "visit", "campaign", "training", "survey"]),
    st.one_of(st.none(), st.sampled_from([f"c{i}" for i in range(40)])),
    st.integers(min_value=0, max_value=5)), max_size=120)


@given(ACTIVITY_DELTAS)
def test_a_bucket_sum_is_the_bucket_each_apply_gives(steps: list[tuple[str, str | None, int]]) -> None:
    applied, summed = Bucket(), BucketSum()
    for kind, customer, n in steps:
        delta: tuple[tuple[str, object], ...] = (("activity", kind),)
        if customer is not None:
            delta += (("contact", customer),)
        if kind == "campaign":
            delta += (("campaign", f"camp{n}"),)
        elif kind in ("training", "survey"):
            delta += ((kind, n),)
        applied.apply(delta, +1)
        summed.add(delta)
    got = summed.bucket()
    fields = ("contributions", "effective_contacts", "training_minutes", "survey_sum", "survey_count")
    assert [getattr(got, f) for f in fields] == [getattr(applied, f) for f in fields]
    for tally in ("activities", "contacts", "campaigns"):
        assert dict(getattr(got, tally)) == dict(getattr(applied, tally))
    # and added to another bucket, as the engine adds it
    into = Bucket()
    into.add(got, +1)
    assert dict(into.contacts) == dict(applied.contacts) and into.contributions == applied.contributions


def test_a_bucket_sum_takes_activities_only() -> None:
    summed = BucketSum()
    with pytest.raises(KeyError):
        summed.add((("activity", "call"), ("won", 1)))
    assert summed.contributions == 0 and not summed.activities


CONTRIBUTIONS = st.sampled_from([
    (("won_customer", "c1"), ("won", 1), ("revenue", (100, 0))),
    (("won_customer", "c2"), ("won", 1), ("revenue", (250, -2))),
    (("activity", "call"), ("contact", "c1")),
    (("activity", "visit"), ("contact", "c3")),
    (("complaint", "high"),),
])


@given(st.lists(st.tuples(st.integers(0, 2), CONTRIBUTIONS, st.sampled_from([1, 1, -1]))))
def test_a_quarter_summed_from_its_months_reads_as_one_counted_whole(
        steps: list[tuple[int, tuple[tuple[str, object], ...], int]]) -> None:
    # Three months and their quarter: the engine keeps no quarter bucket and reads the sum
    # of its months' (``Bucket.merged``), which is what counting the quarter whole holds.
    months = [Bucket(), Bucket(), Bucket()]
    full = Bucket()
    for month, delta, sign in steps:
        months[month].apply(delta, sign)
        full.apply(delta, sign)
    for read in (Bucket.summed(months), Bucket.merged(months)):
        for name in ("contributions", "revenue", "won", "effective_contacts", "complaints"):
            assert getattr(read, name) == getattr(full, name), name
        assert str(read.revenue) == str(full.revenue)
        for name in ("won_customers", "contacts", "activities", "by_severity"):
            assert dict(getattr(read, name)) == dict(getattr(full, name)), name


def test_new_customers_are_counted_without_a_rare_record() -> None:
    # Three acquisitions (tiers A, A, B), one retracted (A): 2 new customers, A 1 and B 1.
    bucket = Bucket()
    for tier, sign in [("A", 1), ("A", 1), ("B", 1), ("A", -1)]:
        bucket.apply((("new_tier", tier),), sign)
    assert (bucket.new_customers, dict(bucket.new_by_tier)) == (2, {"A": 1, "B": 1})
    assert bucket._rare is None  # what most buckets with a first win hold: no record of the rarer aggregates
    assert (bucket.lost, bucket.complaints) == (0, 0)
    # a running sum moves by whole buckets: twice this one, then once taken out again
    total = Bucket()
    total.add(bucket, 1)
    total.add(bucket, 1)
    assert (total.new_customers, dict(total.new_by_tier)) == (4, {"A": 2, "B": 2})
    total.add(bucket, -1)
    assert (total.new_customers, dict(total.new_by_tier)) == (2, {"A": 1, "B": 1})
    # merged with a bucket of one acquisition (C) and a lost deal: 3 new customers
    other = Bucket()
    other.apply((("new_tier", "C"), ("lost", 1)), 1)
    merged = Bucket.merged([bucket, other])
    assert (merged.new_customers, dict(merged.new_by_tier), merged.lost) == (3, {"A": 1, "B": 1, "C": 1}, 1)
    # a quarter read as the sum of its months keeps the acquisitions
    assert Bucket.merged([bucket, Bucket()]).new_customers == 2
    # taken out to below zero (a retraction applied before its fact): the total follows
    empty = Bucket()
    empty.apply((("new_tier", "A"),), -1)
    assert (empty.new_customers, dict(empty.new_by_tier)) == (-1, {"A": -1})


def test_a_sum_to_read_shares_what_one_bucket_alone_holds() -> None:
    # October: a won deal (c1, 100) and a complaint; November: a call to c1 and a won deal (c2, 2.50)
    october, november = Bucket(), Bucket()
    october.apply((("won_customer", "c1"), ("won", 1), ("revenue", (100, 0))), 1)
    october.apply((("complaint", "high"),), 1)
    november.apply((("activity", "call"), ("contact", "c1")), 1)
    november.apply((("won_customer", "c2"), ("won", 1), ("revenue", (250, -2))), 1)
    assert Bucket.summed([october]) is october
    quarter = Bucket.summed([october, november])
    assert quarter._rare is october._rare and quarter._contacts is november._contacts  # one holder: shared
    assert (quarter.contributions, str(quarter.revenue), quarter.won, quarter.complaints) == (4, "102.50", 2, 1)
    assert dict(quarter.won_customers) == {"c1": 1, "c2": 1} and dict(quarter.activities) == {"call": 1}
    merged = Bucket.merged([october, november])
    assert quarter.won_customers == merged.won_customers and str(quarter.revenue) == str(merged.revenue)


def test_a_bucket_keeps_its_first_amount_and_cycle_as_given() -> None:
    # One won deal of 1,234,567,890.12 (units 123456789012, exponent -2) and a 10-day cycle
    # (864,000,000,000 µs): a bucket credited with it alone holds those very ints (shared
    # with the fact, not copied); a second deal of 0.88 and 1 s makes new sums.
    units, cycle = 123_456_789_012, 864_000_000_000
    bucket = Bucket()
    bucket.apply((("revenue", (units, -2)), ("won", True), ("cycle", cycle)), 1)
    assert bucket.revenue_units[0] is units and bucket.cycle_micros is cycle
    assert bucket.revenue == Decimal("1234567890.12")
    bucket.apply((("revenue", (88, -2)), ("cycle", 1_000_000)), 1)
    assert bucket.revenue_units == (123_456_789_100, -2) and bucket.cycle_micros == 864_001_000_000
    bucket.apply((("revenue", (units, -2)), ("cycle", cycle)), -1)
    assert bucket.revenue == Decimal("0.88") and bucket.cycle_micros == 1_000_000
    # a running sum of buckets starting empty shares the first bucket's ints too
    one = Bucket()
    one.apply((("revenue", (units, -2)), ("cycle", cycle)), 1)
    total = Bucket()
    total.add(one, 1)
    assert total.revenue_units[0] is units and total.cycle_micros is cycle
    total.add(one, -1)
    assert total.revenue_units == (0, -2) and total.cycle_micros == 0
