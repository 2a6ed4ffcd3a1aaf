"""Award figures collected across rep and team partitions (core/award_reports.py, contract §11), over dict tables."""

from __future__ import annotations

from decimal import Decimal

from sales_scorecard.core.award_reports import (
    REP,
    TEAM,
    AwardReports,
    PartitionReports,
    ReportChunk,
    Reporter,
    rep_from_json,
    rep_to_json,
    report_chunks,
    reporters,
    team_report_chunks,
)
from sales_scorecard.core.awards import RepFigures, TeamFigures


def rep(rep_id: str, score: str | None = "0.5000", attainment: str | None = "1.0000",
        team: str | None = "t1") -> RepFigures:
    return RepFigures(rep_id, f"Rep {rep_id}", team, "m-1", None if score is None else Decimal(score),
                      None if attainment is None else Decimal(attainment))


TEAMS = (TeamFigures("t1", "m-1", Decimal("0.6000"), Decimal("1.1000")),)


def test_figures_survive_a_round_trip_through_json_nulls_included() -> None:
    for figures in (rep("r1", "0.1234", "1.0000"), rep("r2", None, None, team=None)):
        assert rep_from_json(rep_to_json(figures)) == figures
    assert rep_to_json(rep("r1", "0.1234"))["score"] == "0.1234"  # decimals as text, never floats


def test_a_report_is_cut_in_chunks_and_an_empty_partition_still_reports_one() -> None:
    reps = tuple(rep(f"r{i}") for i in range(5))
    chunks = report_chunks("2026-Q4", 2, reps, reps[:3], size=2)
    # 5 reps by 2: three chunks; the previous quarter's 3 reps by 2 travel in the first two
    assert [(c.chunk, c.chunks, len(c.reps), len(c.previous)) for c in chunks] == [
        (0, 3, 2, 2), (1, 3, 2, 1), (2, 3, 1, 0)]
    assert [r for c in chunks for r in c.reps] == list(reps)
    assert report_chunks("2026-11", 0, (), ()) == (ReportChunk("2026-11", 0, 0, 1),)
    assert ReportChunk.from_json(chunks[1].to_json()) == chunks[1]


def test_a_period_is_complete_once_captured_and_every_chunk_of_every_partition_is_in() -> None:
    table: dict = {}
    reports = AwardReports(table)
    p0 = report_chunks("2026-11", 0, (rep("r3"), rep("r1"), rep("r2")), (), size=2)
    p1 = report_chunks("2026-11", 1, (), ())
    reports.add(p0[0])
    reports.add(p1[0])
    assert reports.missing("2026-11", reporters(2, 0)) == [Reporter(REP, 0)]  # a chunk of partition 0 is to come
    assert reports.complete("2026-11", reporters(2, 0)) is None  # not captured: the org stage's close is not applied
    reports.capture("2026-11", TEAMS, "2026-12-01T00:00:00.000Z")
    assert reports.complete("2026-11", reporters(2, 0)) is None  # partition 0's second chunk is missing
    reports.add(p0[1])
    complete = reports.complete("2026-11", reporters(2, 0))
    assert complete is not None
    closed, at = complete
    assert at == "2026-12-01T00:00:00.000Z"
    assert [r.rep_id for r in closed.reps] == ["r1", "r2", "r3"]  # in id order, as one engine renders them
    assert closed.teams == TEAMS and closed.previous_reps == ()
    assert reports.complete("2026-11", reporters(3, 0)) is None  # a third partition has not reported
    assert reports.missing("2026-11", reporters(3, 0)) == [Reporter(REP, 2)]
    assert reports.pending() == ["2026-11"]


def test_the_first_report_of_a_chunk_is_kept_and_forget_drops_every_row_of_the_period() -> None:
    table: dict = {}
    reports = AwardReports(table)
    reports.capture("2026-12", TEAMS, "at")
    reports.capture("2026-Q4", TEAMS, "at")
    first = report_chunks("2026-12", 0, (rep("r1", "0.9000"),), ())[0]
    reports.add(first)
    reports.add(report_chunks("2026-12", 0, (rep("r1", "0.1000"),), ())[0])  # a later re-send
    complete = reports.complete("2026-12", reporters(1, 0))
    assert complete is not None and complete[0].reps[0].score == Decimal("0.9000")
    assert reports.pending() == ["2026-12", "2026-Q4"]  # the month before its quarter
    reports.forget("2026-12", reporters(1, 0))
    assert set(table) == {"2026-Q4"}


def test_a_partition_reports_each_period_once_and_re_sends_only_what_is_not_settled() -> None:
    table: dict = {}
    reports = PartitionReports(table)
    assert reports.due({"2026-11", "2026-12"}) == ["2026-11", "2026-12", "2026-Q4", "2026"]
    for period in ("2026-11", "2026-12"):
        reports.record(report_chunks(period, 1, (rep("r1"),), ()))
    assert reports.due({"2026-11", "2026-12"}) == ["2026-Q4", "2026"]
    assert [c.period for c in reports.unsettled()] == ["2026-11", "2026-12"]
    assert reports.kept("2026-12") == list(report_chunks("2026-12", 1, (rep("r1"),), ()))
    reports.settle("2026-11")
    assert reports.kept("2026-11") == [] and reports.kept("2026-Q4") == []
    assert reports.settled("2026-11") and not reports.settled("2026-12")
    assert [c.period for c in reports.unsettled()] == ["2026-12"]
    assert table["2026-11"] == {"settled": True}  # the figures are dropped once settled
    assert "2026-11" not in reports.due({"2026-11"})


def test_team_partitions_report_their_teams_and_the_period_waits_for_each_of_them() -> None:
    # Beside a team stage the org stage captures only the teams no team partition owns
    # (``unassigned``); each team partition reports its own, and a team partition's report
    # never stands in for the rep partition of the same index.
    table: dict = {}
    reports = AwardReports(table)
    unassigned = TeamFigures("unassigned", None, Decimal("0.1000"), None)
    t2 = TeamFigures("t2", "m-2", Decimal("0.7000"), Decimal("1.2000"))
    t3 = TeamFigures("t3", "m-3", Decimal("0.2000"), Decimal("0.5000"))
    reports.capture("2026-11", (unassigned,), "at")
    everyone = reporters(2, 2)
    reports.add(report_chunks("2026-11", 0, (rep("r1"),), ())[0])
    reports.add(report_chunks("2026-11", 1, (rep("r2"),), ())[0])
    reports.add(team_report_chunks("2026-11", 1, (t3, t2))[0])
    assert reports.missing("2026-11", everyone) == [Reporter(TEAM, 0)]
    assert reports.complete("2026-11", everyone) is None
    assert reports.complete("2026-11", reporters(2, 0)) is not None  # without a team stage: complete
    empty = team_report_chunks("2026-11", 0, ())
    assert empty == (ReportChunk("2026-11", 0, 0, 1, stage=TEAM),)  # a partition owning no team: one empty chunk
    reports.add(empty[0])
    complete = reports.complete("2026-11", everyone)
    assert complete is not None
    # every team in id order, as one engine renders them
    assert [t.team_id for t in complete[0].teams] == ["t2", "t3", "unassigned"]
    assert complete[0].teams[0] == t2
    reports.forget("2026-11", everyone)
    assert table == {}


def test_a_team_chunk_survives_json_and_a_rep_chunk_is_written_as_before() -> None:
    teams = tuple(TeamFigures(f"t{i}", None, Decimal("0.5000"), None) for i in range(5))
    chunks = team_report_chunks("2026-Q4", 3, teams, size=2)
    assert [(c.chunk, c.chunks, len(c.teams), c.stage) for c in chunks] == [(0, 3, 2, TEAM), (1, 3, 2, TEAM),
                                                                           (2, 3, 1, TEAM)]
    assert all(ReportChunk.from_json(c.to_json()) == c for c in chunks)
    # a rep partition's chunk keeps the shape it had, so rows kept by an earlier version are read alike
    assert set(report_chunks("2026-11", 0, (rep("r1"),), ())[0].to_json()) == {
        "period", "partition", "chunk", "chunks", "reps", "previous"}


def test_a_team_captured_at_the_close_and_reported_by_its_partition_counts_once_as_captured() -> None:
    # A period closed while the org stage kept every team's figures (before the team stage
    # ran) and decided after: its partition reports the team too, later; it is ranked once,
    # with the figures of the close.
    table: dict = {}
    reports = AwardReports(table)
    at_close = TeamFigures("t1", "m-1", Decimal("0.6000"), Decimal("1.1000"))
    later = TeamFigures("t1", "m-1", Decimal("0.9000"), Decimal("1.5000"))
    reports.capture("2026-11", (at_close,), "at")
    reports.add(report_chunks("2026-11", 0, (rep("r1"),), ())[0])
    reports.add(team_report_chunks("2026-11", 0, (later,))[0])
    complete = reports.complete("2026-11", reporters(1, 1))
    assert complete is not None and complete[0].teams == (at_close,)
