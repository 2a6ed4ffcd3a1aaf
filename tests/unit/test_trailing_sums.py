"""Trailing windows from running day sums (contract §4, §5): the sums kept in step with
contributions and clock moves equal a fresh sum of the day buckets of each window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales_scorecard.core.aggregates import Bucket, money_units
from sales_scorecard.core.engine import ScorecardEngine
from sales_scorecard.core.periods import TRAILING_DAYS, Period
from sales_scorecard.core.windows import TrailingSums
from sales_scorecard.schemas.records import record_from_event
from tests.factories import activity, deal, roster
from tests.unit.test_engine_properties import CUSTOMERS, REPS, histories, instants
from tests.unit.test_engine_properties import bucket_state as state

# ------------------------------------------------------------------- Bucket.add
amounts = st.decimals(min_value=0, max_value=10**6, places=2) | st.integers(0, 10**4).map(Decimal)
keys = st.sampled_from([f"c{i}" for i in range(24)])  # more than PACKED_KEYS: packed tallies become Counters
deltas = st.one_of(
    st.tuples(amounts, keys).map(lambda v: (("revenue", money_units(v[0])), ("won", 1), ("cycle", 7),
                                            ("won_customer", v[1]))),
    keys.map(lambda c: (("activity", "call"), ("contact", c))),
    st.just((("lost", 1),)),
    st.sampled_from("ABC").map(lambda t: (("new_tier", t),)),
    st.sampled_from(["low", "high"]).map(lambda s: (("complaint", s),)),
    st.just((("resolution", 3_600_000_000),)),
    keys.map(lambda c: (("activity", "campaign"), ("campaign", c))),
    st.integers(0, 90).map(lambda m: (("activity", "training"), ("training", m))),
    st.integers(1, 5).map(lambda s: (("activity", "survey"), ("survey", s))),
)


def _bucket(steps: list[tuple[tuple[str, Any], ...]]) -> Bucket:
    bucket = Bucket()
    for delta in steps:
        bucket.apply(delta, 1)
    return bucket


@given(st.lists(st.lists(deltas, max_size=30).map(_bucket), max_size=6), st.data())
def test_adding_and_removing_whole_buckets_equals_a_fresh_merge(buckets: list[Bucket], data: st.DataObject) -> None:
    total = Bucket()
    for b in buckets:
        total.add(b, 1)
    assert state(total) == state(Bucket.merged(buckets))
    removed = data.draw(st.sets(st.integers(0, max(len(buckets) - 1, 0)), max_size=len(buckets)))
    for i in sorted(removed):
        if i < len(buckets):
            total.add(buckets[i], -1)
    assert state(total) == state(Bucket.merged([b for i, b in enumerate(buckets) if i not in removed]))


# ------------------------------------------------------------- TrailingSums, by hand
def _day(amount: str) -> Bucket:
    return _bucket([(("revenue", money_units(Decimal(amount))), ("won", 1))])


def test_trailing_sums_follow_their_spans_and_the_contributions_inside_them() -> None:
    days = ["2026-11-01", "2026-11-02", "2026-11-05"]
    buckets = {"2026-11-01": _day("100.00"), "2026-11-02": _day("50.50"), "2026-11-05": _day("7")}
    sums = TrailingSums()

    def moved(span: tuple[str, str]) -> tuple[Bucket, Decimal, Decimal]:
        """The three sums over one span: the window's bucket and both revenues."""
        return sums.move((span, span, span), days, buckets)

    full, previous, year = moved(("2026-11-01", "2026-11-02"))
    assert full.revenue == previous == year == Decimal("150.50")  # 100.00 + 50.50
    assert full.won == 2
    # A deal of 10.00 on 2 November counts; one on 5 November is outside the span.
    for day, amount in (("2026-11-02", "10.00"), ("2026-11-05", "3.00")):
        delta = (("revenue", money_units(Decimal(amount))), ("won", 1))
        buckets[day].apply(delta, 1)
        sums.apply(day, delta, 1)
    full, previous, year = moved(("2026-11-01", "2026-11-02"))
    assert full.revenue == previous == year == Decimal("160.50")
    # Slide by three days: 1 November leaves, 5 November enters: 2 Nov (50.50 + 10.00, two
    # deals) and 5 Nov (7 + 3.00, two deals) give 70.50 and 4 deals.
    full, previous, year = moved(("2026-11-02", "2026-11-05"))
    assert full.revenue == previous == year == Decimal("70.50") and full.won == 4
    # A span with no day bucket, then back again (a rebuild either way).
    full, previous, year = moved(("2026-12-01", "2026-12-31"))
    assert full.revenue == previous == year == 0 and full.contributions == 0
    full, previous, year = moved(("2026-10-01", "2026-11-01"))
    assert full.revenue == previous == year == Decimal("100.00")
    # Three spans apart, and a contribution counted by the sums whose span holds its day.
    spans = (("2026-11-02", "2026-11-05"), ("2026-11-01", "2026-11-01"), ("2026-10-01", "2026-11-02"))
    full, previous, year = sums.move(spans, days, buckets)
    assert (full.revenue, previous, year) == (Decimal("70.50"), Decimal("100.00"), Decimal("160.50"))
    delta = (("revenue", money_units(Decimal("0.25"))), ("won", 1))
    buckets["2026-11-02"].apply(delta, -1)
    sums.apply("2026-11-02", delta, -1)
    full, previous, year = sums.move(spans, days, buckets)
    assert (full.revenue, previous, year) == (Decimal("70.25"), Decimal("100.00"), Decimal("160.25"))
    assert full.won == 3


# ------------------------------------------------------------------- the engine, by hand
def _at(local: str) -> datetime:
    """A wall clock given as Asia/Shanghai local time (UTC+8)."""
    return datetime.fromisoformat(local + "+08:00").astimezone(UTC)


def _kpis(engine: ScorecardEngine, scope: str, id: str, label: str) -> dict[str, Any]:
    rendered = engine.render(scope, id, label)
    assert rendered is not None
    return rendered["kpis"]


def test_windows_slide_with_the_clock_and_follow_amendments_and_reassignments() -> None:
    e = ScorecardEngine("Asia/Shanghai")
    for ev in (roster("r1", "t1"), roster("r2", "t2"),
               deal("d1", "r1", "c1", "100.00", closed_at="2026-11-01T10:00:00+08:00"),
               deal("d2", "r1", "c2", "50.00", closed_at="2026-11-20T10:00:00+08:00")):
        e.apply(record_from_event(ev))
    # 25 Nov: R30D is 27 Oct-25 Nov, both deals; the previous window (27 Sep-26 Oct) is empty.
    e.wall_clock = _at("2026-11-25T12:00:00")
    k = _kpis(e, "rep", "r1", "R30D")
    assert (k["revenue"], k["won_deals"], k["growth_prev"]) == ("150.00", 2, None)
    # 1 Dec: R30D is 2 Nov-1 Dec, d1 (1 Nov) has left it for the previous window (3 Oct-1 Nov).
    e.wall_clock = _at("2026-12-01T12:00:00")
    k = _kpis(e, "rep", "r1", "R30D")
    assert (k["revenue"], k["won_deals"], k["growth_prev"]) == ("50.00", 1, -0.5)  # (50 - 100) / 100
    assert _kpis(e, "team", "t1", "R90D")["revenue"] == "150.00"  # 3 Sep-1 Dec holds both
    # An amendment of d2 to 80.00: (80 - 100) / 100.
    e.apply(record_from_event(deal("d2", "r1", "c2", "80.00", version=2, closed_at="2026-11-20T10:00:00+08:00",
                                   occurred_at="2026-11-30T10:00:00+08:00")))
    k = _kpis(e, "rep", "r1", "R30D")
    assert (k["revenue"], k["growth_prev"], k["customers_served"]) == ("80.00", -0.2, 1)
    # A reassignment of d2 to r2 (team t2) moves it out of r1's and t1's windows.
    e.apply(record_from_event(deal("d2", "r2", "c2", "80.00", version=3, closed_at="2026-11-20T10:00:00+08:00",
                                   occurred_at="2026-11-30T11:00:00+08:00")))
    k = _kpis(e, "rep", "r1", "R30D")
    assert (k["revenue"], k["won_deals"], k["customers_served"], k["growth_prev"]) == ("0.00", 0, 0, -1.0)
    assert _kpis(e, "team", "t1", "R90D")["revenue"] == "100.00"
    assert _kpis(e, "team", "t2", "R30D")["revenue"] == "80.00"
    # 25 Nov 2027: the windows are empty; a year earlier (27 Oct-25 Nov 2026) r1 had d1.
    e.wall_clock = _at("2027-11-25T12:00:00")
    k = _kpis(e, "rep", "r1", "R30D")
    assert (k["revenue"], k["won_deals"], k["growth_yoy"]) == ("0.00", 0, -1.0)  # (0 - 100) / 100


# ------------------------------------------------------------------- the engine, randomised
MORE_ACTIVITIES = st.one_of(
    st.builds(lambda rep, at, c: activity(rep, "visit", occurred_at=at, customer_id=c),
              st.sampled_from(REPS), instants, st.sampled_from(CUSTOMERS)),
    st.builds(lambda rep, at, c: activity(rep, "campaign", occurred_at=at, campaign_id=c),
              st.sampled_from(REPS), instants, st.sampled_from(["camp1", "camp2"])),
    st.builds(lambda rep, at, m: activity(rep, "training", occurred_at=at, duration_minutes=m),
              st.sampled_from(REPS), instants, st.integers(0, 120)),
    st.builds(lambda rep, at, s: activity(rep, "survey", occurred_at=at, score=s),
              st.sampled_from(REPS), instants, st.integers(1, 5)),
)
#: The first wall clock: after every instant of the histories, at a local midnight (16:00Z).
WALL_START = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


@st.composite
def timelines(draw: st.DrawFn) -> list[tuple[list[dict[str, Any]], datetime | None]]:
    """Chunks of delivered events, each followed by the clock then: the event-time clock
    (None) first, then a wall clock moving forward by none, one or a few days, or by
    more than a window (a rebuild), sometimes to one second before local midnight."""
    _, delivered = draw(histories())
    delivered = draw(st.permutations(delivered + draw(st.lists(MORE_ACTIVITIES, max_size=6))))
    cuts = sorted(draw(st.lists(st.integers(0, len(delivered)), min_size=1, max_size=6)))
    chunks = [delivered[a:b] for a, b in zip([0, *cuts], [*cuts, len(delivered)], strict=True)]
    event_clock = draw(st.integers(0, len(chunks) - 1))
    clock, out = WALL_START, []
    for i, chunk in enumerate(chunks):
        if i < event_clock:
            out.append((chunk, None))
            continue
        clock += timedelta(days=draw(st.sampled_from([0, 1, 1, 2, 3, 29, 30, 31, 89, 90, 91, 200, 365])))
        out.append((chunk, clock - timedelta(seconds=draw(st.sampled_from([0, 0, 1])))))
    return out


def _days_in(engine: ScorecardEngine, scope: str, id: str, period: Period) -> list[Bucket]:
    """The scope's day buckets inside ``period``, found by scanning every bucket."""
    out = []
    for (s, i, label), bucket in sorted(engine.buckets.items()):
        if (s, i) == (scope, id) and len(label) == 10 and period.contains(engine.calendar.parse(label).start):
            out.append(bucket)
    return out


def _check_windows(engine: ScorecardEngine, fresh: ScorecardEngine) -> None:
    cal = engine.calendar
    for (scope, id), labels in list(engine.known.items()):
        if not labels:
            continue
        for label in TRAILING_DAYS:
            computed = engine.inputs(scope, id, label)
            assert computed is not None
            period, inputs, _ = computed
            expected = Bucket.merged(_days_in(engine, scope, id, period))
            assert state(inputs.bucket) == state(expected), (scope, id, label)
            for got, window in ((inputs.prev_revenue, cal.previous(period)), (inputs.yoy_revenue,
                                                                                cal.year_earlier(period))):
                assert got == sum((b.revenue for b in _days_in(engine, scope, id, window)), Decimal(0))
            assert engine.render(scope, id, label) == fresh.render(scope, id, label), (scope, id, label)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timelines())
def test_running_windows_equal_fresh_sums_of_day_buckets(timeline: list[tuple[list[dict[str, Any]],
                                                                             datetime | None]]) -> None:
    """Sums made at one clock and kept through later contributions (amendments,
    reassignments, reversals, roster moves: retractions) and clock moves equal a fresh
    merge of the day buckets, and render as an engine that never rendered before."""
    engine = ScorecardEngine("Asia/Shanghai")
    applied: list[dict[str, Any]] = []
    for chunk, clock in timeline:
        for ev in chunk:
            engine.apply(record_from_event(ev))
        applied.extend(chunk)
        engine.wall_clock = clock
        fresh = ScorecardEngine("Asia/Shanghai")
        for ev in applied:
            fresh.apply(record_from_event(ev))
        fresh.wall_clock = clock
        _check_windows(engine, fresh)
