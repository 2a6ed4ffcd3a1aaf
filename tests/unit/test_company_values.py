"""Property: an org engine beside a team stage that takes what activities and complaints
add to the company from the team partitions' values (``ORG_BESIDE_TEAM_VALUES``,
``ScorecardEngine.apply_team_value``) renders every company scorecard, and marks every one
that moved, as the whole engine does. Over ``team_histories`` with every kind of activity
(transfers and late roster entries, reassigned deals, shared customers, complaints,
closes, duplicates, any delivery order), with the values sent after each message, a team
partition's values of one message lost and every value sent again by its rebuild, and the
org engine rebuilt from its facts and the values it holds (docs/architecture.md, "What
each piece would take off the org stage")."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales_scorecard.core.aggregates import Bucket
from sales_scorecard.core.engine import ORG_BESIDE_TEAM_VALUES, WHOLE, ScorecardEngine, team_partition
from sales_scorecard.core.roster import UNASSIGNED
from sales_scorecard.core.team_values import CompanyValues, Epoch, Marker, value_rows
from sales_scorecard.streams.aggregation import apply_fact
from tests.factories import activity, complaint, deal, roster
from tests.unit.test_engine_properties import CUSTOMERS, FIXED_CLOCK, INSTANTS, REPS
from tests.unit.test_team_partitions import PARTITIONS, TeamSplit, _owner, team_histories

ScorecardKey = tuple[str, str, str]
#: the clock a rebuilt partition's complete row carries (the engines render on ``FIXED_CLOCK``)
CLOCK = "2026-11-30T00:00:00.000Z"


def _engine(role: Any) -> ScorecardEngine:
    engine = ScorecardEngine("Asia/Shanghai", role=role)
    engine.wall_clock = FIXED_CLOCK
    return engine


class ValuesSplit(TeamSplit):
    """``TeamSplit`` whose team partitions note what their values need."""

    sends_values = True


class CompanyFromValues:
    """The whole engine and the team partitions of ``TeamSplit``, and an org engine fed
    every fact and, after each message, each team partition's values of the days that moved
    (``core.team_values.value_rows``, through JSON), which the company takes as the org
    stage does (``CompanyValues``)."""

    def __init__(self) -> None:
        self.split = ValuesSplit()
        self.org = _engine(ORG_BESIDE_TEAM_VALUES)
        #: the org stage's table of the values it holds
        self.table: dict[str, Any] = {}
        self.values = CompanyValues(self.table, PARTITIONS, _owner)
        #: each partition's epoch: a rebuild starts the next
        self.epochs: list[Epoch] = [(0, 1)] * PARTITIONS
        #: the rows of values lost on their way (a crashed worker's, late)
        self.lost: list[list[dict[str, Any]]] = []
        #: every fact fed, in order
        self.facts: list[dict[str, Any]] = []

    def feed(self, event: dict[str, Any], lose_values_of: int | None = None) -> None:
        """Apply ``event`` everywhere and send the values it moved (except those of partition
        ``lose_values_of``, lost)."""
        self.facts.append(event)
        apply_fact(self.org, event)
        self.split.feed(event)
        for partition, engine in enumerate(self.split.engines):
            rows = value_rows(engine, partition, self.epochs[partition], every=False, marker=None)
            if partition == lose_values_of:
                self.lost.append(rows)
            else:
                self.deliver(rows)

    def deliver(self, rows: list[dict[str, Any]]) -> None:
        """The org stage takes a message of values."""
        self.values.take(orjson.loads(orjson.dumps(rows)), self.org)

    def rebuild_partition(self, partition: int) -> None:
        """A team partition's rebuild starts an epoch: it sends the value and contacts of
        every day its teams hold, then a complete row (the org stage drops the days of the
        partition's teams it holds and no longer hears of)."""
        generation, _ = self.epochs[partition]
        self.epochs[partition] = epoch = (generation + 1, 0)  # a rebalance's generation
        engine = self.split.engines[partition]
        marker = Marker(CLOCK, tuple(sorted(engine.closed_months)))
        self.deliver(value_rows(engine, partition, epoch, every=True, marker=marker))

    def held(self, team: str, day: str) -> Bucket | None:
        """The value the org stage holds of a team's day."""
        row = self.table.get(f"value:{day}:{team}")
        return Bucket.from_value_json(row["value"]) if row is not None and row["value"] is not None else None

    def rebuilt_org(self, delivered: list[dict[str, Any]]) -> ScorecardEngine:
        """An org engine rebuilt from the facts and the values held."""
        org = _engine(ORG_BESIDE_TEAM_VALUES)
        for event in delivered:
            apply_fact(org, event)
        CompanyValues(self.table, PARTITIONS, _owner).load(org)
        return org


@st.composite
def value_histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """``team_histories`` with visits, emails, campaigns, training and surveys among the
    deliveries: every field a team's value carries."""
    delivered = draw(team_histories())
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["visit", "email", "campaign", "training", "survey"]))
        event = activity(draw(st.sampled_from(REPS)), kind, occurred_at=draw(st.sampled_from(INSTANTS)),
                         customer_id=draw(st.sampled_from(CUSTOMERS)) if kind in ("visit", "email") else None,
                         duration_minutes=draw(st.integers(0, 90)) if kind == "training" else None,
                         score=draw(st.integers(1, 5)) if kind == "survey" else None,
                         campaign_id=draw(st.sampled_from(["cmp1", "cmp2"])) if kind == "campaign" else None)
        delivered.insert(draw(st.integers(0, len(delivered))), event)
    return delivered


def _org_keys(engine: ScorecardEngine) -> set[ScorecardKey]:
    """The keys an org engine beside a team stage publishes: the company's and ``unassigned``'s."""
    return {k for k in engine.all_keys() if k[0] == "company" or (k[0] == "team" and k[1] == UNASSIGNED)}


def _assert_company_renders_alike(org: ScorecardEngine, whole: ScorecardEngine) -> None:
    keys = _org_keys(whole)
    assert _org_keys(org) == keys
    for key in sorted(keys):
        assert org.render(*key) == whole.render(*key), key


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value_histories(), st.integers(0, 10_000), st.integers(0, 10_000), st.integers(1, 8),
       st.integers(0, PARTITIONS - 1))
def test_the_company_from_the_team_partitions_values_renders_and_marks_what_the_whole_engine_does(
        delivered: list[dict[str, Any]], cut: int, lost: int, span: int, crashed: int) -> None:
    split = CompanyFromValues()
    cut, lost = cut % (len(delivered) + 1), lost % (len(delivered) + 1)
    published: dict[ScorecardKey, Any] = {}
    for i, event in enumerate([*delivered, None]):
        if i == cut:  # a flush of the org engine: what exists is published, the marks taken
            split.org.take_dirty()
            published = {k: split.org.render(*k) for k in _org_keys(split.org)}
        # a team partition's worker dies: the values of its last ``span`` messages are lost ...
        if event is not None:
            split.feed(event, lose_values_of=crashed if lost <= i < lost + span else None)
        if i == min(lost + span, len(delivered)) - 1 or i == len(delivered) and lost == len(delivered):
            split.rebuild_partition(crashed)  # ... and its successor's rebuild sends every value
    for rows in split.lost:  # the lost values arrive after all, late: they change nothing
        split.deliver(rows)
    keys = published.keys() | _org_keys(split.org)
    moved = {k for k in keys if split.org.render(*k) != published.get(k)}
    assert moved <= set(split.org.take_dirty())
    whole = split.split.whole
    _assert_company_renders_alike(split.org, whole)
    _assert_company_renders_alike(split.rebuilt_org(delivered), whole)
    assert not any(scope == "company" for engine in split.split.engines for scope, _ in engine.buckets.scopes)


def test_a_late_roster_entry_moves_a_days_activities_to_another_team_and_the_company_keeps_them_once() -> None:
    # r1's calls are first credited to t1; an entry effective earlier moves them to t2: t1's
    # value of the day goes to nothing, t2's takes them, the company counts each call once.
    split = CompanyFromValues()
    for event in [roster("r1", "t1", effective_at="2026-11-01T00:00:00+08:00"),
                  activity("r1", "call", occurred_at="2026-11-20T09:30:00+08:00", customer_id="c1"),
                  activity("r1", "call", occurred_at="2026-11-20T10:30:00+08:00", customer_id="c1"),
                  complaint("k1", "r1", "c1", opened_at="2026-11-20T11:00:00+08:00"),
                  roster("r1", "t2", effective_at="2026-11-15T00:00:00+08:00")]:
        split.feed(event)
    assert split.held("t1", "2026-11-20") is None
    moved = split.held("t2", "2026-11-20")
    assert moved is not None and dict(moved.activities) == {"call": 2} and moved.complaints == 1
    company = split.org.render("company", "*", "2026-11")
    assert company is not None and company == split.split.whole.render("company", "*", "2026-11")
    assert company["kpis"]["activities"]["call"] == 2


def test_without_the_values_the_org_engine_counts_no_team_partitions_activity() -> None:
    # The org engine applies no activity of a team partition's team to the company: withhold
    # the values and the company's month shows none of r1's calls (the test above is not
    # passing by the org engine counting them itself).
    org = _engine(ORG_BESIDE_TEAM_VALUES)
    for event in [roster("r1", "t1", effective_at="2026-11-01T00:00:00+08:00"),
                  activity("r1", "call", occurred_at="2026-11-20T09:30:00+08:00", customer_id="c1")]:
        apply_fact(org, event)
    whole = _engine(WHOLE)
    for event in [roster("r1", "t1", effective_at="2026-11-01T00:00:00+08:00"),
                  activity("r1", "call", occurred_at="2026-11-20T09:30:00+08:00", customer_id="c1")]:
        apply_fact(whole, event)
    assert whole.render("company", "*", "2026-11")["kpis"]["activities"]["call"] == 1  # type: ignore[index]
    rendered = org.render("company", "*", "2026-11")
    assert rendered is None or rendered["kpis"]["activities"]["call"] == 0
    team_engine = _engine(team_partition(lambda team: True, sends_values=True))
    for event in [roster("r1", "t1", effective_at="2026-11-01T00:00:00+08:00"),
                  activity("r1", "call", occurred_at="2026-11-20T09:30:00+08:00", customer_id="c1")]:
        apply_fact(team_engine, event)
    assert team_engine.take_team_days() == {("t1", "2026-11-20"): {"c1"}}
    org.apply_team_value("2026-11-20", None, team_engine.team_value("t1", "2026-11-20"), {"c1": 1})
    assert org.render("company", "*", "2026-11") == whole.render("company", "*", "2026-11")


def test_a_complaint_moved_to_another_month_takes_the_companys_month_with_it() -> None:
    # The company's November holds only r1's complaint, through t1's value; the complaint's
    # next version opened in October empties t1's November day, and the company's November
    # stops existing, as in the whole engine.
    split = CompanyFromValues()
    split.feed(roster("r1", "t1", effective_at="2026-09-01T00:00:00+08:00"))
    split.feed(complaint("k1", "r1", "c1", opened_at="2026-11-05T09:00:00+08:00"))
    assert ("company", "*", "2026-11") in split.org.all_keys()
    split.feed(complaint("k1", "r1", "c1", opened_at="2026-10-05T09:00:00+08:00", version=2))
    whole = split.split.whole
    assert ("company", "*", "2026-11") not in whole.all_keys()
    _assert_company_renders_alike(split.org, whole)
    assert ("company", "*", "2026-11") in split.org.vanished


def test_contacts_from_the_values_move_the_companys_kept_coverage() -> None:
    # A book of 70 customers won by r1 (t1) in October: the company keeps its covered
    # customers (``core.book_counts.KEEP_COVERED_FROM``) from the first November render on.
    # Two calls to one of them, through t1's value, cover it: the kept count moves.
    split = CompanyFromValues()
    split.feed(roster("r1", "t1", effective_at="2026-09-01T00:00:00+08:00"))
    for i in range(70):
        split.feed(deal(f"d{i}", "r1", f"c{i}", "100.00", closed_at="2026-10-10T10:00:00+08:00"))
    split.feed(activity("r1", "call", occurred_at="2026-11-03T09:00:00+08:00", customer_id="c9"))
    whole = split.split.whole
    assert split.org.render("company", "*", "2026-11") == whole.render("company", "*", "2026-11")
    for hour in ("10", "11"):
        split.feed(activity("r1", "call", occurred_at=f"2026-11-04T{hour}:00:00+08:00", customer_id="c1"))
    company = split.org.render("company", "*", "2026-11")
    assert company is not None and company == whole.render("company", "*", "2026-11")
    assert str(company["kpis"]["contact_coverage"]) == "0.0143"  # 1 of 70


def test_a_team_partition_that_sends_no_values_notes_nothing_for_them() -> None:
    # The team stage's engines today send the company nothing: they keep no growing record
    # of the days and contacts their facts moved.
    engine = _engine(team_partition(lambda team: True))
    for event in [roster("r1", "t1", effective_at="2026-11-01T00:00:00+08:00"),
                  activity("r1", "call", occurred_at="2026-11-20T09:30:00+08:00", customer_id="c1")]:
        apply_fact(engine, event)
    with pytest.raises(ValueError, match="sends team values"):
        engine.take_team_days()


def test_a_rebuilt_partitions_values_retract_what_its_lost_ones_would_have_and_a_late_old_one_is_ignored() -> None:
    # r1's calls move from t1 to t2 (a late roster entry) while t1's partition's values are
    # lost: t1's 21 November empties (only the rebuild's complete row retracts it), and its
    # 20 November loses r1's contact with c1 (only the rebuild's whole contacts do). The lost
    # values, delivered after a later call of r2 moved t1's 20 November again, change nothing.
    split = CompanyFromValues()
    for event in [roster("r1", "t1", effective_at="2026-10-01T00:00:00+08:00"),
                  roster("r2", "t1", effective_at="2026-10-01T00:00:00+08:00"),
                  activity("r1", "call", occurred_at="2026-11-20T09:30:00+08:00", customer_id="c1", effective=True),
                  activity("r1", "call", occurred_at="2026-11-21T09:30:00+08:00", customer_id="c1", effective=True),
                  activity("r2", "call", occurred_at="2026-11-20T10:30:00+08:00", customer_id="c2", effective=True)]:
        split.feed(event)
    t1 = _owner("t1")
    split.feed(roster("r1", "t2", effective_at="2026-11-01T00:00:00+08:00"), lose_values_of=t1)
    assert split.held("t1", "2026-11-21") is not None  # its retraction was lost
    split.rebuild_partition(t1)
    assert split.held("t1", "2026-11-21") is None
    split.feed(activity("r2", "call", occurred_at="2026-11-20T11:30:00+08:00", customer_id="c2", effective=True))
    for rows in split.lost:
        split.deliver(rows)
    whole = split.split.whole
    _assert_company_renders_alike(split.org, whole)
    company = split.org.render("company", "*", "2026-11")
    assert company is not None and company["kpis"]["activities"]["call"] == 4
    _assert_company_renders_alike(split.rebuilt_org(split.facts), whole)
