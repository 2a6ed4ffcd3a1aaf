"""Property: team-partition engines whose teams' activities and complaints come from the
rep partitions' values (``team_partition(from_rep_values=True)``,
``ScorecardEngine.apply_team_value`` with ``team``) render every team scorecard, and mark
every one that moved, as the whole engine does. Each rep partition's engine
(``rep_partition(sends_values=True)``) keeps the team days of its own reps' activities and
complaints, attributed by the roster entries it is sent; after each message it hands out
the (team, day) that moved with the contacts that moved, and the team partition of the
team replaces what it held of that (rep partition, team, day). Over ``value_histories``
(transfers and late roster entries, reassigned deals and complaints, shared customers,
every kind of activity, closes, duplicates, any delivery order) and a crash that loses one
message's sends before the message comes again. The engine's part of the design in
docs/architecture.md, "Next: activities past the org stage"."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales_scorecard.core.aggregates import Bucket
from sales_scorecard.core.engine import Outcome, ScorecardEngine, rep_partition, team_partition
from sales_scorecard.core.roster import UNASSIGNED
from sales_scorecard.schemas.fact_types import FACT_TYPES
from sales_scorecard.streams.aggregation import apply_fact
from sales_scorecard.streams.fact_routes import Fact, partition_of
from sales_scorecard.streams.org_stage import split_fact
from tests.factories import activity, complaint, roster
from tests.unit.test_company_values import value_histories
from tests.unit.test_team_partitions import PARTITIONS, TeamSplit, _assert_teams_render_alike, _owner, _team_marks

ScorecardKey = tuple[str, str, str]
#: (rep partition, team, local day)
ValueKey = tuple[int, str, str]


def _wire(value: Bucket | None) -> Bucket | None:
    """A value as a team partition reads it off the wire (``Bucket.value_json``)."""
    return Bucket.from_value_json(orjson.loads(orjson.dumps(value.value_json()))) if value is not None else None


class RepValuesSplit(TeamSplit):
    """``TeamSplit`` with rep-partition engines beside the team partitions' (sent what the
    org stage routes to the rep stage), and team partitions that take their activities and
    complaints from the rep partitions' values."""

    def __init__(self) -> None:
        super().__init__()
        self.engines = [self._engine(team_partition(lambda t, p=p: _owner(t) == p, share=PARTITIONS,
                                                    from_rep_values=True))
                        for p in range(PARTITIONS)]
        self.reps = [self._engine(rep_partition(lambda r, p=p: partition_of(r, PARTITIONS) == p, share=PARTITIONS,
                                                sends_values=True))
                     for p in range(PARTITIONS)]
        #: what each team partition holds of each (rep partition, team, day): value, contacts
        self.held: dict[ValueKey, tuple[Bucket | None, dict[str, int]]] = {}

    def feed(self, event: dict[str, Any], lose_sends: bool = False) -> None:
        key = FACT_TYPES[event["type"]].fact_key(event)
        outcome = apply_fact(self.whole, event)
        to_team: dict[int, list[Fact]] = {}
        to_rep: dict[int, list[Fact]] = {}
        if outcome is Outcome.APPLIED:
            value = self.routes.annotate(self.customers.annotate(event, self.store.get(key)))
            self.store[key] = value
            self.routes.route(value, to_team, self._won_deals, self._facts_of_rep)
            self.customers.route(value, to_rep, self._won_deals)
        else:
            stored = self.store.get(key) or event
            self.routes.route(stored, to_team, self._won_deals, self._facts_of_rep, repeated=True)
            self.customers.route(stored, to_rep, self._won_deals, repeated=True)
        for rep in sorted(self.whole.take_split_reps()):
            self.routes.route(split_fact(self.whole, rep), to_team, self._won_deals, self._facts_of_rep)
            self.customers.route(split_fact(self.whole, rep), to_rep, self._won_deals)
        if lose_sends:
            return
        for partition, facts in to_team.items():
            for fact in facts:
                apply_fact(self.engines[partition], fact)
        for partition, facts in to_rep.items():
            for fact in facts:
                apply_fact(self.reps[partition], fact)
        self.send_values()

    def rebuilt(self) -> None:
        """``TeamSplit.rebuilt``, the rep partitions sent every rep's split shares too."""
        super().rebuilt()
        teams = self.whole.targets.ids("team")
        for rep_id in sorted(self.whole.roster.reps):
            if self.whole.roster.teams_ever(rep_id) & teams:
                apply_fact(self.reps[partition_of(rep_id, PARTITIONS)], split_fact(self.whole, rep_id))

    def send_values(self) -> None:
        """Each rep partition's values of the (team, day) that moved, taken by the team
        partition of the team (``unassigned``'s would go to the org stage)."""
        for partition, rep_engine in enumerate(self.reps):
            for (team, day), customers in sorted(rep_engine.take_team_days().items()):
                if team == UNASSIGNED:
                    continue
                key = (partition, team, day)
                old, held_contacts = self.held.get(key, (None, {}))
                new = _wire(rep_engine.team_value(team, day))
                contacts = dict(held_contacts)
                moves: dict[str, int] = {}
                for customer in customers:
                    n = rep_engine.team_contacts(team, day, customer)
                    if n != contacts.get(customer, 0):
                        moves[customer] = n - contacts.get(customer, 0)
                    if n:
                        contacts[customer] = n
                    else:
                        contacts.pop(customer, None)
                self.engines[_owner(team)].apply_team_value(day, old, new, moves, team=team)
                self.held[key] = (new, contacts)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value_histories(), st.integers(0, 10_000), st.integers(0, 10_000))
def test_team_partitions_from_the_rep_partitions_values_render_and_mark_what_the_whole_engine_does(
        delivered: list[dict[str, Any]], cut: int, crash: int) -> None:
    split = RepValuesSplit()
    cut, crash = cut % (len(delivered) + 1), crash % (len(delivered) + 1)
    published: list[dict[ScorecardKey, Any]] = [{} for _ in split.engines]
    for i, event in enumerate([*delivered, None]):
        if i == cut:  # a flush: what exists is published, the marks so far are taken
            for partition, engine in enumerate(split.engines):
                engine.take_dirty()
                published[partition] = {k: engine.render(*k) for k in _team_marks(engine.all_keys())}
        if event is not None:
            split.feed(event, lose_sends=i == crash)
    split.rebuilt()
    for event in delivered[crash:]:  # the crashed message and every later one come again
        split.feed(event)
    for partition, engine in enumerate(split.engines):
        keys = published[partition].keys() | _team_marks(engine.all_keys())
        moved = {k for k in keys if engine.render(*k) != published[partition].get(k)}
        assert moved <= set(engine.take_dirty()), partition
    _assert_teams_render_alike(split)
    # a rep partition keeps its reps' team days for the values, and never publishes a team;
    # its reps' own figures are the whole engine's
    for partition, engine in enumerate(split.reps):
        assert not any(key[0] == "team" for key in engine.take_dirty())
        for key in split.whole.all_keys():
            if key[0] == "rep" and partition_of(key[1], PARTITIONS) == partition:
                assert engine.render(*key) == split.whole.render(*key), key


def test_a_late_roster_entry_moves_a_reps_days_from_one_teams_values_to_the_others() -> None:
    # r1's calls and complaint are first credited to t1; an entry effective earlier moves
    # them to t2. The rep partition's value of t1's day goes to nothing, t2's takes them:
    # the team partitions' figures follow, with no activity sent to either of them.
    split = RepValuesSplit()
    for event in [roster("r1", "t1", effective_at="2026-11-01T00:00:00+08:00"),
                  roster("r2", "t2", effective_at="2026-11-01T00:00:00+08:00"),
                  activity("r1", "visit", occurred_at="2026-11-20T09:30:00+08:00", customer_id="c1", effective=True),
                  activity("r1", "visit", occurred_at="2026-11-20T10:30:00+08:00", customer_id="c1", effective=True),
                  complaint("k1", "r1", "c1", opened_at="2026-11-20T11:00:00+08:00")]:
        split.feed(event)
    p = partition_of("r1", PARTITIONS)
    held = split.held[(p, "t1", "2026-11-20")]
    assert held[0] is not None and dict(held[0].activities) == {"visit": 2} and held[1] == {"c1": 2}
    split.feed(roster("r1", "t2", effective_at="2026-11-15T00:00:00+08:00"))
    assert split.held[(p, "t1", "2026-11-20")] == (None, {})
    moved = split.held[(p, "t2", "2026-11-20")][0]
    assert moved is not None and dict(moved.activities) == {"visit": 2} and moved.complaints == 1
    _assert_teams_render_alike(split)
    t2 = split.engines[_owner("t2")].render("team", "t2", "2026-11")
    assert t2 is not None and t2["kpis"]["activities"]["visit"] == 2 and t2["kpis"]["complaints"] == 1


def test_without_the_values_a_team_partition_counts_none_of_its_teams_activities() -> None:
    # The team partition applies no activity or complaint of its own teams: the figures
    # above come from the values, not from the facts it is still sent.
    team_engine = ScorecardEngine("Asia/Shanghai", role=team_partition(lambda team: True, from_rep_values=True))
    for event in [roster("r1", "t1", effective_at="2026-11-01T00:00:00+08:00"),
                  activity("r1", "call", occurred_at="2026-11-20T09:30:00+08:00", customer_id="c1"),
                  complaint("k1", "r1", "c1", opened_at="2026-11-20T11:00:00+08:00")]:
        apply_fact(team_engine, event)
    rendered = team_engine.render("team", "t1", "2026-11")
    assert rendered is None or (rendered["kpis"]["activities"]["call"] == 0 and rendered["kpis"]["complaints"] == 0)
