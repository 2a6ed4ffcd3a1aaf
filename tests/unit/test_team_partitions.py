"""Property: team-partition engines (``core.engine.team_partition``), each sent the facts
``streams.team_routes`` routes to it, render every team scorecard of their teams exactly
as the whole engine does, and mark at least what it marks: over random histories with
transfers and late roster entries, reassigned deals, shared customers, split team
targets, reviews, engagement answers, closes, duplicates, any delivery order, and a crash
that loses one message's sends before the message comes again (contract §3, §5, §12)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales_scorecard.core.engine import WHOLE, Outcome, ScorecardEngine, team_partition
from sales_scorecard.core.roster import UNASSIGNED
from sales_scorecard.schemas.fact_types import FACT_TYPES
from sales_scorecard.streams.aggregation import apply_fact
from sales_scorecard.streams.fact_routes import Fact, FactRoutes, partition_of
from sales_scorecard.streams.org_stage import split_fact
from sales_scorecard.streams.team_routes import TEAM_CATCH_UP, TeamRoutes, reps_named
from tests.factories import close_period, deal, engagement, review, roster, target
from tests.unit.test_engine_properties import FIXED_CLOCK, REPS, TEAMS, histories

#: t1, t2 and t3 fall in three different partitions of six
PARTITIONS = 6
ScorecardKey = tuple[str, str, str]


def _owner(team_id: str) -> int:
    return partition_of(team_id, PARTITIONS)


class TeamSplit:
    """The whole engine, the router as the org stage drives it (facts stored with their
    annotations, a duplicate or stale version routing the stored one again, split shares
    routed right behind the fact that moved them) and one engine per team partition, sent
    what was routed to it, in order."""

    #: whether the team partitions note what their values to the company need
    #: (``team_partition(sends_values=...)``, tests/unit/test_company_values.py)
    sends_values = False

    def __init__(self) -> None:
        self.whole = self._engine(WHOLE)
        self.store: dict[str, Fact] = {}
        self.customers = FactRoutes(PARTITIONS)
        self.routes = TeamRoutes(PARTITIONS, self.customers)
        self.engines = [self._engine(team_partition(lambda t, p=p: _owner(t) == p, share=PARTITIONS,
                                                    sends_values=self.sends_values))
                        for p in range(PARTITIONS)]
        #: facts sent to each partition
        self.sent = [0] * PARTITIONS

    @staticmethod
    def _engine(role: Any) -> ScorecardEngine:
        engine = ScorecardEngine("Asia/Shanghai", role=role)
        engine.wall_clock = FIXED_CLOCK
        return engine

    def feed(self, event: dict[str, Any], lose_sends: bool = False) -> None:
        key = FACT_TYPES[event["type"]].fact_key(event)
        outcome = apply_fact(self.whole, event)
        out: dict[int, list[Fact]] = {}
        if outcome is Outcome.APPLIED:
            value = self.routes.annotate(self.customers.annotate(event, self.store.get(key)))
            self.store[key] = value
            self.routes.route(value, out, self._won_deals, self._facts_of_rep)
        else:
            self.routes.route(self.store.get(key) or event, out, self._won_deals, self._facts_of_rep, repeated=True)
        for rep in sorted(self.whole.take_split_reps()):
            self.routes.route(split_fact(self.whole, rep), out, self._won_deals, self._facts_of_rep)
        if lose_sends:
            return
        for partition, facts in out.items():
            for fact in facts:
                apply_fact(self.engines[partition], fact)
                self.sent[partition] += 1

    def rebuilt(self) -> None:
        """What the org stage's rebuild after a crash sends (``OrgStage._loaded``): every rep
        who may have split shares (a member, ever, of a team with a target) all of them
        again, since a crash can lose the shares a message moved and the message read again
        moves none."""
        out: dict[int, list[Fact]] = {}
        teams = self.whole.targets.ids("team")
        for rep_id in sorted(self.whole.roster.reps):
            if self.whole.roster.teams_ever(rep_id) & teams:
                self.routes.route(split_fact(self.whole, rep_id), out, self._won_deals, self._facts_of_rep)
        for partition, facts in out.items():
            for fact in facts:
                apply_fact(self.engines[partition], fact)

    def _won_deals(self, customer: str) -> list[Fact]:
        return [self.store["deal:" + d] for d in self.whole.customer_won_deal_ids(customer)]

    def _facts_of_rep(self, rep_id: str) -> list[Fact]:
        named = [value for value in self.store.values() if rep_id in reps_named(value)]
        return [*named, split_fact(self.whole, rep_id)]

    def settle_clocks(self) -> None:
        """Every partition follows the organisation's event clock (sent with every batch)."""
        if self.whole.as_of is not None:
            for engine in self.engines:
                engine.advance_clock(self.whole.as_of)

    def team_keys(self) -> list[ScorecardKey]:
        return [k for k in self.whole.all_keys() if k[0] == "team" and k[1] != UNASSIGNED]


@st.composite
def team_histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """``histories`` with reviews, engagement answers and closes among the deliveries."""
    _, delivered = draw(histories())
    extra: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 3))):
        extra.append(review(f"rv{i}", draw(st.sampled_from(REPS)), draw(st.sampled_from(REPS)),
                            draw(st.sampled_from(["manager", "self", "peer"])), draw(st.integers(1, 5)),
                            period=draw(st.sampled_from(["2026-10", "2026-11"]))))
    for i in range(draw(st.integers(0, 2))):
        extra.append(engagement(draw(st.sampled_from(TEAMS)), f"resp{i}", draw(st.integers(1, 5))))
    for month in draw(st.lists(st.sampled_from(["2026-09", "2026-10"]), max_size=2, unique=True)):
        extra.append(close_period(month))
    if not extra:
        return delivered
    positions = draw(st.lists(st.integers(0, len(delivered)), min_size=len(extra), max_size=len(extra)))
    out = list(delivered)
    for position, event in sorted(zip(positions, extra, strict=True), key=lambda pair: -pair[0]):
        out.insert(position, event)
    return out


def _assert_teams_render_alike(split: TeamSplit) -> None:
    split.settle_clocks()
    keys = split.team_keys()
    for scope, id, label in keys:
        assert split.engines[_owner(id)].render(scope, id, label) == split.whole.render(scope, id, label), \
            (scope, id, label)
    for partition, engine in enumerate(split.engines):
        held = {k for k in engine.all_keys() if k[0] == "team"}
        assert held == {k for k in keys if _owner(k[1]) == partition}, partition
        assert not any(scope == "company" for scope, _ in engine.buckets.scopes), partition


def _team_marks(keys: list[ScorecardKey]) -> set[ScorecardKey]:
    return {k for k in keys if k[0] == "team" and k[1] != UNASSIGNED}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(team_histories(), st.integers(0, 10_000), st.integers(0, 10_000))
def test_team_partitions_render_and_mark_what_the_whole_engine_does(
        delivered: list[dict[str, Any]], cut: int, crash: int) -> None:
    split = TeamSplit()
    cut = cut % (len(delivered) + 1)
    # a crash at one message: its facts are stored, its sends lost; that message and every
    # later one come again (at-least-once delivery from the committed offset)
    crash = crash % (len(delivered) + 1)
    # what each partition published at the flush (the clock is fixed: renders move only with facts)
    published: list[dict[ScorecardKey, Any]] = [{} for _ in split.engines]
    events: list[dict[str, Any] | None] = [*delivered, None]
    for i, event in enumerate(events):
        if i == cut:  # a flush: what exists is published, the marks so far are taken
            split.whole.take_dirty()
            for partition, engine in enumerate(split.engines):
                engine.take_dirty()
                published[partition] = {k: engine.render(*k) for k in _team_marks(engine.all_keys())}
        if event is not None:
            split.feed(event, lose_sends=i == crash)
    split.rebuilt()  # the crashed worker's successor rebuilds before it reads the message again
    for event in delivered[crash:]:
        split.feed(event)
    for partition, engine in enumerate(split.engines):
        # the next flush renders every key whose scorecard moved since, and withdraws every
        # published key that is gone (the whole engine also marks keys a fact may have
        # moved, and a partition is not sent every such fact)
        keys = published[partition].keys() | _team_marks(engine.all_keys())
        moved = {k for k in keys if engine.render(*k) != published[partition].get(k)}
        assert moved <= set(engine.take_dirty()), partition
    _assert_teams_render_alike(split)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(team_histories())
def test_the_team_routes_rebuilt_from_the_stored_facts_are_the_routes_kept_while_routing(
        delivered: list[dict[str, Any]]) -> None:
    split = TeamSplit()
    for event in delivered:
        split.feed(event)
    customers = FactRoutes(PARTITIONS)
    rebuilt = TeamRoutes(PARTITIONS, customers)
    for value in split.store.values():
        customers.load(value)
        rebuilt.load(value)
    assert {rep: rebuilt.of_rep(rep) for rep in REPS} == {rep: split.routes.of_rep(rep) for rep in REPS}
    assert customers.interest == split.customers.interest


# ---------------------------------------------------------------------- examples
def _teams_apart() -> tuple[str, str]:
    """Two of the test teams in different partitions."""
    assert _owner("t1") != _owner("t2")
    return "t1", "t2"


def test_a_late_transfer_moves_a_reps_month_to_a_team_of_another_partition_with_its_history() -> None:
    # r1 is in t1 from September; deals of October and November; then a roster entry that
    # came late puts r1 in t2 from November 1: November's deal moves to t2, in another
    # partition, which had nothing of r1 before the entry.
    t1, t2 = _teams_apart()
    split = TeamSplit()
    split.feed(roster("r1", t1, effective_at="2026-09-01T00:00:00+08:00", event_id="e-r1-t1"))
    split.feed(deal("d1", "r1", "c1", "300.00", closed_at="2026-10-10T10:00:00+08:00"))
    split.feed(deal("d2", "r1", "c2", "500.00", closed_at="2026-11-10T10:00:00+08:00"))
    assert split.sent[_owner(t2)] == 0
    split.feed(roster("r1", t2, effective_at="2026-11-01T00:00:00+08:00", event_id="e-r1-t2"))
    assert split.store["roster:e-r1-t2"][TEAM_CATCH_UP] == [_owner(t2)]
    _assert_teams_render_alike(split)
    split.settle_clocks()
    november = split.engines[_owner(t2)].render("team", t2, "2026-11")
    october = split.engines[_owner(t1)].render("team", t1, "2026-10")
    assert november is not None and october is not None
    assert november["kpis"]["revenue"] == "500.00"
    assert october["kpis"]["revenue"] == "300.00"
    assert split.engines[_owner(t1)].render("team", t1, "2026-11") is None  # its one deal moved away


def test_a_catch_up_whose_sends_a_crash_lost_is_sent_again_with_the_entry() -> None:
    t1, t2 = _teams_apart()
    split = TeamSplit()
    split.feed(roster("r1", t1, effective_at="2026-09-01T00:00:00+08:00", event_id="e-r1-t1"))
    split.feed(deal("d1", "r1", "c1", "500.00", closed_at="2026-11-10T10:00:00+08:00"))
    moved = roster("r1", t2, effective_at="2026-11-01T00:00:00+08:00", event_id="e-r1-t2")
    split.feed(moved, lose_sends=True)
    assert split.sent[_owner(t2)] == 0
    split.feed(moved)  # the message comes again: a duplicate, routed with its catch-up
    split.settle_clocks()
    november = split.engines[_owner(t2)].render("team", t2, "2026-11")
    assert november is not None and november["kpis"]["revenue"] == "500.00"


def test_the_unassigned_team_and_company_targets_go_to_no_team_partition() -> None:
    split = TeamSplit()
    split.feed(deal("d1", "r1", "c1", "500.00"))  # r1 has no roster entry: unassigned
    assert sum(split.sent) == 0
    assert ("team", UNASSIGNED, "2026-11") in split.whole.all_keys()


def _new_customers(split: TeamSplit, team: str, month: str) -> Any:
    split.settle_clocks()
    whole = split.whole.render("team", team, month)
    mine = split.engines[_owner(team)].render("team", team, month)
    assert mine == whole
    assert mine is not None
    return mine["kpis"]["new_customers"]


def _two_teams_of_two_reps(split: TeamSplit) -> tuple[str, str]:
    t1, t2 = _teams_apart()
    split.feed(roster("r1", t1, effective_at="2026-09-01T00:00:00+08:00", event_id="e-r1"))
    split.feed(roster("r2", t2, effective_at="2026-09-01T00:00:00+08:00", event_id="e-r2"))
    return t1, t2


def test_a_customer_won_before_by_another_team_is_no_new_customer_of_the_second_team() -> None:
    # r2's first deal with c1 brings c1's earlier win (r1's, in t1's partition) along
    split = TeamSplit()
    _, t2 = _two_teams_of_two_reps(split)
    split.feed(deal("d1", "r1", "c1", "300.00", closed_at="2026-10-10T10:00:00+08:00"))
    split.feed(deal("d2", "r2", "c1", "500.00", closed_at="2026-11-10T10:00:00+08:00"))
    assert _new_customers(split, t2, "2026-11") == 0


def test_a_rep_joining_a_team_brings_the_earlier_wins_of_its_customers_along() -> None:
    # r2 wins c1 before any roster entry (no team partition then): the entry's catch-up
    # sends r1's earlier win of c1 too
    t1, t2 = _teams_apart()
    split = TeamSplit()
    split.feed(roster("r1", t1, effective_at="2026-09-01T00:00:00+08:00", event_id="e-r1"))
    split.feed(deal("d1", "r1", "c1", "300.00", closed_at="2026-10-10T10:00:00+08:00"))
    split.feed(deal("d2", "r2", "c1", "500.00", closed_at="2026-11-10T10:00:00+08:00"))
    split.feed(roster("r2", t2, effective_at="2026-09-01T00:00:00+08:00", event_id="e-r2"))
    assert _new_customers(split, t2, "2026-11") == 0


def test_another_teams_win_reversed_makes_the_customer_new_to_the_second_team() -> None:
    split = TeamSplit()
    _, t2 = _two_teams_of_two_reps(split)
    split.feed(deal("d1", "r1", "c1", "300.00", closed_at="2026-10-10T10:00:00+08:00"))
    split.feed(deal("d2", "r2", "c1", "500.00", closed_at="2026-11-10T10:00:00+08:00"))
    split.feed(deal("d1", "r1", "c1", "300.00", stage="reversed", version=2, closed_at="2026-10-20T10:00:00+08:00"))
    assert _new_customers(split, t2, "2026-11") == 1


def test_a_reversal_whose_sends_a_crash_lost_reaches_the_other_team_when_its_message_comes_again() -> None:
    # the reversal's sends are lost; the deal is then opened again (a version replacing one
    # that was not won: not sent to the customer's other teams); the reversal comes again,
    # stale by then, and the stored version goes to every team partition of the customer
    split = TeamSplit()
    _, t2 = _two_teams_of_two_reps(split)
    split.feed(deal("d1", "r1", "c1", "300.00", closed_at="2026-10-10T10:00:00+08:00"))
    split.feed(deal("d2", "r2", "c1", "500.00", closed_at="2026-11-10T10:00:00+08:00"))
    reversal = deal("d1", "r1", "c1", "300.00", stage="reversed", version=2, closed_at="2026-10-20T10:00:00+08:00")
    reopened = deal("d1", "r1", "c1", "300.00", stage="open", version=3)
    split.feed(reversal, lose_sends=True)
    split.feed(reopened)
    split.feed(reversal)
    split.feed(reopened)
    assert _new_customers(split, t2, "2026-11") == 1


def test_a_catch_up_carried_by_a_version_replaced_in_the_message_a_crash_lost_is_sent_again() -> None:
    # One message: r2's first deal with c1 (open: its catch-up owes t2 r1's earlier win of
    # c1), then the deal won. Its sends are lost; the stored version carries no catch-up.
    split = TeamSplit()
    _, t2 = _two_teams_of_two_reps(split)
    split.feed(deal("d1", "r1", "c1", "300.00", closed_at="2026-10-10T10:00:00+08:00"))
    opened = deal("d3", "r2", "c1", "100.00", stage="open", version=1)
    won = deal("d3", "r2", "c1", "500.00", version=2, closed_at="2026-11-10T10:00:00+08:00")
    split.feed(opened, lose_sends=True)
    split.feed(won, lose_sends=True)
    split.feed(opened)  # the message comes again: both versions stale or duplicates
    split.feed(won)
    assert _new_customers(split, t2, "2026-11") == 0


def test_a_review_naming_another_subject_leaves_the_first_subjects_team() -> None:
    split = TeamSplit()
    t1, _ = _two_teams_of_two_reps(split)
    split.feed(deal("d1", "r1", "c1", "300.00", closed_at="2026-11-10T10:00:00+08:00"))
    split.feed(review("rv", "r1", "m", "manager", 4, occurred_at="2026-11-20T10:00:00+08:00"))
    split.feed(review("rv", "r2", "m", "manager", 4, occurred_at="2026-11-21T10:00:00+08:00"))
    split.settle_clocks()
    november = split.engines[_owner(t1)].render("team", t1, "2026-11")
    assert november == split.whole.render("team", t1, "2026-11")
    assert november is not None and november["kpis"]["review_coverage"] == 0.0


def test_a_members_share_of_another_teams_split_target_comes_with_the_catch_up() -> None:
    # r1 is in t1 from December, and t1's fourth quarter is split equally: r1's share is
    # all 9000.00. A late entry puts r1 in t2 from September: t2's November target is the
    # sum over its members at November's end, r1's third of the share, which only the org
    # stage computes and the catch-up brings.
    t1, t2 = _teams_apart()
    split = TeamSplit()
    split.feed(roster("r1", t1, effective_at="2026-12-01T00:00:00+08:00", event_id="e1"))
    split.feed(target("team", t1, "2026-Q4", "9000.00", split="equal"))
    split.feed(deal("d1", "r1", "c1", "300.00", closed_at="2026-11-10T10:00:00+08:00"))
    split.feed(roster("r1", t2, effective_at="2026-09-01T00:00:00+08:00", event_id="e0"))
    split.settle_clocks()
    assert split.whole.revenue_target("team", t2, "2026-11") == Decimal("3000.00")
    assert split.engines[_owner(t2)].revenue_target("team", t2, "2026-11") == Decimal("3000.00")
    _assert_teams_render_alike(split)
