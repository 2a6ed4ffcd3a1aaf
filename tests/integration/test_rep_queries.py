"""Rep scorecards served by the rep stage (partitioned stages, two workers, real broker).

With ``SCORECARD_STAGES=partitioned`` a rep's scorecard and explanation are answered by
the worker owning the rep's partition of the rep stage (``streams.scorecard_sources``):
each worker, asked for reps of partitions it does not own, forwards the request there and
answers what that partition published (revision included), even while the worker of the
org stage is paused. Team scorecards come the same way from the team stage partition of
the team, company scorecards from the org stage."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.cli.worker_probe import http_get
from sales_scorecard.streams.fact_routes import partition_of
from tests.integration.conftest import WorkerProcess
from tests.integration.faults import (
    aggregation_owner,
    assert_snapshot_exact,
    fault_settings,
    group_settled,
    processing_errors,
    start_workers,
    worker_settings,
)
from tests.integration.kafka_helpers import produce_events, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Fields of a published scorecard the API does not repeat (``as_of`` is the moment of rendering).
PUBLISH_ONLY = {"event_id", "emitted_at", "as_of"}


def get_json(worker: WorkerProcess, path: str) -> tuple[int, dict]:
    status, body = http_get(worker.settings.web_port, path, timeout=10)
    return status, (orjson.loads(body) if body else {})


def rep_partitions_of(worker: WorkerProcess) -> set[int]:
    """The rep stage partitions whose facts this worker applied (``scorecard_rep_stage_facts_total``)."""
    out = set()
    for family in text_string_to_metric_families(worker.metrics()):
        if family.name == "scorecard_rep_stage_facts":
            out |= {int(s.labels["partition"]) for s in family.samples
                    if s.name.endswith("_total") and s.value > 0}
    return out


def test_each_worker_answers_reps_of_the_other_workers_partitions_as_published(
        kafka_bootstrap: str, run_worker, tmp_path: Path) -> None:
    base = fault_settings(kafka_bootstrap, tmp_path, store="rocksdb", stages="partitioned", clock_refresh_seconds=2)
    assert base.partitions >= 4
    workers = start_workers(run_worker, worker_settings(base, 2, tmp_path))
    events = simulate(SimulationConfig(seed=23, reps=24, teams=4, months=2, start_month="2026-06"))
    produce_events(base, events)
    assert wait_for(lambda: group_settled(base, workers), timeout=600, interval=3), [w.log_tail(30) for w in workers]
    assert all(processing_errors(w.metrics()) == 0 for w in workers), [w.log_tail() for w in workers]
    # What was published is the offline recomputation and the reference model's.
    rows = assert_snapshot_exact(base, events, more_than=50)

    owned = [rep_partitions_of(w) for w in workers]
    assert owned[0] and owned[1] and not owned[0] & owned[1], owned
    rep_rows = [r for r in rows if r["scope"] == "rep" and r["period"] in ("2026-06", "2026-07", "2026-Q3")]
    for w, mine in zip(workers, owned, strict=True):
        foreign = [r for r in rep_rows if partition_of(r["id"], base.partitions) not in mine]
        assert len({partition_of(r["id"], base.partitions) for r in foreign}) >= 2, (mine, len(foreign))
        for row in foreign:
            path = f"/api/scorecards/rep/{row['id']}/{row['period']}"
            status, answer = get_json(w, path)
            assert status == 200, (path, answer)
            want = {k: v for k, v in row.items() if k not in PUBLISH_ONLY}
            assert {k: v for k, v in answer.items() if k not in PUBLISH_ONLY} == want, path
            status, explained = get_json(w, path + "/explain")
            assert status == 200, (path, explained)
            assert {k: v for k, v in explained.items() if k in want} == {
                k: v for k, v in want.items() if k != "revision"}, path
            months = [m["period"] for m in explained["commission_months"]]
            assert months == (["2026-07", "2026-08", "2026-09"] if row["period"] == "2026-Q3" else [row["period"]])
            assert explained["facts"]["revenue"] == row["kpis"]["revenue"]

    # Team scorecards from the team stage partition of the team (forwarded as a rep's is),
    # company scorecards from the org stage, on either worker, as published.
    for row in [r for r in rows if r["scope"] != "rep" and r["period"] == "2026-07"]:
        for w in workers:
            status, answer = get_json(w, f"/api/scorecards/{row['scope']}/{row['id']}/{row['period']}")
            assert status == 200
            assert {k: v for k, v in answer.items() if k not in PUBLISH_ONLY} == {
                k: v for k, v in row.items() if k not in PUBLISH_ONLY}

    # A team board's summary beside the team stage: the score the team's partition
    # published, sent to the org stage as a summary row; the boards list names the team.
    teams = [r for r in rows if r["scope"] == "team" and r["id"] != "unassigned" and r["period"] == "2026-07"]
    assert len(teams) >= 2, teams
    for row in teams:
        for w in workers:
            status, board = get_json(w, f"/api/leaderboard?board=team:{row['id']}&period=2026-07")
            assert status == 200, board
            summary = board["team"]
            assert summary is not None and summary["score"] == row["score"], (row["id"], summary)
            assert set(summary["dimensions"]) == {"financial", "customer", "process", "learning"}
            assert summary["manager_id"], summary
        status, listed = get_json(workers[0], "/api/boards")
        assert status == 200 and row["id"] in listed["teams"], listed

    # Errors as before, whichever worker answers: an unknown rep, a bad period, a bad scope.
    for w in workers:
        for rep in ("nobody", "r999"):
            status, body = get_json(w, f"/api/scorecards/rep/{rep}/2026-07")
            assert status == 404 and "error" in body
        status, body = get_json(w, "/api/scorecards/rep/r001/2026-13")
        assert status == 400 and "error" in body
        status, body = get_json(w, "/api/scorecards/galaxy/r001/2026-07")
        assert status == 400

    # The org stage is not on a rep query's way: with the worker that owns it paused, the
    # other one answers its own reps as published (before the group notices the pause).
    org_owner = aggregation_owner(workers)
    assert org_owner is not None
    other, its_partitions = next((w, mine) for w, mine in zip(workers, owned, strict=True) if w is not org_owner)
    own_rows = [r for r in rep_rows if partition_of(r["id"], base.partitions) in its_partitions and
                r["period"] == "2026-07"][:6]
    assert own_rows
    answers = []
    org_owner.proc.send_signal(signal.SIGSTOP)
    try:
        for row in own_rows:
            status, body = http_get(other.settings.web_port, f"/api/scorecards/rep/{row['id']}/2026-07", timeout=3)
            answers.append((status, orjson.loads(body) if status == 200 else body))
    finally:
        org_owner.proc.send_signal(signal.SIGCONT)
    for row, (status, answer) in zip(own_rows, answers, strict=True):
        assert status == 200, (row["id"], status, answer)
        assert {k: v for k, v in answer.items() if k not in PUBLISH_ONLY} == {
            k: v for k, v in row.items() if k not in PUBLISH_ONLY}
