"""Awards with partitioned stages (contract §11), over dict tables: the org stage and the rep
partitions (and, with ``teams``, the team partitions, which report the teams' figures) decide
the same events, ids and bonuses as the whole stage (``AggregationStage``), and a rebuild of
any side at any point sends nothing new and pays no bonus twice."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sales_scorecard.core.award_figures import closed_period
from sales_scorecard.core.award_reports import REP, TEAM, ReportChunk, Reporter
from sales_scorecard.core.awards import decide
from sales_scorecard.streams.aggregation import AggregationStage
from sales_scorecard.streams.fact_batches import Batch, decode_batch
from sales_scorecard.streams.fact_routes import partition_of
from sales_scorecard.streams.metrics import Metrics
from sales_scorecard.streams.org_stage import OrgStage
from sales_scorecard.streams.rep_stage import RepStages
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.team_stage import TeamStages
from tests import factories as f
from tests.unit.test_aggregation_stage import run
from tests.unit.test_award_stage import AwardOutputs, new_tables

PARTITIONS = 3
MONTHS = ("2026-09", "2026-10", "2026-11", "2026-12")
#: partitions of 3: r1 1, r2 2, r3 0, r4 2, r5 2, r6 0
TEAMS = {"r1": "t1", "r2": "t1", "r3": "t1", "r4": "t2", "r5": "t2", "r6": "t2"}
#: won revenue per rep and month (thousands) against a 100,000.00 target every month
REVENUE = {
    "r1": (90, 120, 130, 80), "r2": (60, 70, 150, 160), "r3": (110, 40, 100, 105),
    "r4": (30, 95, 125, 140), "r5": (100, 100, 100, 100), "r6": (0, 20, 60, 180),
}
PLAN = """awards:
  - {award: star_rep, rule: top_rep_score, period: month, min_attainment: "1.0", bonus: "2000.00"}
  - {award: star_manager, rule: top_team_score, period: month, min_attainment: "1.0"}
  - {award: most_improved, rule: score_gain, period: quarter, bonus: "1500.00"}
  - {award: top_10_percent, rule: top_decile, period: year, bonus: "500.00"}
"""


def history() -> list[dict[str, Any]]:
    """Six reps of two teams over September to December; r7 has a roster entry only (no
    figures); r6 moves from t2 to t1 on 1 November."""
    events: list[dict[str, Any]] = [f.roster("r7", "t2", manager_id="m-t2", event_id="roster-r7")]
    for rep, team in TEAMS.items():
        events.append(f.roster(rep, team, manager_id=f"m-{team}", event_id=f"roster-{rep}"))
        for i, month in enumerate(MONTHS):
            events.append(f.target("rep", rep, month, "100000.00"))
            if REVENUE[rep][i]:
                events.append(f.deal(f"d-{rep}-{month}", rep, f"c-{rep}-{month}", f"{REVENUE[rep][i] * 1000}.00",
                                     closed_at=f"{month}-15T10:00:00+08:00", created_at="2026-08-01T10:00:00+08:00",
                                     event_id=f"deal-{rep}-{month}"))
    events.append({**f.roster("r6", "t1", manager_id="m-t1", effective_at="2026-11-01T00:00:00+08:00"),
                   "event_id": "transfer-r6"})
    return events


def _settings(plan: Path, partitions: int = PARTITIONS) -> Settings:
    return Settings(coalesce_ms=0, leaderboard_ms=0, store="memory", partitions=partitions, award_plan=str(plan))


def _clock() -> Callable[[], int]:
    ticks = iter(range(0, 10**9, 10))
    return lambda: next(ticks)


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "awards.yaml"
    path.write_text(PLAN)
    return path


class Whole:
    """The whole computation in one stage."""

    def __init__(self, plan: Path) -> None:
        self.outputs = AwardOutputs()
        self.tables = new_tables()
        self.stage = AggregationStage(_settings(plan), self.tables, self.outputs.stage_outputs(), Metrics(),
                                      monotonic=_clock())

    def feed(self, facts: list[dict[str, Any]]) -> None:
        run(self.stage.on_batch(Batch(facts)))


class Split:
    """The org stage and the rep partitions (with ``teams``, the team partitions too) over
    dict tables; messages between them are queued (``to_rep``, ``to_team``, ``to_org``) and
    delivered in order by ``deliver``, so a test can hold some back, drop them (lost by a
    crash) or restart a stage (a rebuild)."""

    def __init__(self, plan: Path, partitions: int = PARTITIONS, teams: bool = False) -> None:
        self.settings = _settings(plan, partitions)
        self.partitions = partitions
        self.with_teams = teams
        self.outputs = AwardOutputs()
        self.org_tables, self.rep_tables, self.team_tables = new_tables(), new_tables(), new_tables()
        self.board_rows: dict[str, Any] = {}
        self.to_rep: list[tuple[int, bytes]] = []
        self.to_team: list[tuple[int, bytes]] = []
        self.to_org: list[bytes] = []
        self.restart_org()
        self.reps = RepStages(self.settings, self.rep_tables, self.outputs.stage_outputs(), Metrics(),
                              self._send_to_org, monotonic=_clock())
        self.teams = TeamStages(self.settings, self.team_tables, self.outputs.stage_outputs(), Metrics(),
                                self._send_to_org, monotonic=_clock())

    async def _send_to_rep(self, partition: int, value: bytes) -> None:
        self.to_rep.append((partition, value))

    async def _send_to_team(self, partition: int, value: bytes) -> None:
        self.to_team.append((partition, value))

    async def _send_to_org(self, key: bytes, value: bytes | None) -> None:
        assert value is not None
        self.to_org.append(value)

    def restart_org(self) -> None:
        """A new org stage over the same tables: it rebuilds at its next message."""
        self.org = OrgStage(self.settings, self.org_tables, self.outputs.stage_outputs(), Metrics(),
                            self._send_to_rep, self.board_rows, monotonic=_clock(),
                            send_to_team=self._send_to_team if self.with_teams else None)

    def restart_rep(self, partition: int) -> None:
        """The partition's stage dropped and created again over its rows: a rebuild."""
        self.reps.revoke({partition})
        run(self.reps.stage(partition).on_batch(Batch()))

    def restart_team(self, partition: int) -> None:
        """The team partition's stage dropped and created again over its rows: a rebuild."""
        self.teams.revoke({partition})
        run(self.teams.stage(partition).on_batch(Batch()))

    def deliver(self, keep: Callable[[Batch], bool] = lambda batch: True) -> None:
        """Deliver every queued message (and what they cause) in order; ``keep`` false:
        the message to the org stage is set aside in ``held``."""
        self.held: list[bytes] = []
        while self.to_rep or self.to_team or self.to_org:
            while self.to_rep:
                partition, value = self.to_rep.pop(0)
                run(self.reps.stage(partition).on_batch(decode_batch(value)))
            while self.to_team:
                partition, value = self.to_team.pop(0)
                run(self.teams.stage(partition).on_batch(decode_batch(value)))
            while self.to_org:
                value = self.to_org.pop(0)
                batch = decode_batch(value)
                if keep(batch):
                    run(self.org.on_batch(batch))
                else:
                    self.held.append(value)

    def feed(self, facts: list[dict[str, Any]], keep: Callable[[Batch], bool] = lambda batch: True) -> None:
        run(self.org.on_batch(Batch(facts)))
        self.deliver(keep)

    def paid(self, rep_id: str, month: str) -> dict[str, Any]:
        """The rep's paid state of the month in its partition's rows."""
        return self.rep_tables.payroll_state[f"{partition_of(rep_id, self.partitions)}/{rep_id}:{month}"]


def awards(outputs: AwardOutputs) -> dict[str, dict[str, Any]]:
    """Every award event sent, by id; an id sent twice must repeat its content."""
    out: dict[str, dict[str, Any]] = {}
    for key, event in outputs.sent["awards"]:
        assert out.setdefault(key, event) == event, key
    return out


def bonus_adjustments(outputs: AwardOutputs) -> dict[str, tuple]:
    """Every award adjustment sent, by id, without when it was sent; an id sent twice
    must repeat its figures."""
    out: dict[str, tuple] = {}
    for _, v in outputs.sent["payroll"]:
        if v["type"] == "payroll.adjustment" and v["reason"] == "award":
            figures = (v["rep_id"], v["original_period"], v["original_statement_id"], v["delta_revenue"],
                       v["delta_commission"], v["apply_in_period"])
            assert out.setdefault(v["adjustment_id"], figures) == figures, v["adjustment_id"]
    return out


def without_apply_month(outputs: AwardOutputs) -> dict[str, tuple]:
    return {k: v[:-1] for k, v in bonus_adjustments(outputs).items()}


def closes() -> list[dict[str, Any]]:
    return [f.close_period(month) for month in MONTHS]


def reports_of(partition: int, stage: str = REP) -> Callable[[Batch], bool]:
    """Whether a message to the org stage is anything but a report of ``partition`` of ``stage``."""
    return lambda batch: not any(ReportChunk.from_json(r).reporter == Reporter(stage, partition)
                                 for r in batch.award_reports + batch.team_award_reports)


#: both shapes of the partitioned stages: the org stage renders the teams' figures, or the
#: team partitions do
WITH_TEAMS = pytest.mark.parametrize("teams", [False, True], ids=["org-teams", "team-stage"])


@WITH_TEAMS
def test_the_split_stages_award_what_the_whole_stage_awards_with_the_same_bonuses(plan: Path, teams: bool) -> None:
    whole, split = Whole(plan), Split(plan, teams=teams)
    for facts in (history(), closes()):
        whole.feed(facts)
        split.feed(facts)
    want = awards(whole.outputs)
    # Q3 is decided too, with no award: nobody has a Q2 score to gain over
    assert set(whole.tables.awards) == {*MONTHS, "2026-Q3", "2026-Q4", "2026"} and not whole.tables.awards["2026-Q3"]
    assert {e["period"] for e in want.values()} == {*MONTHS, "2026-Q4", "2026"}
    assert {e["award"] for e in want.values()} == {"star_rep", "star_manager", "most_improved", "top_10_percent"}
    assert awards(split.outputs) == want
    assert split.org_tables.awards == whole.tables.awards
    # The same bonuses: ids, reps, statements and figures. ``apply_in_period`` is the first
    # open month when the bonus is posted: the whole stage posts September's at September's
    # close, the rep partition once the org stage's decision is back, when the four closes
    # sent together are all applied.
    assert without_apply_month(split.outputs) == without_apply_month(whole.outputs)
    assert {a[-1] for a in bonus_adjustments(split.outputs).values()} == {"2027-01"}
    winners = {e["winner_id"] for e in want.values() if e["bonus"] is not None}
    assert len({partition_of(rep, PARTITIONS) for rep in winners}) >= 2  # bonuses paid in several partitions
    for adjustment_id, (rep, month, *_) in bonus_adjustments(whole.outputs).items():
        assert adjustment_id in split.paid(rep, month)["appeal_ids"]
        # ... and the org stage's copy of the paid state (the payroll view) has it too
        assert adjustment_id in split.org_tables.payroll_state[f"{rep}:{month}"]["appeal_ids"]
    # Everything collected for the decisions is dropped once decided; every report settled.
    assert split.org_tables.award_reports == {}
    assert all(row == {"settled": True} for row in split.rep_tables.award_reports.values())
    # A second close decides nothing and reports nothing.
    sent = len(split.outputs.sent["awards"])
    split.feed([{**f.close_period("2026-11"), "event_id": "close-again"}])
    assert len(split.outputs.sent["awards"]) == sent


@WITH_TEAMS
def test_a_period_is_decided_once_every_partition_has_reported_it(plan: Path, teams: bool) -> None:
    split = Split(plan, teams=teams)
    split.feed(history())
    split.feed([f.close_period("2026-09")], keep=reports_of(0))
    assert split.outputs.sent["awards"] == [] and split.held  # partition 0's report held back
    assert split.org_tables.awards == {} and "2026-09" in split.org_tables.award_reports
    for value in split.held:
        run(split.org.on_batch(decode_batch(value)))
    split.deliver()
    assert set(split.org_tables.awards) == {"2026-09", "2026-Q3"}
    assert {e["period"] for e in awards(split.outputs).values()} == {"2026-09"}


@WITH_TEAMS
def test_partitions_without_reps_report_empty_and_the_period_is_decided(plan: Path, teams: bool) -> None:
    # With 4 partitions r1 and r2 are both in partition 0: 1, 2 and 3 have no rep.
    assert {partition_of(r, 4) for r in ("r1", "r2")} == {0}
    facts = [f.roster("r1", "t1", event_id="roster-r1"), f.roster("r2", "t1", event_id="roster-r2"),
             f.target("rep", "r1", "2026-11", "100000.00"), f.target("rep", "r2", "2026-11", "100000.00"),
             f.deal("d1", "r1", "c1", "120000.00", event_id="deal-d1"),
             f.deal("d2", "r2", "c2", "50000.00", event_id="deal-d2")]
    whole, split = Whole(plan), Split(plan, partitions=4, teams=teams)
    for run_ in (whole, split):
        run_.feed(facts)
        run_.feed([f.close_period("2026-11")])
    # r1 alone reached target (120 %): star_rep and its bonus; t1 at 85 % wins no star_manager.
    assert list(awards(split.outputs)) == ["award:star_rep:2026-11:r1"] == list(awards(whole.outputs))
    assert awards(split.outputs) == awards(whole.outputs)
    assert bonus_adjustments(split.outputs) == {
        "adj:award:star_rep:2026-11:r1": ("r1", "2026-11", "stmt:r1:2026-11", "0.00", "2000.00", "2026-12")}


@WITH_TEAMS
def test_team_figures_are_those_at_the_close_not_when_the_reports_arrive(plan: Path, teams: bool) -> None:
    # A late deal of a closed month reaches the org stage (and the team partitions) before
    # the rep partitions have reported: the team awards are decided over the figures right
    # after the close, as the whole stage decides them.
    late = f.deal("late", "r6", "c-late", "400000.00", closed_at="2026-09-20T10:00:00+08:00",
                  occurred_at="2026-12-02T10:00:00+08:00", event_id="deal-late")
    whole, split = Whole(plan), Split(plan, teams=teams)
    whole.feed(history())
    whole.feed([f.close_period("2026-09")])
    whole.feed([late])
    split.feed(history())
    run(split.org.on_batch(Batch([f.close_period("2026-09")])))
    run(split.org.on_batch(Batch([late])))
    split.deliver()
    assert awards(split.outputs) == awards(whole.outputs)
    # The late deal would have moved September's star_manager (t2 only reaches target with it):
    # decided now, over every figure the whole engine holds after it (the org engine renders
    # no rep figures).
    assert whole.stage.engine is not None
    teams_now = {e["event_id"] for e in decide(split.org.award_plan, closed_period(whole.stage.engine, "2026-09"),
                                                "").events if e["scope"] == "team"}
    assert teams_now != {e for e, v in awards(whole.outputs).items() if v["scope"] == "team"}


@WITH_TEAMS
def test_a_rebuilt_org_stage_resends_the_recorded_awards_and_pays_no_bonus_twice(plan: Path, teams: bool) -> None:
    split = Split(plan, teams=teams)
    split.feed(history())
    split.feed(closes())
    first, bonuses = awards(split.outputs), bonus_adjustments(split.outputs)
    split.outputs.sent["awards"], split.outputs.sent["payroll"] = [], []
    split.restart_org()
    split.feed([])  # a tick: the rebuild
    # every recorded event again, unchanged; every bonus adjustment again, same id and figures
    assert awards(split.outputs) == first
    assert bonus_adjustments(split.outputs) == bonuses
    owed: dict[tuple[str, str], Decimal] = {}
    for rep, month, _, _, commission, _ in bonuses.values():
        owed[(rep, month)] = owed.get((rep, month), Decimal(0)) + Decimal(commission)
    for adjustment_id, (rep, month, *_) in bonuses.items():
        paid = split.paid(rep, month)
        assert paid["appeal_ids"].count(adjustment_id) == 1
        assert Decimal(paid["appeal_commission"]) == owed[(rep, month)]  # each bonus once
    assert max(owed.values()) > Decimal("2000.00")  # a rep-month with two bonuses (December)


@WITH_TEAMS
def test_a_crash_before_the_org_records_a_period_decides_it_again_the_same(plan: Path, teams: bool) -> None:
    split = Split(plan, teams=teams)
    split.feed(history())
    split.feed([f.close_period("2026-09")], keep=reports_of(2))
    before, last = copy.deepcopy(split.org_tables.award_reports), split.held
    for value in last:  # the last report: the decision goes out ...
        run(split.org.on_batch(decode_batch(value)))
    split.deliver()
    first, bonuses = awards(split.outputs), bonus_adjustments(split.outputs)
    assert {e["period"] for e in first.values()} == {"2026-09"} and bonuses
    # ... and the worker dies before the record and the forget reached the changelog: the
    # report is read again by a rebuilt org stage
    split.org_tables.awards.clear()
    split.org_tables.award_reports.clear()
    split.org_tables.award_reports.update(before)
    split.restart_org()
    for value in last:
        run(split.org.on_batch(decode_batch(value)))
    split.deliver()
    assert awards(split.outputs) == first  # the same ids with the same content
    assert bonus_adjustments(split.outputs) == bonuses
    for adjustment_id, (rep, month, *_) in bonuses.items():
        assert split.paid(rep, month)["appeal_ids"].count(adjustment_id) == 1
    assert set(split.org_tables.awards) == {"2026-09", "2026-Q3"}


@WITH_TEAMS
def test_a_rebuilt_rep_partition_sends_again_only_the_reports_not_answered(plan: Path, teams: bool) -> None:
    split = Split(plan, teams=teams)
    split.feed(history())
    # Partition 1 reported September and Q3 and kept the record, but the send was lost.
    split.feed([f.close_period("2026-09")], keep=reports_of(1))
    assert split.org_tables.awards == {}
    assert {"1/2026-09", "1/2026-Q3"} <= {k for k, row in split.rep_tables.award_reports.items() if "chunks" in row}
    split.restart_rep(1)
    split.deliver()
    assert set(split.org_tables.awards) == {"2026-09", "2026-Q3"}
    # Settled now: another rebuild sends no report.
    split.restart_rep(1)
    assert not any(decode_batch(value).award_reports for value in split.to_org)


@WITH_TEAMS
def test_a_report_of_a_decided_period_gets_its_decision_again_and_the_bonus_is_paid_once(plan: Path,
                                                                                          teams: bool) -> None:
    split = Split(plan, teams=teams)
    split.feed(history())
    split.feed([f.close_period("2026-09")])
    bonuses = bonus_adjustments(split.outputs)
    september = [(rep, month) for rep, month, *_ in bonuses.values()]
    assert september
    partition = partition_of(september[0][0], PARTITIONS)
    # The partition posted its bonus but lost the settled mark (kill -9): its rebuild sends
    # the report again, the org stage answers with the decision, the bonus goes out again
    # with the same id and figures and is not paid again.
    key = f"{partition}/2026-09"
    split.rep_tables.award_reports[key] = {"chunks": [ReportChunk("2026-09", partition, 0, 1).to_json()]}
    split.outputs.sent["payroll"] = []
    split.restart_rep(partition)
    assert [r["period"] for v in split.to_org for r in decode_batch(v).award_reports] == ["2026-09"]
    split.deliver()
    again = bonus_adjustments(split.outputs)
    assert again and set(again) <= set(bonuses)
    assert all(again[k] == bonuses[k] for k in again)
    for adjustment_id in again:
        rep, month = bonuses[adjustment_id][:2]
        assert split.paid(rep, month)["appeal_ids"].count(adjustment_id) == 1
    assert split.rep_tables.award_reports[key] == {"settled": True}
    assert len(awards(split.outputs)) == len({k for k, _ in split.outputs.sent["awards"]})  # nothing decided anew


@WITH_TEAMS
def test_an_org_stage_that_lost_the_record_and_the_reports_asks_the_partitions_again(plan: Path, teams: bool) -> None:
    split = Split(plan, teams=teams)
    split.feed(history())
    split.feed([f.close_period("2026-09")])
    first, bonuses = awards(split.outputs), bonus_adjustments(split.outputs)
    assert first and all(row == {"settled": True} for row in split.rep_tables.award_reports.values())
    # A kill -9 kept the forgetting of September's reports and lost its record and its
    # events; every partition took the decision in, so none would report again by itself.
    split.org_tables.awards.clear()
    split.org_tables.award_reports.clear()
    split.outputs.sent["awards"], split.outputs.sent["payroll"] = [], []
    split.restart_org()
    split.feed([])  # the rebuild keeps September and Q3 again and asks every partition
    assert awards(split.outputs) == first  # decided again over the same figures: the same events
    assert bonus_adjustments(split.outputs) == bonuses  # sent again, same ids and figures ...
    for adjustment_id, (rep, month, *_) in bonuses.items():
        assert split.paid(rep, month)["appeal_ids"].count(adjustment_id) == 1  # ... not paid again
    assert set(split.org_tables.awards) == {"2026-09", "2026-Q3"} and split.org_tables.award_reports == {}


def test_with_a_team_stage_a_period_waits_for_every_team_partition_and_the_org_keeps_no_team_of_theirs(
        plan: Path) -> None:
    split = Split(plan, teams=True)
    split.feed(history())
    owner = partition_of("t1", PARTITIONS)
    split.feed(closes(), keep=reports_of(owner, TEAM))
    assert split.held and split.org_tables.awards == {}  # every rep partition reported; t1's partition did not
    # the org stage kept the decision time and no team of a team partition (it owns only ``unassigned``)
    for period in (*MONTHS, "2026-Q4", "2026"):
        assert {t["team_id"] for t in split.org_tables.award_reports[period]["teams"]} <= {"unassigned"}
    held = [r for v in split.held for r in decode_batch(v).team_award_reports]
    assert not any(decode_batch(v).award_reports for v in split.held)  # a field an earlier org stage ignores
    # t1's figures (and those of any team of the same partition) come from its partition
    assert {t["team_id"] for r in held for t in r["teams"]} == {t for t in ("t1", "t2")
                                                               if partition_of(t, PARTITIONS) == owner}
    for value in split.held:
        run(split.org.on_batch(decode_batch(value)))
    split.deliver()
    assert set(split.org_tables.awards) == {*MONTHS, "2026-Q3", "2026-Q4", "2026"}
    whole = Whole(plan)
    whole.feed(history())
    whole.feed(closes())
    assert awards(split.outputs) == awards(whole.outputs)
    assert any(e["scope"] == "team" for e in awards(whole.outputs).values())  # a team award among them
    # the decision came back to every team partition: each report settled
    assert split.team_tables.award_reports and all(
        row == {"settled": True} for row in split.team_tables.award_reports.values())


def test_a_rebuilt_team_partition_sends_again_only_the_reports_not_answered(plan: Path) -> None:
    split = Split(plan, teams=True)
    split.feed(history())
    owner = partition_of("t2", PARTITIONS)
    # The partition reported September and Q3 and kept the record, but the send was lost.
    split.feed([f.close_period("2026-09")], keep=reports_of(owner, TEAM))
    assert split.org_tables.awards == {}
    kept = {k for k, row in split.team_tables.award_reports.items() if "chunks" in row}
    assert {f"{owner}/2026-09", f"{owner}/2026-Q3"} <= kept
    split.restart_team(owner)
    split.deliver()
    assert set(split.org_tables.awards) == {"2026-09", "2026-Q3"}
    # Settled now: another rebuild sends no report.
    split.restart_team(owner)
    assert not any(decode_batch(value).team_award_reports for value in split.to_org)


def test_a_team_partition_not_fed_reports_nothing_until_it_has_every_fact(plan: Path) -> None:
    # A team partition that lost its tables (as one started beside an org stage that has
    # stored facts) lacks its teams' history until the org stage sends it: it reports no
    # figures of a close meanwhile, and the period waits for it.
    split = Split(plan, teams=True)
    split.feed(history())
    owner = partition_of("t1", PARTITIONS)
    for table in (split.team_tables.facts, split.team_tables.emitted, split.team_tables.alert_state):
        for key in [k for k in table if k.startswith(f"{owner}/")]:
            del table[key]
    lost = lambda batch: not batch.team_requests  # noqa: E731 - its requests are lost
    split.restart_team(owner)
    split.feed([f.close_period("2026-09")], keep=lost)
    assert not split.teams.stage(owner).fed
    assert split.org_tables.awards == {} and not any(
        k.startswith(f"{owner}/") for k in split.team_tables.award_reports)
    split.restart_team(owner)  # asks again at its rebuild: fed, then it reports
    split.deliver()
    assert split.teams.stage(owner).fed
    whole = Whole(plan)
    whole.feed(history())
    whole.feed([f.close_period("2026-09")])
    assert set(split.org_tables.awards) == {"2026-09", "2026-Q3"}
    assert awards(split.outputs) == awards(whole.outputs)


def test_a_period_pending_when_the_team_stage_is_switched_off_is_decided_with_every_team(plan: Path) -> None:
    # Captured beside a team stage (unassigned's figures only) and still waiting for t1's
    # partition (every month) when the workers restart without the team stage: the org stage, which
    # keeps every team's figures again, captures the period again and decides it; the
    # team partitions' rows left of it are dropped.
    split = Split(plan, teams=True)
    split.feed(history())
    owner = partition_of("t1", PARTITIONS)
    split.feed(closes(), keep=reports_of(owner, TEAM))
    assert split.org_tables.awards == {}
    assert any("/team-" in key for key in split.org_tables.award_reports) or PARTITIONS == 1
    split.with_teams = False
    split.restart_org()
    split.feed([])
    whole = Whole(plan)
    whole.feed(history())
    whole.feed(closes())
    assert set(split.org_tables.awards) == {*MONTHS, "2026-Q3", "2026-Q4", "2026"}
    assert any(v["scope"] == "team" for v in awards(whole.outputs).values())
    assert awards(split.outputs) == awards(whole.outputs)
    assert split.org_tables.award_reports == {}


def test_a_team_known_to_the_org_engine_by_its_target_is_ranked_with_its_partitions_figures(plan: Path) -> None:
    # The org engine beside a team stage knows t1 and t2 by their targets, but keeps no
    # figures of theirs: their figures are their partitions', as the whole stage's.
    targets = [f.target("team", team, month, "300000.00") for team in ("t1", "t2") for month in MONTHS]
    whole, split = Whole(plan), Split(plan, teams=True)
    for facts in (history() + targets, closes()):
        whole.feed(facts)
        split.feed(facts)
    assert split.org.engine is not None and split.org.engine.exists("team", "t1", "2026-11")
    assert any(v["scope"] == "team" for v in awards(whole.outputs).values())
    assert awards(split.outputs) == awards(whole.outputs)


def test_a_period_pending_when_a_team_stage_starts_ranks_each_team_once_with_the_figures_of_the_close(
        plan: Path) -> None:
    # November is captured by an org stage that keeps every team's figures, then the
    # workers restart with a team stage before partition 0's report arrives: the team
    # partitions report t1 and t2 too (rendered once they have the history), and each
    # team is ranked once, with the figures captured at the close.
    split = Split(plan, teams=False)
    split.feed(history())
    split.feed([f.close_period("2026-09"), f.close_period("2026-10")])
    split.feed([f.close_period("2026-11")], keep=reports_of(0))
    assert split.held and "2026-11" not in split.org_tables.awards
    assert {t["team_id"] for t in split.org_tables.award_reports["2026-11"]["teams"]} == {"t1", "t2"}
    split.with_teams = True
    split.restart_org()
    held = split.held
    run(split.org.on_batch(Batch()))  # the rebuild beside the team stage
    split.deliver()
    for value in held:
        run(split.org.on_batch(decode_batch(value)))
    split.deliver()
    whole = Whole(plan)
    whole.feed(history())
    whole.feed([f.close_period(month) for month in ("2026-09", "2026-10", "2026-11")])
    assert "2026-11" in split.org_tables.awards
    assert awards(split.outputs) == awards(whole.outputs)
    assert any(v["scope"] == "team" and v["period"] == "2026-11" for v in awards(whole.outputs).values())
