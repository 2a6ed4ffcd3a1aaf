"""Property: team-partition engines whose teams' activities and complaints come from the
rep partitions' values (``team_partition(from_rep_values=True)``,
``ScorecardEngine.apply_team_value`` with ``team``) render every team scorecard, and mark
every one that moved, as the whole engine does. Each rep partition's engine
(``rep_partition(sends_values=True)``) keeps the team days of its own reps' activities and
complaints, attributed by the roster entries it is sent; after each message its values
(``core.team_values.value_rows``, through JSON) go to the team partitions of their teams,
which hold them per sending partition (``TeamValuesFromReps``). Over ``value_histories``
(transfers and late roster entries, reassigned deals and complaints, shared customers,
every kind of activity, closes, duplicates, any delivery order), with a crash that loses
one message's sends before the message comes again, and one rep partition's values lost
for up to eight messages, its rebuild starting an epoch, the lost values arriving late.
The engine's and the protocol's part of the design in docs/architecture.md, "Next:
activities past the org stage"."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales_scorecard.core.engine import Outcome, ScorecardEngine, rep_partition, team_partition
from sales_scorecard.core.roster import UNASSIGNED
from sales_scorecard.core.team_values import Epoch, Marker, TeamValuesFromReps, value_rows
from sales_scorecard.schemas.fact_types import FACT_TYPES
from sales_scorecard.streams.aggregation import apply_fact
from sales_scorecard.streams.fact_routes import Fact, partition_of
from sales_scorecard.streams.org_stage import split_fact
from tests.factories import activity, complaint, deal, roster
from tests.unit.test_company_values import CLOCK, value_histories
from tests.unit.test_team_partitions import PARTITIONS, TeamSplit, _assert_teams_render_alike, _owner, _team_marks

ScorecardKey = tuple[str, str, str]


class RepValuesSplit(TeamSplit):
    """``TeamSplit`` with rep-partition engines beside the team partitions' (sent what the
    org stage routes to the rep stage), and team partitions that take their activities and
    complaints from the rep partitions' values as the stages would: ``value_rows`` through
    JSON, each team partition sent the rows of its teams and every complete row, taken by
    its ``TeamValuesFromReps``."""

    def __init__(self) -> None:
        super().__init__()
        self.engines = [self._engine(team_partition(lambda t, p=p: _owner(t) == p, share=PARTITIONS,
                                                    from_rep_values=True))
                        for p in range(PARTITIONS)]
        self.reps = [self._engine(rep_partition(lambda r, p=p: partition_of(r, PARTITIONS) == p, share=PARTITIONS,
                                                sends_values=True))
                     for p in range(PARTITIONS)]
        #: each team partition's table of the values it holds
        self.tables: list[dict[str, Any]] = [{} for _ in range(PARTITIONS)]
        self.values = [TeamValuesFromReps(table, PARTITIONS) for table in self.tables]
        #: each rep partition's epoch: a rebuild starts the next
        self.epochs: list[Epoch] = [(0, 1)] * PARTITIONS
        #: the rows of values lost on their way (a crashed worker's), per team partition
        self.lost: list[tuple[int, list[dict[str, Any]]]] = []
        #: every fact each team partition applied, in order (its rebuild applies them again)
        self.team_facts: list[list[Fact]] = [[] for _ in range(PARTITIONS)]

    def to_team(self, partition: int, fact: Fact) -> None:
        apply_fact(self.engines[partition], fact)
        self.team_facts[partition].append(fact)

    def rebuilt_team_partition(self, partition: int) -> ScorecardEngine:
        """A team partition's engine rebuilt from its facts and the values it holds."""
        engine = self._engine(team_partition(lambda t: _owner(t) == partition, share=PARTITIONS,
                                             from_rep_values=True))
        for fact in self.team_facts[partition]:
            apply_fact(engine, fact)
        TeamValuesFromReps(self.tables[partition], PARTITIONS).load(engine)
        return engine

    def feed(self, event: dict[str, Any], lose_sends: bool = False, lose_values_of: int | None = None) -> None:
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
                self.to_team(partition, fact)
        for partition, facts in to_rep.items():
            for fact in facts:
                apply_fact(self.reps[partition], fact)
        for partition, engine in enumerate(self.reps):
            self.send(value_rows(engine, partition, self.epochs[partition], every=False, marker=None),
                      lost=partition == lose_values_of)

    def rebuilt(self) -> None:
        """``TeamSplit.rebuilt``, the rep partitions sent every rep's split shares too."""
        to_team: dict[int, list[Fact]] = {}
        teams = self.whole.targets.ids("team")
        for rep_id in sorted(self.whole.roster.reps):
            if self.whole.roster.teams_ever(rep_id) & teams:
                self.routes.route(split_fact(self.whole, rep_id), to_team, self._won_deals, self._facts_of_rep)
                apply_fact(self.reps[partition_of(rep_id, PARTITIONS)], split_fact(self.whole, rep_id))
        for partition, facts in to_team.items():
            for fact in facts:
                self.to_team(partition, fact)

    def rebuild_rep_partition(self, partition: int) -> None:
        """A rep partition's rebuild starts an epoch: every value it holds, then a complete row."""
        generation, _ = self.epochs[partition]
        self.epochs[partition] = epoch = (generation + 1, 0)
        engine = self.reps[partition]
        self.send(value_rows(engine, partition, epoch, every=True,
                             marker=Marker(CLOCK, tuple(sorted(engine.closed_months)))))

    def send(self, rows: list[dict[str, Any]], lost: bool = False) -> None:
        """A rep partition's rows to the team partitions: each the rows of its teams and every
        row without a team (complete, marker); ``unassigned``'s would go to the org stage."""
        by_partition: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            if "team" not in row:
                for partition in range(PARTITIONS):
                    by_partition.setdefault(partition, []).append(row)
            elif row["team"] != UNASSIGNED:
                by_partition.setdefault(_owner(row["team"]), []).append(row)
        for partition, sent in sorted(by_partition.items()):
            if lost:
                self.lost.append((partition, sent))
            else:
                self.deliver(partition, sent)

    def deliver(self, partition: int, rows: list[dict[str, Any]]) -> None:
        self.values[partition].take(orjson.loads(orjson.dumps(rows)), self.engines[partition])

    def held(self, source: int, team: str, day: str) -> dict[str, Any] | None:
        """What the team's partition holds of a rep partition's value of the team's day."""
        return self.tables[_owner(team)].get(f"value:{source}:{day}:{team}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value_histories(), st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000),
       st.integers(1, 8), st.integers(0, PARTITIONS - 1))
def test_team_partitions_from_the_rep_partitions_values_render_and_mark_what_the_whole_engine_does(
        delivered: list[dict[str, Any]], cut: int, crash: int, lost: int, span: int, crashed: int) -> None:
    split = RepValuesSplit()
    n = len(delivered)
    cut, crash, lost = cut % (n + 1), crash % (n + 1), lost % (n + 1)
    published: list[dict[ScorecardKey, Any]] = [{} for _ in split.engines]
    for i, event in enumerate([*delivered, None]):
        if i == cut:  # a flush: what exists is published, the marks so far are taken
            for partition, engine in enumerate(split.engines):
                engine.take_dirty()
                published[partition] = {k: engine.render(*k) for k in _team_marks(engine.all_keys())}
        if event is not None:
            # a message's sends lost by a crash; a rep partition's values of ``span`` messages lost
            split.feed(event, lose_sends=i == crash, lose_values_of=crashed if lost <= i < lost + span else None)
        if i == min(lost + span, n) - 1 or i == n and lost == n:
            split.rebuild_rep_partition(crashed)  # its successor sends every value again
    split.rebuilt()
    for event in delivered[crash:]:  # the crashed message and every later one come again
        split.feed(event)
    for partition, rows in split.lost:  # the lost values arrive after all, late: they change nothing
        split.deliver(partition, rows)
    for partition, engine in enumerate(split.engines):
        keys = published[partition].keys() | _team_marks(engine.all_keys())
        moved = {k for k in keys if engine.render(*k) != published[partition].get(k)}
        assert moved <= set(engine.take_dirty()), partition
    _assert_teams_render_alike(split)
    # a team partition rebuilt from its facts and the values it holds renders the same
    for partition in range(PARTITIONS):
        rebuilt = split.rebuilt_team_partition(partition)
        for key in split.team_keys():
            if _owner(key[1]) == partition:
                assert rebuilt.render(*key) == split.whole.render(*key), key
    # a rep partition keeps its reps' team days for the values, but no team scorecard; its
    # reps' own figures are the whole engine's
    for partition, engine in enumerate(split.reps):
        assert not any(key[0] == "team" for key in engine.all_keys())
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
    held = split.held(p, "t1", "2026-11-20")
    assert held is not None and held["value"]["activities"] == {"visit": 2} and held["contacts"] == {"c1": 2}
    split.feed(roster("r1", "t2", effective_at="2026-11-15T00:00:00+08:00"))
    emptied = split.held(p, "t1", "2026-11-20")
    assert emptied is not None and (emptied["value"], emptied["contacts"]) == (None, {})
    moved = split.held(p, "t2", "2026-11-20")
    assert moved is not None and moved["value"]["activities"] == {"visit": 2} and moved["value"]["complaints"] == 1
    _assert_teams_render_alike(split)
    t2 = split.engines[_owner("t2")].render("team", "t2", "2026-11")
    assert t2 is not None and t2["kpis"]["activities"]["visit"] == 2 and t2["kpis"]["complaints"] == 1


def test_without_the_values_a_team_partition_counts_none_of_its_teams_activities() -> None:
    # The team partition applies no activity or complaint of its own teams: the figures
    # above come from the values, not from the facts it is still sent.
    team_engine = ScorecardEngine("Asia/Shanghai", role=team_partition(lambda team: True, from_rep_values=True))
    for event in [roster("r1", "t1", effective_at="2026-11-01T00:00:00+08:00"),
                  deal("d1", "r1", "c1", "100.00", closed_at="2026-11-19T09:00:00+08:00"),
                  activity("r1", "call", occurred_at="2026-11-20T09:30:00+08:00", customer_id="c1"),
                  complaint("k1", "r1", "c1", opened_at="2026-11-20T11:00:00+08:00")]:
        apply_fact(team_engine, event)
    rendered = team_engine.render("team", "t1", "2026-11")
    assert rendered is not None and rendered["kpis"]["revenue"] == "100.00"  # the deal: the team's month exists
    assert rendered["kpis"]["activities"]["call"] == 0 and rendered["kpis"]["complaints"] == 0


def test_a_team_partition_that_takes_rep_values_notes_the_days_they_move_for_its_own_values() -> None:
    # One level down composes with the level above: the team days the rep partitions'
    # values move are days of the team partition's own values to the company.
    engine = ScorecardEngine("Asia/Shanghai", role=team_partition(lambda team: True, sends_values=True,
                                                                  from_rep_values=True))
    rep = ScorecardEngine("Asia/Shanghai", role=rep_partition(lambda r: True, sends_values=True))
    for event in [roster("r1", "t1", effective_at="2026-11-01T00:00:00+08:00"),
                  activity("r1", "visit", occurred_at="2026-11-20T09:30:00+08:00", customer_id="c1", effective=True)]:
        apply_fact(engine, event)
        apply_fact(rep, event)
    assert engine.take_team_days() == {}  # its own apply of the visit credits no team
    assert rep.take_team_days() == {("t1", "2026-11-20"): {"c1"}}
    engine.apply_team_value("2026-11-20", None, rep.team_value("t1", "2026-11-20"), {"c1": 1}, team="t1")
    assert engine.take_team_days() == {("t1", "2026-11-20"): {"c1"}}
    assert engine.team_contacts("t1", "2026-11-20", "c1") == 1
