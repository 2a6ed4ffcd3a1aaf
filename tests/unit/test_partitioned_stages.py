"""The org stage and the rep stage partitions together publish exactly what the whole
computation (``AggregationStage``) publishes: every scorecard, payroll event and
leaderboard, over a simulated history with reassignments across partitions, shared
customers, a team transfer, duplicates, closes, reviews and engagement surveys (dict
tables, no Kafka)."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.core.boards import leaderboard
from sales_scorecard.core.bounded_memo import LIMIT
from sales_scorecard.core.dirty_keys import KeyQueue
from sales_scorecard.schemas.validation import Accepted, EventValidator
from sales_scorecard.streams import aggregation
from sales_scorecard.streams.aggregation import AggregationStage, StageTables
from sales_scorecard.streams.fact_batches import Batch, decode_batch
from sales_scorecard.streams.fact_log import stored_facts
from sales_scorecard.streams.fact_routes import partition_of
from sales_scorecard.streams.metrics import Metrics
from sales_scorecard.streams.org_stage import OrgStage
from sales_scorecard.streams.partition_stages import PartitionStage
from sales_scorecard.streams.render_budget import RenderBudget
from sales_scorecard.streams.rep_stage import RepStages
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.team_stage import TeamPartitionStage, TeamStages
from sales_scorecard.streams.topics import TOPIC_FOR_TYPE
from tests import factories as f
from tests.unit.test_aggregation_stage import ManualClock, Outputs, TimedOutputs, appeal_fact, new_tables
from tests.unit.test_payroll import TEAM_PLANS, late_roster

PARTITIONS = 3
#: what differs between two correct runs: when and in which flush an update was sent
VOLATILE = ("emitted_at", "posted_at", "revision", "event_id")


@pytest.fixture(autouse=True)
def _no_real_time_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flushes render every key they take. A flush's budget for longer periods is real
    time (the stages' clock here is not), so under load it would set keys aside at other
    points in the two shapes. Which clocks a key is rendered at then differs, and with it
    the clock of its last update (an unchanged render is not sent again) and the alerts
    fired at the clocks in between. ``test_keys_set_aside_at_every_flush_...`` runs the
    other deterministic extreme."""
    monkeypatch.setattr(aggregation, "LONG_PERIODS_BUDGET_SECONDS", math.inf)


def _settings(commission_plan: str = "", company_values: bool = False) -> Settings:
    return Settings(coalesce_ms=0, leaderboard_ms=0, store="memory", partitions=PARTITIONS,
                    commission_plan=commission_plan, stages="partitioned", team_stage=company_values,
                    company_values=company_values)


def flush_each_reading_clock() -> Callable[[], int]:
    """A monotonic clock that moves 10 s per reading: every flush is due."""
    ticks = iter(range(0, 10**9, 10))
    return lambda: next(ticks)


def settled(stage: AggregationStage, since: float) -> bool:
    """Nothing waits, and the clock was refreshed since ``since`` (monotonic): a refresh
    renders again the months the event clock passed (their final pace), and comes only
    every ``clock_refresh_seconds``, so a run that stopped before one would compare
    renders of different clocks."""
    pacing = stage.pacing
    return (not (stage.pending() or stage.boards_pending) and pacing.last_clock > since
            and stage.engine is not None and stage.engine.clock() == pacing.clock_at_refresh)


class Whole:
    """The whole computation in one stage."""

    def __init__(self, commission_plan: str = "") -> None:
        self.outputs = Outputs()
        self.stage = AggregationStage(_settings(commission_plan), new_tables(), self.outputs.stage_outputs(),
                                      Metrics(), monotonic=flush_each_reading_clock())

    async def feed(self, facts: list[dict[str, Any]]) -> None:
        await self.stage.on_batch(Batch(facts))

    async def settle(self) -> None:
        # Until nothing waits: a flush's budget is real time, so under load it sets keys aside.
        started = self.stage._monotonic()
        for round in range(100):
            await self.stage.on_batch(Batch())
            if round >= 2 and settled(self.stage, started):
                break
        else:
            raise AssertionError("the whole stage did not settle in 100 rounds")


class Split:
    """The org stage and the rep stage partitions (with ``teams``, and the team stage
    partitions), messages delivered in order."""

    def __init__(self, commission_plan: str = "", teams: bool = False,
                 tables: tuple[StageTables, StageTables, dict[str, Any]] | None = None, values: bool = False) -> None:
        """``tables``: the org stage's, the rep stage's and the board rows of an earlier run
        (a restart, an upgrade); ``values``: the company's activities and complaints from
        the team partitions' values (``company_values``, with ``teams``)."""
        self.outputs = Outputs()
        self.to_rep: list[tuple[int, bytes]] = []
        self.to_team: list[tuple[int, bytes]] = []
        self.to_org: list[bytes] = []
        #: a team partition's requests for its facts are lost on their way to the org stage
        self.lose_team_requests = False
        #: the messages team partitions sent asking for their facts
        self.team_requests = 0
        #: a team partition whose values to the company are lost (kept in ``values_lost``),
        #: or, with ``hold_values``, every partition's (delivered late by the test)
        self.lose_values_of: int | None = None
        self.hold_values = False
        self.values_lost: list[bytes] = []
        self.metrics = Metrics()
        clock = flush_each_reading_clock()

        async def send_to_rep(partition: int, value: bytes) -> None:
            self.to_rep.append((partition, value))

        async def send_to_org(key: bytes, value: bytes | None) -> None:
            assert value is not None
            batch = decode_batch(value)
            asks = bool(batch.team_requests)
            self.team_requests += asks
            if batch.team_values and (self.hold_values or batch.team_values[0]["partition"] == self.lose_values_of):
                self.values_lost.append(value)
            elif not (self.lose_team_requests and asks):
                self.to_org.append(value)

        async def send_to_team(partition: int, value: bytes) -> None:
            self.to_team.append((partition, value))

        settings = _settings(commission_plan, company_values=values)
        org_tables, rep_tables, board_rows = tables or (new_tables(), new_tables(), {})
        #: the org stage's table of the team partitions' values (``values``)
        self.team_values: dict[str, Any] = {}
        self.org = OrgStage(settings, org_tables, self.outputs.stage_outputs(), self.metrics, send_to_rep,
                            board_rows, monotonic=clock, send_to_team=send_to_team if teams else None,
                            team_values=self.team_values)
        self.reps = RepStages(settings, rep_tables, self.outputs.stage_outputs(), self.metrics, send_to_org,
                              monotonic=clock)
        self.teams = TeamStages(settings, new_tables(), self.outputs.stage_outputs(), self.metrics, send_to_org,
                                monotonic=clock)

    def stages(self) -> list[AggregationStage]:
        """Every stage: the org stage, the rep partitions and the team partitions sent anything."""
        return [self.org, *(self.reps.stage(p) for p in range(PARTITIONS)), *self.teams.stages.values()]

    async def deliver(self) -> None:
        while self.to_rep or self.to_org or self.to_team:
            while self.to_rep:
                partition, value = self.to_rep.pop(0)
                await self.reps.stage(partition).on_batch(decode_batch(value))
            while self.to_team:
                partition, value = self.to_team.pop(0)
                await self.teams.stage(partition).on_batch(decode_batch(value))
            while self.to_org:
                await self.org.on_batch(decode_batch(self.to_org.pop(0)))

    async def feed(self, facts: list[dict[str, Any]]) -> None:
        await self.org.on_batch(Batch(facts))
        await self.deliver()

    async def settle(self) -> None:
        started = self.org._monotonic()
        for round in range(100):
            await self.org.on_batch(Batch())
            await self.deliver()
            for stage in self.stages()[1:]:
                await stage.on_batch(Batch())
            await self.deliver()
            # ... and no stage owes a tick: the org stage a partition the event clock it has
            # not sent yet (sent at most once per flush interval), a partition a refresh at a
            # clock that reached it after its last one
            # (a team partition not fed publishes nothing and waits for its facts)
            if round >= 2 and all(settled(s, started) and not s.tick_due() for s in self.stages()
                                  if not (isinstance(s, TeamPartitionStage) and not s.fed)):
                break
        else:
            raise AssertionError("the split stages did not settle in 100 rounds")


def _last(sent: list[tuple[str, Any]]) -> dict[str, Any]:
    """The last value sent per key, without what legitimately differs between runs."""
    out: dict[str, Any] = {}
    for key, value in sent:
        out[key] = None if value is None else {k: v for k, v in value.items() if k not in VOLATILE}
    return out


def _same_scorecards(whole: Whole, split: Split) -> dict[str, Any]:
    """The last scorecard per key of the whole computation, after checking the split
    stages sent the same keys with the same contents."""
    expected, got = _last(whole.outputs.sent["scorecards"]), _last(split.outputs.sent["scorecards"])
    assert sorted(got) == sorted(expected)
    for key in expected:
        assert got[key] == expected[key], key
    return expected


def _same_figures_no_later_clock(whole: Whole, split: Split) -> dict[str, Any]:
    """``_same_scorecards`` for an org stage whose company figures come from the team
    partitions' values: the same keys and figures, and each of the org stage's cards
    (the company's, ``unassigned``'s) says it holds the facts up to a clock no later than
    the whole computation's (the lowest clock the values reached when it was rendered);
    the rest the same clock."""
    expected, got = _last(whole.outputs.sent["scorecards"]), _last(split.outputs.sent["scorecards"])
    assert sorted(got) == sorted(expected)
    for key in expected:
        want, have = expected[key], got[key]
        if want is None or have is None:
            assert have == want, key
            continue
        assert {**have, "as_of": None} == {**want, "as_of": None}, key
        if key.startswith(("company:", "team:unassigned:")):
            assert have["as_of"] <= want["as_of"], key
        else:
            assert have["as_of"] == want["as_of"], key
    return expected


def _figures(sent: list[tuple[str, Any]]) -> dict[str, Any]:
    """``_last`` without the clock of each render."""
    return {k: v and {n: x for n, x in v.items() if n != "as_of"} for k, v in _last(sent).items()}


def _payroll(sent: list[tuple[str, Any]]) -> dict[str, Any]:
    return {v["event_id"]: {k: x for k, x in v.items() if k not in VOLATILE} for _, v in sent}


def _history() -> list[dict[str, Any]]:
    """A simulated quarter, two closes, then reassignments between reps of different
    partitions, a deal moving to another customer and a rep changing team mid-month."""
    events = simulate(SimulationConfig(seed=11, reps=12, teams=3, start_month="2026-07", months=3))
    reps = sorted({e["rep_id"] for e in events if e["type"] == "roster"})
    a = reps[0]
    b = next(r for r in reps if partition_of(r, PARTITIONS) != partition_of(a, PARTITIONS))
    won = [e for e in events if e["type"] == "deal" and e["stage"] == "won" and e["rep_id"] == a]
    moved, recustomered = won[0], won[1]
    extra = [
        *_split_targets(),
        f.close_period("2026-07"),
        f.close_period("2026-08"),
        *_resplits_after_the_close(),
        {**moved, "event_id": "move-1", "version": moved["version"] + 10, "rep_id": b},
        {**recustomered, "event_id": "move-2", "version": recustomered["version"] + 10,
         "customer_id": "c-new", "amount": "4321.00"},
        {**f.roster(b, "t-other", effective_at="2026-08-15T00:00:00+08:00"), "event_id": "transfer-b"},
        # open pipeline deals (contract §13) expected after the clock (1 December, the closes):
        # one of a's reassigned to b in another partition, one of b (now in t-other), one of a
        {**_pipeline("pipe-1", a, "proposal", "2026-12-09T10:00:00+08:00"), "event_id": "pipe-1-v1"},
        {**_pipeline("pipe-1", b, "negotiation", "2026-12-10T12:00:00+08:00", version=2), "event_id": "pipe-1-v2"},
        {**_pipeline("pipe-2", b, "qualified", "2026-12-12T10:00:00+08:00"), "event_id": "pipe-2-v1"},
        {**_pipeline("pipe-3", a, "prospect", "2026-12-20T10:00:00+08:00"), "event_id": "pipe-3-v1"},
        # Reviews (contract §12) of reps of two partitions: a revised manager review and
        # three peers from another partition; an engagement survey of the moved rep's new team.
        f.review("rv-a", a, "m-x", "manager", 2, period="2026-08", occurred_at="2026-08-20T10:00:00+08:00"),
        f.review("rv-a", a, "m-x", "manager", "4.5", period="2026-08", occurred_at="2026-08-25T10:00:00+08:00"),
        *(f.review(f"rv-b-{i}", b, peer, "peer", 3 + i, period="2026-08") for i, peer in enumerate(reps[:3])),
        *(f.engagement("t-other", f"resp-{i}", 4, period="2026-08") for i in range(3)),
    ]
    return events + extra


def _pipeline(deal_id: str, rep: str, stage: str, expected: str, version: int = 1) -> dict[str, Any]:
    """An open deal in the pipeline, sent on 20 September."""
    return f.deal(deal_id, rep, "c-pipe", "10000.00", stage="open", closed_at=None, version=version,
                  created_at="2026-09-01T10:00:00+08:00", occurred_at="2026-09-20T10:00:00+08:00",
                  pipeline_stage=stage, expected_close_at=expected)


#: reps of team t-split (contract §12 split targets); their partitions are 0, 2, 1 and 2
SPLIT_REPS = ("s1", "s3", "s4", "s5")
PLAN = "2026-06-25T00:00:00+08:00"


def _split_targets() -> list[dict[str, Any]]:
    """Team t-split (s1, s3, s4; s5 moves in on 10 September, s3 moves to t01 on 20
    August) with a weighted July, an equal August and a history September; t01's Q3 is
    split too (s3, the only member without an own target, takes the rest)."""
    return [
        f.roster("s1", "t-split", effective_at="2026-06-01T00:00:00+08:00"),
        f.roster("s3", "t-split", effective_at="2026-06-01T00:00:00+08:00"),
        f.roster("s4", "t-split", effective_at="2026-06-01T00:00:00+08:00"),
        f.roster("s5", "t01", effective_at="2026-06-01T00:00:00+08:00"),
        f.roster("s3", "t01", effective_at="2026-08-20T00:00:00+08:00"),
        f.roster("s5", "t-split", effective_at="2026-09-10T00:00:00+08:00"),
        f.deal("sd1", "s1", "sc1", "30000.00", closed_at="2026-07-10T10:00:00+08:00"),
        f.deal("sd2", "s1", "sc2", "120000.00", closed_at="2026-08-10T10:00:00+08:00"),
        f.deal("sd3", "s4", "sc3", "10000.00", closed_at="2026-08-11T10:00:00+08:00"),
        f.deal("sd4", "s4", "sc4", "20000.00", closed_at="2026-09-11T10:00:00+08:00"),
        f.deal("sd5", "s3", "sc5", "5000.00", closed_at="2026-08-25T10:00:00+08:00"),
        f.deal("sd6", "s5", "sc6", "1000.00", closed_at="2026-09-15T10:00:00+08:00"),
        f.deal("sd7", "s1", "sc7", "2000.00", closed_at="2026-09-16T10:00:00+08:00"),
        f.target("team", "t-split", "2026-07", "90000.00", occurred_at=PLAN,
                 split={"weights": {"s1": 2, "s4": "1", "s3": "1.5"}}),
        f.target("team", "t-split", "2026-08", "100000.00", occurred_at=PLAN, split="equal"),
        f.target("team", "t-split", "2026-09", "60000.00", occurred_at=PLAN, split="history"),
        f.target("team", "t01", "2026-Q3", "99999999.00", occurred_at="2026-09-20T00:00:00+08:00", split="equal"),
    ]


def _resplits_after_the_close() -> list[dict[str, Any]]:
    """An explicit target and a departure re-split closed August: payroll adjustments."""
    return [
        f.target("rep", "s4", "2026-08", "70000.00", occurred_at="2026-09-25T00:00:00+08:00"),
        f.roster("s4", "t-split", status="left", effective_at="2026-08-25T00:00:00+08:00"),
    ]


def validated_facts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` as the ingest agents forward them (each must be valid)."""
    validator = EventValidator("CNY")
    out = []
    for event in events:
        result = validator.validate(TOPIC_FOR_TYPE[event["type"]].name, orjson.dumps(event))
        assert isinstance(result, Accepted), result
        out.append(result.event)
    return out


async def _both(whole: Whole, split: Split, facts: list[dict[str, Any]]) -> None:
    """Feed both shapes the facts in batches of 40, then let both settle."""
    for start in range(0, len(facts), 40):
        await whole.feed(facts[start:start + 40])
        await split.feed(facts[start:start + 40])
    await whole.settle()
    await split.settle()


def test_the_split_stages_publish_what_the_whole_computation_publishes() -> None:
    facts = validated_facts(_history())
    assert len({partition_of(f["rep_id"], PARTITIONS) for f in facts if f["type"] == "roster"}) == PARTITIONS
    whole, split = Whole(), Split()
    asyncio.run(_both(whole, split, facts))
    expected = _same_scorecards(whole, split)
    assert any(k.startswith("rep:") for k in expected) and any(k.startswith("team:") for k in expected)
    forecasts = [v for k, v in expected.items() if v is not None and k.endswith(":2026")
                 and v["kpis"]["forecast_revenue"] != v["kpis"]["revenue"]]
    assert {v["scope"] for v in forecasts} == {"rep", "team", "company"}, "no pipeline in the forecasts"
    assert any(v["kpis"]["next_band"] is not None for v in expected.values() if v is not None)
    # The history exercises every review KPI (contract §12), null ones included.
    kpis = [v["kpis"] for v in expected.values() if v is not None]
    for name in ("review_score", "self_rating", "review_coverage", "team_engagement"):
        assert any(k[name] is not None for k in kpis) and any(k[name] is None for k in kpis), name
    assert _payroll(split.outputs.sent["payroll"]) == _payroll(whole.outputs.sent["payroll"])
    assert any(v["type"] == "payroll.adjustment" for _, v in whole.outputs.sent["payroll"])
    assert _last(split.outputs.sent["leaderboards"]) == _last(whole.outputs.sent["leaderboards"])
    # The split targets reached the rep partitions of their reps (contract §12).
    assert {partition_of(r, PARTITIONS) for r in SPLIT_REPS} == set(range(PARTITIONS))
    assert expected["rep:s1:2026-08"]["kpis"]["target"] == "100000.00"  # s4 left on 25 August: s1 alone
    # September by history (June-August): s1 150000, s5 nothing (s4 has left): s1 takes it all.
    assert (expected["rep:s1:2026-09"]["kpis"]["target"], expected["rep:s5:2026-09"]["kpis"]["target"]) == (
        "60000.00", "0.00")
    assert expected["rep:s4:2026-09"]["kpis"]["target"] is None  # left in August, no own September
    assert expected["rep:s3:2026-08"]["kpis"]["target"] is not None  # a third of t01's Q3 rest
    resplit = [v for _, v in whole.outputs.sent["payroll"]
               if v["type"] == "payroll.adjustment" and v["rep_id"] == "s1" and v["original_period"] == "2026-08"]
    assert resplit and {v["reason"] for v in resplit} == {"target_change"}


@pytest.mark.parametrize("teams", [False, True], ids=["org", "with-teams"])
def test_keys_set_aside_at_every_flush_leave_the_figures_payroll_and_boards_the_same(
        monkeypatch: pytest.MonkeyPatch, teams: bool) -> None:
    # No budget for longer periods: every flush renders one and sets the rest aside, and
    # continuation flushes render them later, at whatever clock a stage has by then. The
    # figures, payroll and leaderboards do not depend on which clocks keys were rendered at.
    monkeypatch.setattr(aggregation, "LONG_PERIODS_BUDGET_SECONDS", 0.0)
    set_aside: set[Any] = set()
    extend = KeyQueue.extend

    def counted(queue: KeyQueue, keys: Any) -> None:
        keys = list(keys)
        set_aside.update(keys)
        extend(queue, keys)

    monkeypatch.setattr(KeyQueue, "extend", counted)
    whole, split = Whole(), Split(teams=teams)
    asyncio.run(_both(whole, split, validated_facts(_history())))
    assert len(set_aside) > 50, f"the budget set {len(set_aside)} keys aside"
    assert _figures(split.outputs.sent["scorecards"]) == _figures(whole.outputs.sent["scorecards"])
    assert _payroll(split.outputs.sent["payroll"]) == _payroll(whole.outputs.sent["payroll"])
    assert _last(split.outputs.sent["leaderboards"]) == _last(whole.outputs.sent["leaderboards"])


@pytest.mark.parametrize("values", [False, True], ids=["facts", "company-from-values"])
def test_with_a_team_stage_the_stages_publish_what_the_whole_computation_publishes(values: bool) -> None:
    # The team partitions render and publish every team but ``unassigned`` (the org stage's).
    # After the history, a late roster entry moves a rep's September to a team of another
    # team partition (which gets the rep's history then), and a call in December moves the
    # clock of every team, most of them in partitions the call itself does not go to.
    history = validated_facts(_history())
    team_of = {e["rep_id"]: e["team_id"] for e in history if e["type"] == "roster"}
    mover = sorted(team_of)[1]
    to = next(t for t in ("t01", "t02", "t03", "t-other", "t-split")
              if partition_of(t, PARTITIONS) != partition_of(team_of[mover], PARTITIONS))
    facts = history + validated_facts([
        {**f.roster(mover, to, effective_at="2026-09-01T00:00:00+08:00"), "event_id": "late-transfer"},
        f.activity(sorted(team_of)[0], "call", occurred_at="2026-12-01T10:00:00+08:00")])
    whole, split = Whole(), Split(teams=True, values=values)
    asyncio.run(_both(whole, split, facts))
    expected = _same_figures_no_later_clock(whole, split) if values else _same_scorecards(whole, split)
    assert bool(split.team_values) == values
    if values:  # the current month's card, rendered once every value came, says so
        assert _last(split.outputs.sent["scorecards"])["company:*:2026-12"]["as_of"] == expected[
            "company:*:2026-12"]["as_of"]
    teams = {k.split(":")[1] for k in expected if k.startswith("team:")}
    assert len({partition_of(t, PARTITIONS) for t in teams if t != "unassigned"}) > 1, teams
    assert _last(split.outputs.sent["alerts"]) == _last(whole.outputs.sent["alerts"])
    assert any(":team:" in k for k in _last(whole.outputs.sent["alerts"]))
    assert _payroll(split.outputs.sent["payroll"]) == _payroll(whole.outputs.sent["payroll"])
    assert _last(split.outputs.sent["leaderboards"]) == _last(whole.outputs.sent["leaderboards"])
    # who published what: each team's keys by the partition owning the team, the org stage
    # only the company's and unassigned's
    published: set[str] = set()
    for partition, stage in split.teams.stages.items():
        for key in stage.tables.emitted:
            assert key.startswith("team:") and partition_of(key.split(":")[1], PARTITIONS) == partition, key
            published.add(key)
    assert published == {k for k in expected if k.startswith("team:") and not k.startswith("team:unassigned:")}
    assert {k.split(":")[0] for k in split.org.tables.emitted if not k.startswith("team:unassigned:")} == {"company"}
    # each team partition counted the facts it applied, at least every one it stored
    counted = {s.labels["partition"]: s.value for m in split.metrics.registry.collect()
               if m.name == "scorecard_team_stage_facts" for s in m.samples if s.name.endswith("_total")}
    for partition, stage in split.teams.stages.items():
        assert counted.get(str(partition), 0) >= len(stored_facts(stage.tables.facts)) > 0, (partition, counted)
    # the org stage and every team partition rebuilt from their tables, then one more call
    held = set(split.teams.stages)
    split.org.on_revoked()
    split.teams.revoke(held)
    split.teams.assign(held)
    call = validated_facts([f.activity(sorted(team_of)[2], "call", occurred_at="2026-12-02T10:00:00+08:00")])
    asyncio.run(_both(whole, split, call))
    assert all(stage.engine is not None for stage in split.teams.stages.values())
    # a rebuilt stage renders every key again, at the clock of now (the whole stage rendered
    # the past months at an earlier one): the same figures
    assert _figures(split.outputs.sent["scorecards"]) == _figures(whole.outputs.sent["scorecards"])


def _values_of(value: bytes) -> list[dict[str, Any]]:
    return decode_batch(value).team_values


def test_values_a_crash_lost_come_again_with_the_rebuild_and_an_old_owners_late_ones_change_nothing() -> None:
    # The company's activities and complaints come from the team partitions' values. One
    # team partition's values are lost for a stretch of the history (a worker that crashed
    # after its messages were committed), and its stage is then built again (a new epoch):
    # it sends every value it holds, closed by a complete row. A value sent before the
    # rebuild and delivered after it (an old owner's, late) changes nothing.
    # While they are lost, a late transfer takes a rep of t01 to a team of another
    # partition from mid-July: t01's day of the rep's one visit on a quiet day empties, so the
    # rebuilt partition's values no longer name it, and only its complete row retracts it;
    # after the rebuild another rep of t01 visits that day, so the lost value of it is stale.
    history = validated_facts(_history())
    whole, split = Whole(), Split(teams=True, values=True)
    victim = partition_of("t01", PARTITIONS)
    lost = split.values_lost
    team_of = {e["rep_id"]: e["team_id"] for e in history if e["type"] == "roster"}
    mover = next(rep for rep, team in sorted(team_of.items()) if team == "t01")
    elsewhere = next(t for t in sorted(set(team_of.values())) if partition_of(t, PARTITIONS) != victim)
    members = {rep for rep, team in team_of.items() if team == "t01"}
    busy = {str(e["occurred_at"])[:10] for e in _history() if e.get("rep_id") in members}
    quiet = next(day for day in (f"2026-10-{d:02}" for d in range(1, 32)) if day not in busy)
    call = validated_facts([f.activity(mover, "visit", occurred_at=f"{quiet}T10:00:00+08:00", customer_id="c-quiet",
                                       effective=True)])
    key = f"value:{quiet}:t01"
    other = next(rep for rep in sorted(members) if rep != mover)
    transfer = validated_facts([{**f.roster(mover, elsewhere, effective_at="2026-07-15T00:00:00+08:00"),
                                 "event_id": "late-transfer"}])

    async def run() -> None:
        third = len(history) // 3
        await _both(whole, split, history[:third] + call)
        assert split.team_values[key]["value"]["n"] == 1
        split.lose_values_of = victim
        await _both(whole, split, history[third:2 * third] + transfer)
        split.lose_values_of = None
        assert split.team_values.get(key) is not None  # its retraction was lost
        # the company lacks what was lost: its figures are not the whole computation's yet
        assert _figures(split.outputs.sent["scorecards"]) != _figures(whole.outputs.sent["scorecards"])
        split.teams.revoke({victim})
        split.teams.assign({victim})
        # another of t01's reps visits on the quiet day: the lost rows' value of it is stale
        await _both(whole, split, history[2 * third:] + validated_facts([
            f.activity(other, "visit", occurred_at=f"{quiet}T11:00:00+08:00", customer_id="c-quiet", effective=True)]))
        late = [value for value in lost if any("team" in row for row in _values_of(value))]
        assert late
        for value in late:  # the old epoch's values, delivered after the new one's complete row
            await split.org.on_batch(decode_batch(value))
        await split.settle()

    asyncio.run(run())
    assert lost
    _same_figures_no_later_clock(whole, split)
    states = {k: v for k, v in split.team_values.items() if k.startswith("partition:")}
    assert len(states) == PARTITIONS and all(state["complete"] for state in states.values())
    assert split.org.engine is not None and split.org.engine.values_clock == split.org.engine.as_of
    assert split.team_values[key]["value"]["n"] == 1 and split.team_values[key]["contacts"] == {"c-quiet": 1}


def test_a_months_company_card_is_final_only_once_the_values_of_every_fact_before_its_close_came() -> None:
    # The close reaches the org stage before the team partitions' values of the facts sent
    # before it: here they are held on their way while a call of July and July's close go
    # through. The company's July card must not say final before those values came, and
    # every July card it publishes as final has the whole computation's figures.
    history = validated_facts([e for e in _history() if e["type"] != "close_period"])
    team_of = {e["rep_id"]: e["team_id"] for e in history if e["type"] == "roster"}
    member = next(rep for rep, team in sorted(team_of.items()) if team == "t01")
    late = validated_facts([
        f.activity(member, "visit", occurred_at="2026-07-20T10:00:00+08:00", customer_id="c-late", effective=True),
        f.close_period("2026-07")])
    whole, split = Whole(), Split(teams=True, values=True)
    july = "company:*:2026-07"

    async def run() -> None:
        await _both(whole, split, history)
        split.hold_values = True
        await _both(whole, split, late)
        split.hold_values = False
        assert split.values_lost
        closed = _last(whole.outputs.sent["scorecards"])[july]
        assert closed["final"] is True
        held = _last(split.outputs.sent["scorecards"])[july]
        # the org stage applied the close, but not the call's value: not final yet
        assert split.org.engine is not None and "2026-07" in split.org.engine.closed_months
        assert held["final"] is False and held["kpis"] != closed["kpis"]
        # the org stage rebuilt meanwhile (its worker restarted) renders July again, not final yet
        split.org.on_revoked()
        await split.org.on_batch(Batch())
        assert [v for k, v in split.outputs.sent["scorecards"] if k == july][-1]["final"] is False
        split.to_org.extend(split.values_lost)
        await split.deliver()
        await split.settle()

    asyncio.run(run())
    expected = _same_figures_no_later_clock(whole, split)
    finals = [{k: x for k, x in value.items() if k not in VOLATILE}
              for key, value in split.outputs.sent["scorecards"] if key == july and value and value["final"]]
    assert finals and all({**v, "as_of": None} == {**expected[july], "as_of": None} for v in finals)


def test_with_a_team_stage_the_team_boards_show_what_the_whole_computation_shows() -> None:
    # The org engine keeps no figures of a team partition's team: a team board's summary
    # (score, dimensions) comes from the row the team's partition sent, its manager from
    # the org stage's roster; the boards list names every team with a scorecard.
    facts = validated_facts(_history())
    whole, split = Whole(), Split(teams=True)
    asyncio.run(_both(whole, split, facts))
    assert whole.stage.engine is not None and split.org.engine is not None
    teams = sorted({id for scope, id in whole.stage.engine.known if scope == "team"})
    assert {id for scope, id in split.org.engine.buckets.scopes if scope == "team"} <= {"unassigned"}
    assert sorted({id for scope, id in split.org.engine.known if scope == "team"}
                  | split.org.boards.summarised_teams()) == teams
    periods = sorted({label for (scope, _), labels in whole.stage.engine.known.items() if scope == "team"
                      for label in labels} | {"R30D"})
    summaries = 0
    for team in teams:
        for period in periods:
            want = leaderboard(whole.stage.boards, whole.stage.engine, f"team:{team}", period, "score")
            got = leaderboard(split.org.boards, split.org.engine, f"team:{team}", period, "score")
            assert got == want, (team, period)
            summaries += want["team"] is not None and team != "unassigned"
    assert summaries > 10
    # the summaries are kept in the org stage's table: rebuilt, it shows the same
    split.org.on_revoked()
    asyncio.run(_both(whole, split, []))
    for team in teams:
        assert leaderboard(split.org.boards, split.org.engine, f"team:{team}", "2026-11", "score") == leaderboard(
            whole.stage.boards, whole.stage.engine, f"team:{team}", "2026-11", "score")


def test_a_team_scorecard_that_stops_existing_takes_its_boards_summary_with_it() -> None:
    # tA's only deal moves to a rep of tB: tA's partition withdraws its scorecards and the
    # org stage drops their summaries, as the whole computation has none.
    facts = validated_facts([f.roster("a1", "tA", event_id="roster-a1"), f.roster("b1", "tB", event_id="roster-b1"),
                        f.deal("d1", "a1", "c1", "1000.00", event_id="d1-1")])
    moved = validated_facts([f.deal("d1", "b1", "c1", "1000.00", version=2, event_id="d1-2")])
    whole, split = Whole(), Split(teams=True)
    asyncio.run(_both(whole, split, facts))
    assert split.org.boards.summary("tA", "2026-11") is not None
    assert "tA" in split.org.boards.summarised_teams()
    asyncio.run(_both(whole, split, moved))
    assert split.org.boards.summary("tA", "2026-11") is None and not any(
        key.startswith("tA:") for key in split.org.team_rows)
    assert "tA" not in split.org.boards.summarised_teams()
    for team in ("tA", "tB"):
        assert leaderboard(split.org.boards, split.org.engine, f"team:{team}", "2026-11", "score") == leaderboard(
            whole.stage.boards, whole.stage.engine, f"team:{team}", "2026-11", "score")


def test_a_team_stage_started_beside_an_org_stage_that_published_the_teams_goes_on_from_its_records() -> None:
    # A deployment running the partitioned stages without a team stage is upgraded: the
    # org stage hands each team partition the revisions and alert states it recorded of
    # its teams, so no team key is published at a revision it had before and no alert that
    # is firing is raised again.
    facts = validated_facts(_history())
    before = Split()
    asyncio.run(_both(Whole(), before, facts))
    recorded = {k: row[0] for k, row in before.org.tables.emitted.items()
                if k.startswith("team:") and not k.startswith("team:unassigned:")}
    firing = {k for k, state in before.org.tables.alert_state.items() if ":team:" in k and state["firing"]}
    assert recorded and firing
    after = Split(teams=True, tables=(before.org.tables, before.reps.tables, before.org.board_rows))
    late = validated_facts([f.activity(sorted({e["rep_id"] for e in facts if e["type"] == "roster"})[0], "call",
                                  occurred_at="2026-12-02T10:00:00+08:00")])
    whole = Whole()
    asyncio.run(whole.feed(facts))
    # the first requests are lost, and the team partitions are rebuilt before they are fed:
    # they hold the handed-over keys and lack their facts, and withdraw none of them
    after.lose_team_requests = True
    asyncio.run(_both(whole, after, late))
    held = set(after.teams.stages)
    after.teams.revoke(held)
    after.teams.assign(held)
    asyncio.run(after.settle())
    assert not any(k.startswith("team:") and not k.startswith("team:unassigned:")
                   for k, _ in after.outputs.sent["scorecards"])
    after.lose_team_requests = False
    after.org.on_revoked()  # its rebuild has them ask again
    asyncio.run(after.settle())
    assert all(stage.fed for stage in after.teams.stages.values())
    # the team partitions asked for the history they never got: across the upgrade, a
    # reader of sales.scorecards ends with every team's figures (a key whose content did
    # not change is not sent again)
    read = before.outputs.sent["scorecards"] + after.outputs.sent["scorecards"]
    assert {k: v for k, v in _figures(read).items() if k.startswith("team:")} == {
        k: v for k, v in _figures(whole.outputs.sent["scorecards"]).items() if k.startswith("team:")}
    assert any(k.startswith("team:") for k, _ in after.outputs.sent["scorecards"])
    # a key goes on above the revision it had, or is sent again at that revision unchanged
    # (the first flush after a rebuild re-sends what it renders alike)
    sent = [(k, v) for k, v in after.outputs.sent["scorecards"] if k in recorded]
    last = _figures(before.outputs.sent["scorecards"])
    assert sent and all(v is None or v["revision"] > recorded[k] or (
        v["revision"] == recorded[k] and _figures([(k, v)])[k] == last[k]) for k, v in sent)
    raised = {k for k, v in after.outputs.sent["alerts"] if v["state"] == "firing"}
    assert not raised & firing
    # each firing alert is known firing where its team is now, so its resolution is sent
    for key in firing:
        assert after.teams.stages[partition_of(key.split(":")[2], PARTITIONS)].tables.alert_state[key]["firing"]
    for partition, stage in after.teams.stages.items():
        assert all(partition_of(k.split(":")[1], PARTITIONS) == partition for k in stage.tables.emitted)


def test_a_new_deployments_team_partitions_hold_every_fact_from_the_start_and_never_ask() -> None:
    # An org stage that starts with nothing stored sends every team partition ``team_fed``
    # before any fact: what it routes from then on is everything.
    facts = validated_facts(_history())
    whole, split = Whole(), Split(teams=True)
    asyncio.run(_both(whole, split, facts[:1]))
    assert set(split.teams.stages) == set(range(PARTITIONS))
    assert all(stage.fed for stage in split.teams.stages.values())
    asyncio.run(_both(whole, split, facts[1:]))
    assert split.team_requests == 0
    _same_scorecards(whole, split)
    # a restarted org stage, which has facts stored, sends no second ``team_fed``
    split.org.on_revoked()
    asyncio.run(split.settle())
    assert split.team_requests == 0 and all(stage.fed for stage in split.teams.stages.values())


def test_a_team_partition_publishes_nothing_before_it_has_every_fact_and_asks_until_it_gets_them() -> None:
    # A team stage started beside an org stage that has stored facts (an upgrade): its
    # partitions lack the history until the org stage sends it.
    facts = validated_facts(_history())
    half = len(facts) // 2
    whole, before = Whole(), Split()
    asyncio.run(_both(whole, before, facts[:half]))
    split = Split(teams=True, tables=(before.org.tables, before.reps.tables, before.org.board_rows))
    split.lose_team_requests = True
    asyncio.run(_both(whole, split, facts[half:]))
    assert split.teams.stages and not any(stage.fed for stage in split.teams.stages.values())
    team_keys = [k for k, _ in split.outputs.sent["scorecards"] if k.startswith("team:")]
    assert all(k.startswith("team:unassigned:") for k in team_keys)  # the org stage's only
    assert not any(":team:" in k for k, _ in split.outputs.sent["alerts"])
    # no query is answered from part of the facts (the query API's engine)
    assert all(stage.answering is None for stage in split.teams.stages.values())
    # asked again at the next rebuild of the org stage (or of the partition, after a crash)
    split.lose_team_requests = False
    asyncio.run(split.settle())
    assert not any(stage.fed for stage in split.teams.stages.values())
    split.org.on_revoked()
    asyncio.run(split.settle())
    assert all(stage.fed for stage in split.teams.stages.values())
    # across the upgrade, a reader of sales.scorecards ends with every key's figures (alerts
    # are of the moment they are evaluated: none of the past)
    read = before.outputs.sent["scorecards"] + split.outputs.sent["scorecards"]
    assert _figures(read) == _figures(whole.outputs.sent["scorecards"])


def test_the_org_stage_hands_a_teams_records_to_the_partition_of_the_team_whatever_its_id() -> None:
    split = Split(teams=True)
    team = "east:north"  # an id may hold ':'
    split.org.tables.emitted[f"team:{team}:2026-07"] = [7, "digest"]
    split.org.tables.alert_state[f"attainment_below_pace:team:{team}:2026-07"] = {"firing": True}
    split.org.tables.emitted["team:unassigned:2026-07"] = [3, "digest"]
    split.org.tables.emitted["company:acme:2026-07"] = [5, "digest"]
    records = split.org._team_records()
    mine = partition_of(team, PARTITIONS)
    assert {p: [r.get("key") for r in rows] for p, rows in records.items()} == {
        p: [None, f"team:{team}:2026-07", f"attainment_below_pace:team:{team}:2026-07"] if p == mine else [None]
        for p in range(PARTITIONS)}  # each partition hears of the rebuild


def test_each_rep_partition_publishes_only_its_own_reps() -> None:
    facts = validated_facts(_history())
    split = Split()

    async def go() -> None:
        for start in range(0, len(facts), 40):
            await split.feed(facts[start:start + 40])
        await split.settle()

    asyncio.run(go())
    for partition, stage in split.reps.stages.items():
        assert stage.engine is not None
        reps = {id for (scope, id) in stage.engine.known if scope == "rep" and stage.engine.known[(scope, id)]}
        assert reps and all(partition_of(rep, PARTITIONS) == partition for rep in reps)
        # reviews go to their subject's partition, engagement answers to none (contract §12)
        stored = stored_facts(stage.tables.facts)
        subjects = {v["subject_id"] for k, v in stored.items() if k.startswith("review:")}
        assert subjects and all(partition_of(rep, PARTITIONS) == partition for rep in subjects)
        assert not any(k.startswith("eng:") for k in stored)
    # a worker holding every partition keeps no more memoised figures than one whole engine
    assert len(split.reps.stages) == PARTITIONS > 1
    assert sum(stage.engine.memo_limit for stage in split.reps.stages.values() if stage.engine) <= LIMIT
    # every rep-stage fact was counted by partition
    counted = {s.labels["partition"] for m in split.metrics.registry.collect() if m.name == "scorecard_rep_stage_facts"
               for s in m.samples}
    assert counted == {str(p) for p in range(PARTITIONS)}


def test_another_reps_deal_of_a_shared_customer_reaches_a_partition_only_when_it_is_or_was_won() -> None:
    """Reps a and b (different partitions) both deal with customer c-shared. a wins on
    20 August. b's deal moves through the pipeline (a's partition needs none of that), is
    won on 10 August (the acquisition is b's, contract §5), then lost: a's partition needs
    the loss, or it keeps b's win and credits a no new customer."""
    a, b = f.reps_in_two_partitions(PARTITIONS)
    pipeline = dict(stage="open", closed_at=None, created_at="2026-08-01T10:00:00+08:00")
    steps = [
        [f.roster(a, "t1"), f.roster(b, "t2"),
         f.deal("d-a", a, "c-shared", "500.00", closed_at="2026-08-20T10:00:00+08:00",
                created_at="2026-08-01T10:00:00+08:00")],
        [{**f.deal("d-b", b, "c-shared", "900.00", version=1, occurred_at="2026-08-02T10:00:00+08:00",
                   pipeline_stage="prospect", expected_close_at="2026-08-30T10:00:00+08:00", **pipeline)},
         {**f.deal("d-b", b, "c-shared", "900.00", version=2, occurred_at="2026-08-05T10:00:00+08:00",
                   pipeline_stage="proposal", expected_close_at="2026-08-30T10:00:00+08:00", **pipeline)}],
        [f.deal("d-b", b, "c-shared", "900.00", version=3, closed_at="2026-08-10T10:00:00+08:00",
                created_at="2026-08-01T10:00:00+08:00")],
        [f.deal("d-b", b, "c-shared", "900.00", stage="lost", version=4, closed_at="2026-08-25T10:00:00+08:00",
                created_at="2026-08-01T10:00:00+08:00")],
    ]
    whole, split = Whole(), Split()
    partition_a = split.reps.stage(partition_of(a, PARTITIONS))
    held: list[int | None] = []  # the version of b's deal a's partition holds after each step

    async def go() -> None:
        for step in steps:
            facts = validated_facts(step)
            await whole.feed(facts)
            await split.feed(facts)
            held.append((stored_facts(partition_a.tables.facts).get("deal:d-b") or {}).get("version"))
        await whole.settle()
        await split.settle()

    asyncio.run(go())
    expected = _same_scorecards(whole, split)
    # worked by hand: b's win reversed, a's deal is the customer's earliest won one
    assert expected[f"rep:{a}:2026-08"]["kpis"]["new_customers"] == 1
    assert expected[f"rep:{b}:2026-08"]["kpis"]["new_customers"] == 0
    # not b's open versions, then the win, then the loss that replaced it
    assert held == [None, None, 3, 4]


def test_a_version_whose_send_a_crash_lost_reaches_a_partition_of_the_customer_when_its_message_comes_again() -> None:
    """b's win (10 August) is reversed, a version a's partition needs, then the deal is
    opened again, one it does not: both in one message whose sends a crash loses before
    its input is committed. When the message comes again both versions are stale or
    duplicates, and the stored one must still reach a's partition, or it keeps b's win and
    credits a (won 20 August) no new customer."""
    a, b = f.reps_in_two_partitions(PARTITIONS)
    reopened = dict(stage="open", closed_at=None, created_at="2026-08-01T10:00:00+08:00", version=3,
                    occurred_at="2026-09-05T10:00:00+08:00", pipeline_stage="proposal",
                    expected_close_at="2026-12-20T10:00:00+08:00")
    first = validated_facts([
        f.roster(a, "t1"), f.roster(b, "t2"),
        f.deal("d-a", a, "c-shared", "500.00", closed_at="2026-08-20T10:00:00+08:00",
               created_at="2026-08-01T10:00:00+08:00"),
        f.deal("d-b", b, "c-shared", "900.00", closed_at="2026-08-10T10:00:00+08:00",
               created_at="2026-08-01T10:00:00+08:00")])
    lost = validated_facts([
        f.deal("d-b", b, "c-shared", "900.00", stage="reversed", version=2, closed_at="2026-08-10T10:00:00+08:00",
               created_at="2026-08-01T10:00:00+08:00", occurred_at="2026-09-01T10:00:00+08:00"),
        f.deal("d-b", b, "c-shared", "900.00", **reopened)])
    whole, split = Whole(), Split()
    partition_a = split.reps.stage(partition_of(a, PARTITIONS))

    async def go() -> None:
        for facts in (first, lost):
            await whole.feed(facts)
        await split.feed(first)
        await split.org.on_batch(Batch(lost))
        split.to_rep.clear()  # the crash: the org stage's sends are lost, its input not committed
        split.org.on_revoked()
        await split.feed(lost)  # the message comes again; the org stage rebuilds from its facts
        await whole.settle()
        await split.settle()

    asyncio.run(go())
    expected = _same_scorecards(whole, split)
    assert expected[f"rep:{a}:2026-08"]["kpis"]["new_customers"] == 1  # b's win reversed: a's is the earliest
    assert stored_facts(partition_a.tables.facts)["deal:d-b"]["version"] == 3


def test_an_appeal_reaches_the_partition_of_its_rep_and_pays_as_the_whole_computation_does() -> None:
    facts = validated_facts(_history())
    reps = sorted({f["rep_id"] for f in facts if f["type"] == "roster"})
    # One appeal on a closed month (paid at once), one on an open month (paid at its close).
    appeals = [appeal_fact("D-1", "123.45", reps[0], "2026-07"), appeal_fact("D-2", "-10.00", reps[1], "2026-09")]
    later = validated_facts([f.close_period("2026-09")])
    whole, split = Whole(), Split()

    async def go() -> None:
        for run in (whole, split):
            await run.feed(facts)
            await run.feed(appeals)
            await run.feed(later)
            await run.settle()

    asyncio.run(go())
    paid = {k: v for k, v in _payroll(split.outputs.sent["payroll"]).items() if k.startswith("adj:appeal:")}
    assert sorted(paid) == ["adj:appeal:D-1", "adj:appeal:D-2"]
    assert (paid["adj:appeal:D-1"]["rep_id"], paid["adj:appeal:D-1"]["delta_commission"]) == (reps[0], "123.45")
    assert _payroll(split.outputs.sent["payroll"]) == _payroll(whole.outputs.sent["payroll"])
    assert sorted(split.outputs.links) == sorted(whole.outputs.links)
    # Only the partition of each appeal's rep keeps it (the org stage keeps it too, and pays nobody).
    for dispute_id, rep in (("D-1", reps[0]), ("D-2", reps[1])):
        holders = [p for p, stage in split.reps.stages.items()
                   if "appeal:" + dispute_id in stored_facts(stage.tables.facts)]
        assert holders == [partition_of(rep, PARTITIONS)]


def test_a_late_roster_entry_is_adjusted_once_by_the_partition_of_its_rep_as_the_whole_computation_does(
        tmp_path) -> None:
    plans = tmp_path / "plans.yaml"
    plans.write_text(TEAM_PLANS)  # 5 % by default, 10 % in team t9
    a = "r1"
    b = next(r for r in ("r2", "r3", "r4", "r5") if partition_of(r, PARTITIONS) != partition_of(a, PARTITIONS))
    november = validated_facts([f.roster(a, "t1"), f.roster(b, "t1"), f.deal("d1", a, "c1", "1000.00"),
                           f.deal("d2", b, "c2", "3000.00"), f.close_period("2026-11")])
    # On 3 December: a was in t9 since 20 November (so at November's end); b's move to t9
    # takes effect on 1 December, after November.
    moves = validated_facts([late_roster(a, "t9", "2026-11-20T00:00:00+08:00", "late-a"),
                        late_roster(b, "t9", "2026-12-01T00:00:00+08:00", "late-b")])
    whole, split = Whole(str(plans)), Split(str(plans))

    async def go() -> None:
        for run in (whole, split):
            await run.feed(november)
            await run.feed(moves)
            await run.feed(moves)  # redelivered
            await run.settle()

    asyncio.run(go())
    paid = _payroll(split.outputs.sent["payroll"])
    assert paid == _payroll(whole.outputs.sent["payroll"])
    # Statements of 50.00 (a) and 150.00 (b) at 5 %; a's month now pays 100.00 under t9's plan.
    assert sorted((v["type"], v["rep_id"], v.get("commission") or v["delta_commission"], v.get("reason"))
                  for v in paid.values()) == [
        ("payroll.adjustment", a, "50.00", "roster_change"),
        ("payroll.statement", a, "50.00", None), ("payroll.statement", b, "150.00", None)]
    # Only a's partition paid it (the org stage pays nobody): its paid state has the 100.00.
    states = {key: state for key, state in split.reps.tables.payroll_state.items() if key.endswith(f"{a}:2026-11")}
    assert list(states) == [f"{partition_of(a, PARTITIONS)}/{a}:2026-11"]
    assert next(iter(states.values()))["paid_commission"] == "100.00"
    # A rebuilt partition of a (a rebalance) pays nothing again.
    sent = len(split.outputs.sent["payroll"])
    split.reps.revoke({partition_of(a, PARTITIONS)})
    split.reps.assign({partition_of(a, PARTITIONS)})
    asyncio.run(split.settle())
    assert split.reps.stage(partition_of(a, PARTITIONS)).engine is not None  # rebuilt
    assert len(split.outputs.sent["payroll"]) == sent


def test_an_assigned_stage_reports_a_rebuild_owed_until_it_has_flushed_and_nothing_once_revoked() -> None:
    split = Split()
    pending = lambda: split.metrics.registry.get_sample_value("scorecard_pending_updates")  # noqa: E731
    split.org.on_assigned()
    split.reps.assign(set(range(PARTITIONS)))
    # no message has come yet, so no rebuild ran: the worker is not settled
    assert pending() == 1 + PARTITIONS

    async def go() -> None:
        await split.feed(validated_facts(_history())[:60])
        await split.settle()

    asyncio.run(go())
    assert pending() == 0
    split.org.on_revoked()
    split.reps.revoke({0})
    split.reps.assign({0})  # a partition taken back after a rebalance owes its rebuild again
    assert pending() == 1
    split.reps.revoke(set(range(PARTITIONS)))
    assert pending() == 0


def test_a_revoked_stage_no_longer_spaces_out_the_stages_left_on_its_worker() -> None:
    split = Split()
    budget = split.org.budget = split.reps.budget = RenderBudget()
    stages = [split.org, *(split.reps.stage(p) for p in range(PARTITIONS))]
    for stage in stages:  # each has just flushed
        budget.spend(0.01, ended=100.0, stage=stage.name)
    assert budget.sharing(100.0, "aggregation") == 1 + PARTITIONS
    split.reps.revoke({0})
    assert budget.sharing(100.0, "aggregation") == PARTITIONS
    split.org.on_revoked()
    assert budget.sharing(100.0, "rep:1") == PARTITIONS - 1


def test_a_rebuilt_org_stage_sends_every_rep_its_split_targets_again() -> None:
    # What a crash kept from reaching the rep stage cannot be told apart after a rebuild:
    # the org stage sends each rep who may have shares all of them again (contract §12).
    facts = validated_facts(_history())
    split = Split()

    async def go() -> list[dict[str, Any]]:
        await split.feed(facts)
        await split.settle()
        rows = {p: len(s.tables.facts) for p, s in split.reps.stages.items()}
        split.org.on_revoked()
        await split.org.on_batch(Batch())
        sent = [f for p, value in split.to_rep for f in decode_batch(value).facts if f["type"] == "split_target"]
        await split.deliver()
        # the partitions held the same shares: nothing new is stored
        assert {p: len(s.tables.facts) for p, s in split.reps.stages.items()} == rows
        return sent

    sent = {f["rep_id"]: f["shares"] for f in asyncio.run(go())}
    # July, weights s1 2 : s4 1 : s3 1.5 of 90000 (s5 is in t01): 40000, 20000, 30000.
    # August: s1 alone (s3 moved to t01, s4 left). September by history: s1 all of it.
    assert sent["s1"] == {"2026-07": "40000.00", "2026-08": "100000.00", "2026-09": "60000.00"}
    assert sent["s4"] == {"2026-07": "20000.00"}
    assert sent["s3"]["2026-07"] == "30000.00" and "2026-Q3" in sent["s3"]
    assert set(sent) >= set(SPLIT_REPS)


# ---------------------------------------------------------------------- pacing (leading edge)
#: the partitions of these reps (PARTITIONS = 3): r3 -> 0, r1 and r7 -> 1, r2, r4 and r5 -> 2
P_R1, P_R2 = 1, 2
#: a rep with a deal in every partition (team t1: 1,110.00 in November): each partition's
#: first flush, which renders everything after its rebuild, is over with these
EVERY_PARTITION = [
    f.roster("r3", "t1", event_id="roster-r3"), f.deal("d0", "r3", "c0", "100.00", event_id="deal-d0-v1"),
    f.roster("r1", "t1", event_id="roster-r1"), f.deal("d1", "r1", "c1", "1000.00", event_id="deal-d1-v1"),
    f.roster("r5", "t1", event_id="roster-r5"), f.deal("d5", "r5", "c5", "10.00", event_id="deal-d5-v1"),
]


class PacedSplit:
    """The org stage and the rep partitions on a clock the test moves, with the default
    500 ms interval: flushes happen when their pacing says, not at every message."""

    def __init__(self, coalesce_ms: int = 500, values: bool = False) -> None:
        """``values``: with the team stage, the company's activities and complaints from
        its partitions' values."""
        self.clock = ManualClock()
        #: the worker's budget, shared by the org stage and every rep partition
        self.budget = RenderBudget()
        self.outputs = TimedOutputs(self.clock)
        self.to_rep: list[tuple[int, bytes]] = []
        self.to_team: list[tuple[int, bytes]] = []
        self.to_org: list[bytes] = []
        #: (partition, batch) of every message the org stage sent to the rep stage
        self.routed: list[tuple[int, Batch]] = []
        #: (clock, partition, rows) of every message of values a team partition sent
        self.values_sent: list[tuple[float, int, list[dict[str, Any]]]] = []
        settings = Settings(coalesce_ms=coalesce_ms, coalesce_long_ms=2000, leaderboard_ms=0, store="memory",
                            partitions=PARTITIONS, stages="partitioned", team_stage=values, company_values=values)

        async def send_to_rep(partition: int, value: bytes) -> None:
            self.to_rep.append((partition, value))

        async def send_to_team(partition: int, value: bytes) -> None:
            self.to_team.append((partition, value))

        #: whether a message of values fails to send (the producer raises)
        self.fail_values = False

        async def send_to_org(key: bytes, value: bytes | None) -> None:
            assert value is not None
            rows = decode_batch(value).team_values
            if rows and self.fail_values:
                raise RuntimeError("the producer failed")
            if rows:
                self.values_sent.append((self.clock.now, rows[0]["partition"], rows))
            self.to_org.append(value)

        self.org = OrgStage(settings, new_tables(), self.outputs.stage_outputs(), Metrics(), send_to_rep, {},
                            monotonic=self.clock, budget=self.budget, send_to_team=send_to_team if values else None,
                            team_values={})
        self.reps = RepStages(settings, new_tables(), self.outputs.stage_outputs(), Metrics(), send_to_org,
                              monotonic=self.clock, budget=self.budget)
        self.teams = TeamStages(settings, new_tables(), self.outputs.stage_outputs(), Metrics(), send_to_org,
                                monotonic=self.clock, budget=self.budget)

    async def deliver(self) -> None:
        """Every message in flight, in order; a rep partition's lag as the worker reckons it."""
        while self.to_rep or self.to_org or self.to_team:
            while self.to_rep:
                partition, value = self.to_rep.pop(0)
                batch = decode_batch(value)
                self.routed.append((partition, batch))
                now = time.time()
                await self.reps.stage(partition).on_batch(batch, lag=batch.age(now, now))
            while self.to_team:
                partition, value = self.to_team.pop(0)
                batch = decode_batch(value)
                now = time.time()
                await self.teams.stage(partition).on_batch(batch, lag=batch.age(now, now))
            while self.to_org:
                await self.org.on_batch(decode_batch(self.to_org.pop(0)))

    async def feed(self, facts: list[dict[str, Any]], since: int | None = None) -> None:
        """One message on ``sales.facts`` (``since``: when its oldest input was sent, epoch ms)."""
        now = time.time()
        batch = Batch(facts, since=since)
        await self.org.on_batch(batch, lag=batch.age(now, now))
        await self.deliver()

    async def tick(self) -> None:
        """A tick for the org stage and for every rep partition."""
        await self.org.on_batch(Batch())
        await self.deliver()
        for partition in range(PARTITIONS):
            await self.reps.stage(partition).on_batch(Batch())
        for stage in list(self.teams.stages.values()):
            if stage.tick_due():  # as the worker's timer asks
                await stage.on_batch(Batch())
        await self.deliver()

    def sent_now(self) -> set[str]:
        """The scorecard keys sent at the clock's current time."""
        return {k for k, at in self.outputs.sent_at if at == self.clock.now}

    def revenues(self, key: str) -> list[str]:
        return [v["kpis"]["revenue"] for k, v in self.outputs.sent["scorecards"] if k == key and v is not None]


def test_the_rep_partitions_and_the_org_stage_send_a_month_not_rendered_within_the_interval_right_away() -> None:
    split = PacedSplit()
    assert [partition_of(r, PARTITIONS) for r in ("r3", "r1", "r5", "r2")] == [0, P_R1, P_R2, P_R2]

    async def go() -> None:
        await split.feed(EVERY_PARTITION)  # t=100: every stage's first flush renders everything
        assert {"rep:r1:2026-11", "team:t1:2026-11", "company:*:2026-11"} <= split.sent_now()
        split.clock.now += 0.1
        sent_ms = int(time.time() * 1000)  # the input was sent just now: on time
        await split.feed([f.deal("d2", "r1", "c2", "500.00", event_id="deal-d2-v1"),
                          f.roster("r2", "t1", event_id="roster-r2"),
                          f.deal("d3", "r2", "c3", "700.00", event_id="deal-d3-v1")], since=sent_ms)
        # r2's month was never rendered: partition 2 sends it after this very message. r1's
        # month, the team's and the company's were rendered 0.1 s ago: they wait.
        assert split.sent_now() == {"rep:r2:2026-11"}
        # the batch routed to partition 2 carries when the input was sent
        assert [b.since for p, b in split.routed if p == P_R2 and b.facts][-1] == sent_ms
        split.clock.now += 0.3  # t=100.4: still within their interval
        await split.tick()
        assert not split.sent_now()
        split.clock.now += 0.15  # t=100.55: the interval passed
        await split.tick()
        assert split.sent_now() >= {"rep:r1:2026-11", "team:t1:2026-11", "company:*:2026-11"}

    asyncio.run(go())
    assert split.revenues("rep:r1:2026-11") == ["1000.00", "1500.00"]
    assert split.revenues("rep:r2:2026-11") == ["700.00"]
    assert split.revenues("team:t1:2026-11") == ["1110.00", "2310.00"]  # + 500 + 700


def test_a_rep_partition_behind_on_the_whole_path_waits_for_the_cadence() -> None:
    # The org stage forwards when the input was sent; a minute ago is a backlog, even
    # though the hop from the org stage took no time.
    split = PacedSplit()

    async def go() -> None:
        await split.feed(EVERY_PARTITION)
        split.clock.now += 0.1
        a_minute_ago = int(time.time() * 1000) - 60_000
        await split.feed([f.roster("r2", "t1", event_id="roster-r2"),
                          f.deal("d3", "r2", "c3", "700.00", event_id="deal-d3-v1")], since=a_minute_ago)
        assert split.reps.stage(P_R2).behind and split.org.behind
        assert not split.sent_now()  # no leading-edge flush anywhere
        split.clock.now += 0.45  # t=100.55: the partition's cadence (its first flush was at t=100)
        await split.tick()
        assert "rep:r2:2026-11" in split.sent_now()

    asyncio.run(go())
    assert split.revenues("rep:r2:2026-11") == ["700.00"]


@pytest.mark.parametrize("shared", [True, False])
def test_partitions_of_one_worker_share_the_loop_time_of_their_leading_edge_flushes(shared: bool) -> None:
    # A 2 s interval keeps the cadence out of the way: only the leading edge sends here.
    split = PacedSplit(coalesce_ms=2000)
    assert (partition_of("r7", PARTITIONS), partition_of("r4", PARTITIONS)) == (P_R1, P_R2)

    async def go() -> None:
        await split.feed(EVERY_PARTITION)  # t=100
        if not shared:  # the control: a budget of its own per stage
            for stage in (split.org, *split.reps.stages.values()):
                stage.budget = RenderBudget()
        slow = split.reps.stage(P_R1).engine
        assert slow is not None
        render = slow.render

        def slow_render(*key: str) -> Any:
            split.clock.now += 0.8  # this partition's month takes 0.8 s to render
            return render(*key)

        slow.render = slow_render  # type: ignore[method-assign]
        split.clock.now = 100.5
        await split.feed([f.roster("r7", "t1", event_id="roster-r7"),
                          f.deal("d7", "r7", "c7", "300.00", event_id="deal-d7-v1")])
        # r7's month went out (t=100.5 -> 101.3): credit 0.1 - 0.8 = -0.7 s when shared,
        # more than a leading-edge flush may borrow (0.5 s)
        assert split.revenues("rep:r7:2026-11") == ["300.00"] and split.clock.now == pytest.approx(101.3)
        slow.render = render  # type: ignore[method-assign]
        await split.feed([f.roster("r4", "t1", event_id="roster-r4"),
                          f.deal("d4", "r4", "c4", "400.00", event_id="deal-d4-v1")])
        if not shared:
            assert "rep:r4:2026-11" in split.sent_now()  # its own budget was untouched
            return
        assert split.sent_now() == {"rep:r7:2026-11"}  # sent at 101.3, before r4's message
        assert ("rep", "r4", "2026-11") in split.reps.stage(P_R2).engine.dirty
        split.clock.now += 0.2  # credit back at half a second per second: -0.7 + 0.1 = -0.6
        await split.tick()
        assert not split.sent_now()
        split.clock.now += 0.3  # -0.7 + 0.25 = -0.45: within the months' reserve, the leading edge goes on
        await split.tick()
        assert split.sent_now() == {"rep:r4:2026-11"}

    asyncio.run(go())
    assert split.revenues("rep:r4:2026-11") == ["400.00"]


@pytest.mark.parametrize("values", [False, True], ids=["facts", "company-from-values"])
@pytest.mark.parametrize("seed", range(4))
def test_paced_split_stages_never_send_a_key_twice_within_its_interval_and_end_as_the_whole_computation(
        seed: int, values: bool) -> None:
    # With the company from the team partitions' values, each partition sends them at most
    # once per interval (but the first, every value of its epoch), and those still waiting
    # go out with the ticks.
    rng = random.Random(seed)
    reps = ["r1", "r2", "r3", "r4", "r6", "r7"]  # two per partition
    assert {partition_of(r, PARTITIONS) for r in reps} == set(range(PARTITIONS))
    facts = f.deals_and_calls(rng, reps, 150)
    if values:
        facts = validated_facts([f.roster(r, f"t{i % 3}", effective_at="2026-01-01T00:00:00+08:00")
                                 for i, r in enumerate(reps)]) + facts
    split = PacedSplit(values=values)

    async def go() -> None:
        position = 0
        while position < len(facts):
            size = rng.randint(0, 4)  # 0: a tick
            if size:
                await split.feed(facts[position:position + size])
            else:
                await split.tick()
            position += size
            split.clock.now += rng.choice([0.0, 0.01, 0.05, 0.2, 0.45, 0.6])
        for _ in range(10):  # the timer goes on until nothing is pending
            split.clock.now += 0.5
            await split.tick()

    asyncio.run(go())
    stages = [split.org, *split.reps.stages.values(), *split.teams.stages.values()]
    assert all(s.engine is not None and not s.engine.dirty and not s.set_aside for s in stages)
    last: dict[str, float] = {}
    for key, at in split.outputs.sent_at:
        assert key not in last or at - last[key] >= 0.5, (key, last.get(key), at)
        last[key] = at
    if values:
        sent_last: dict[int, float] = {}
        for at, partition, rows in split.values_sent:
            owed = any(row.get("complete") for row in rows)
            assert owed or partition not in sent_last or at - sent_last[partition] >= 0.5, (partition, at)
            sent_last[partition] = at
        assert len(sent_last) == len(split.teams.stages) > 1
        assert split.org.engine is not None and split.org.engine.clock() == split.org.engine.as_of
    whole = Whole()

    async def oracle() -> None:
        await whole.feed(facts)
        await whole.settle()

    asyncio.run(oracle())
    as_of = ("as_of",)  # when each key was last rendered, not what it shows
    expected = {k: v and {n: x for n, x in v.items() if n not in as_of}
                for k, v in _last(whole.outputs.sent["scorecards"]).items()}
    got = {k: v and {n: x for n, x in v.items() if n not in as_of}
           for k, v in _last(split.outputs.sent["scorecards"]).items()}
    assert {k.split(":")[0] for k in expected} == {"rep", "team", "company"}
    assert sorted(got) == sorted(expected)
    for key in expected:
        assert got[key] == expected[key], key


def test_a_team_partition_asks_for_a_tick_when_only_values_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # Its values go out at most once per interval. When nothing else is due (no key to
    # render, none set aside), the values still waiting must keep its timer ticking, or
    # the last ones would wait for the next message. The rest of tick_due is taken out
    # here, so only the values' term answers.
    split = PacedSplit(values=True)
    team = partition_of("t1", PARTITIONS)

    async def go() -> None:
        await split.feed(EVERY_PARTITION)  # t=100: every value of the epoch goes out at once
        stage = split.teams.stage(team)
        sent = len(split.values_sent)
        monkeypatch.setattr(PartitionStage, "tick_due", lambda self: False)
        split.clock.now += 0.1
        await split.feed([f.activity("r1", "call", occurred_at="2026-11-20T09:00:00+08:00", customer_id="c1",
                                     effective=True)])
        assert len(split.values_sent) == sent and not stage.tick_due()  # within the interval: not yet
        split.clock.now += 0.45
        assert stage.tick_due()  # the interval passed: the call's value waits
        await stage.on_batch(Batch())
        assert [rows[0]["day"] for _, p, rows in split.values_sent[sent:] if p == team] == ["2026-11-20"]
        assert not stage.tick_due()

    asyncio.run(go())


def test_values_whose_send_failed_are_all_owed_again_so_no_later_marker_confirms_them() -> None:
    # The days a send takes are gone from the engine's notes; if the send fails, a later
    # marker (a clock, a close) must not reach the org stage before those values do.
    split = PacedSplit(values=True)
    team = partition_of("t1", PARTITIONS)

    async def go() -> None:
        await split.feed(EVERY_PARTITION)
        split.clock.now += 0.6
        split.fail_values = True
        await split.feed([f.activity("r1", "call", occurred_at="2026-11-20T09:00:00+08:00", customer_id="c1",
                                     effective=True)])
        split.fail_values = False
        sent = len(split.values_sent)
        split.clock.now += 0.6
        await split.tick()
        again = [rows for _, p, rows in split.values_sent[sent:] if p == team]
        assert again and any(row.get("complete") for row in again[0])  # every value of the partition again
        assert "2026-11-20" in {row.get("day") for row in again[0]}

    asyncio.run(go())


@pytest.mark.parametrize("month_seconds", [0.3, 0.8])
def test_a_slow_regular_flush_of_one_partition_holds_back_the_leading_edge_of_another_beyond_the_reserve(
        month_seconds: float) -> None:
    split = PacedSplit(coalesce_ms=2000)

    async def go() -> None:
        await split.feed(EVERY_PARTITION)  # t=100
        split.clock.now = 102.05  # every cadence is due: partition 2 (and the org stage) flush on theirs
        await split.feed([f.deal("d6", "r5", "c6", "20.00", event_id="deal-d6-v1")])
        slow = split.reps.stage(P_R1).engine
        assert slow is not None
        render = slow.render

        def slow_render(scope: str, id: str, label: str) -> Any:
            if label == "2026-11":
                split.clock.now += month_seconds  # this partition's month takes that long to render
            return render(scope, id, label)

        slow.render = slow_render  # type: ignore[method-assign]
        split.clock.now = 102.1
        await split.feed([f.deal("d2", "r1", "c2", "500.00", event_id="deal-d2-v1")])  # partition 1's cadence
        slow.render = render  # type: ignore[method-assign]
        assert split.revenues("rep:r1:2026-11") == ["1000.00", "1500.00"]
        owed = 0.1 - month_seconds
        assert split.clock.now == pytest.approx(102.1 + month_seconds) and split.budget.credit == pytest.approx(owed)
        await split.feed([f.roster("r4", "t1", event_id="roster-r4"),
                          f.deal("d4", "r4", "c4", "400.00", event_id="deal-d4-v1")])
        if owed > -0.5:  # months may borrow up to half a second: r4's month goes out right away
            assert "rep:r4:2026-11" in split.sent_now()
            return
        assert "rep:r4:2026-11" not in split.sent_now()  # a regular flush spent more than the reserve
        split.clock.now += 0.2  # -0.6
        await split.tick()
        assert not split.sent_now()
        split.clock.now += 0.3  # -0.45, before partition 2's cadence (104.05)
        await split.tick()
        assert split.sent_now() == {"rep:r4:2026-11"}

    asyncio.run(go())


def test_the_org_stages_boards_are_whole_after_its_first_flush_and_again_after_a_rebuild() -> None:
    split = Split()
    facts = validated_facts([f.roster("r1", "t1"), f.roster("r2", "t2"), f.deal("d1", "r1", "c1", "100.00"),
                        f.deal("d2", "r2", "c2", "300.00")])
    split.org.on_assigned()
    split.reps.assign(set(range(PARTITIONS)))

    def board() -> list[tuple[int, str, Any]]:
        return [(r["rank"], r["rep_id"], r["value"]) for r in split.org.boards.board("company", "2026-11", "revenue")]

    async def go() -> tuple[list, bool, list, bool, list]:
        await split.feed(facts)
        await split.settle()
        settled = board()
        split.org.on_revoked()
        await split.org.rebuild()  # the board rows come back from the board_rows table at once
        rebuilt = split.org.boards_ready, board()
        await split.org.on_batch(Batch())  # its first flush
        return settled, *rebuilt, split.org.boards_ready, board()

    whole = [(1, "r2", "300.00"), (2, "r1", "100.00")]
    assert asyncio.run(go()) == (whole, False, whole, True, whole)
