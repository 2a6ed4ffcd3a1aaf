"""Kill -9 of the worker at period closes (contract §11): once while the first close is
being applied (its statements are going out, its awards are next), once as soon as the
restarted worker has sent an award (the decisions of the other closes go on) and once as
soon as the next one is ready (its rebuild decides what the crash left undecided). After
the last restart the awards on ``sales.awards`` are the offline recomputation's (the
awards pipeline test's: ``core/awards.py`` over the reference model), no id with two
contents; a consumer that keeps ids once (``scorecard alert-sink``) announces each award
exactly once; every bonus adjustment id is posted with one set of figures, equal to the
plan's bonus, and no other award adjustment exists. With both ``SCORECARD_STAGES``:
partitioned, the kills also hit the reports of the rep partitions and the org stage's
decisions and bonus requests between them."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from sales_scorecard.cli.kafka_io import client_options
from sales_scorecard.streams.settings import Settings
from tests.factories import close_period
from tests.integration.compare import applied_total
from tests.integration.conftest import REPO
from tests.integration.kafka_helpers import json_values, metric_sum, produce_events, read_topic, wait_for
from tests.integration.test_awards_pipeline import MONTHS, comparable, history, offline_decisions
from tests.webhook import LocalWebhook

pytestmark = [pytest.mark.integration, pytest.mark.fault]

#: the default awards, each rep award with a bonus (the default plan pays none)
PLAN = """awards:
  - {award: star_rep, rule: top_rep_score, period: month, min_attainment: "1.0", bonus: "2000.00"}
  - {award: star_manager, rule: top_team_score, period: month, min_attainment: "1.0"}
  - {award: most_improved, rule: score_gain, period: quarter, bonus: "1500.00"}
  - {award: top_10_percent, rule: top_decile, period: year, bonus: "500.00"}
"""
#: what the ledger compares of two copies of one adjustment id, and what places it
ADJUSTMENT_FIGURES = ("rep_id", "original_period", "original_statement_id", "delta_revenue", "delta_commission",
                      "reason")


def topic_end(settings: Settings, topic: str) -> int:
    """The number of records ever written to ``topic`` (sum of its end offsets)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**client_options(settings), enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(tps).values()) if tps else 0
    finally:
        consumer.close()


def announce(settings: Settings, db: Path) -> list[dict]:
    """Run ``scorecard alert-sink --deliver awards`` until idle against a local webhook;
    the JSON bodies it posted."""
    with LocalWebhook() as hook:
        done = subprocess.run(
            [sys.executable, "-m", "sales_scorecard.cli.main", "alert-sink", "--deliver", "awards",
             "--webhook", hook.url, "--db", str(db), "--idle-exit", "3"],
            env={**os.environ, **settings.to_env()}, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return hook.received


@pytest.mark.parametrize("stages", ["single", "partitioned"])
def test_kill_minus_nine_at_the_closes_loses_no_award_and_duplicates_none(
        test_settings: Settings, run_worker: Any, tmp_path: Path, stages: str) -> None:
    plan = tmp_path / "awards.yaml"
    plan.write_text(PLAN)
    s = dataclasses.replace(test_settings, store="rocksdb", award_plan=str(plan), stages=stages)
    assert s.partitions > 1  # partitioned: winners' bonuses are paid by several rep partitions
    awards_topic, payroll_topic = s.topic("sales.awards"), s.topic("sales.payroll")
    worker = run_worker(s, name="w")
    events = history()
    produce_events(s, events)
    assert wait_for(lambda: applied_total(worker.metrics()) >= len(events), timeout=90)

    # Kill 1: the first close is being applied (its statements are out, its awards next).
    produce_events(s, [close_period(month) for month in MONTHS])
    assert wait_for(lambda: metric_sum(worker.metrics(), "scorecard_payroll_events_total") >= 1,
                    timeout=60, interval=0.05)
    worker.stop(sig=signal.SIGKILL)
    at_kill1 = topic_end(s, awards_topic)
    # Kill 2: as soon as the restarted worker has sent an award (the closes' decisions go on).
    worker = run_worker(s, name="w-restart1")
    assert wait_for(lambda: topic_end(s, awards_topic) > at_kill1, timeout=90, interval=0.02)
    worker.stop(sig=signal.SIGKILL)
    at_kill2 = topic_end(s, awards_topic)
    # Kill 3: as soon as the restarted worker is ready (its rebuild decides what was left).
    worker = run_worker(s, name="w-restart2")
    worker.stop(sig=signal.SIGKILL)
    at_kill3 = topic_end(s, awards_topic)
    worker = run_worker(s, name="w-restart3")

    decisions = offline_decisions(events, s.timezone, str(plan))
    want = [e for d in decisions for e in d.events]
    want_ids = {e["event_id"] for e in want}
    assert {e["period"] for e in want} >= {"2026-09", "2026-Q4", "2026"} and any(d.bonuses for d in decisions)

    def read_all(topic: str) -> list[dict]:
        """Every record of ``topic``, checked complete (a loaded machine can outlast a short read)."""
        written = topic_end(s, topic)
        records = read_topic(s, topic, timeout=60)
        assert len(records) >= written, (topic, len(records), written)
        return json_values(records)

    def awards() -> list[dict]:
        return read_all(awards_topic)

    assert wait_for(lambda: {a["event_id"] for a in awards()} >= want_ids, timeout=120), \
        (at_kill1, at_kill2, at_kill3, sorted(want_ids - {a["event_id"] for a in awards()}))
    produce_events(s, [close_period("2026-11")])  # closing again decides nothing new
    assert wait_for(lambda: applied_total(worker.metrics()) >= 1, timeout=60)

    # No award lost, none added, no id with two contents (a re-send after a crash repeats it).
    copies: dict[str, list[dict]] = defaultdict(list)
    for a in awards():
        copies[a["event_id"]].append(a)
    assert set(copies) == want_ids, (at_kill1, at_kill2, at_kill3)
    assert all(len({orjson.dumps(c, option=orjson.OPT_SORT_KEYS) for c in cs}) == 1 for cs in copies.values())
    assert comparable([cs[0] for cs in copies.values()]) == comparable(want)

    # A consumer that keeps ids once announces each award exactly once, one message per
    # award and period (every tied winner in it); a second run announces nothing.
    db = tmp_path / "sink.sqlite"
    bodies = announce(s, db)
    announced = [a["event_id"] for body in bodies for a in body["awards"]]
    assert sorted(announced) == sorted(want_ids)
    assert sorted((b["award"], b["period"]) for b in bodies) == sorted({(e["award"], e["period"]) for e in want})
    assert all(b["text"] for b in bodies)
    assert announce(s, db) == []

    # Every bonus posted once: one set of figures per adjustment id, the plan's bonus, and
    # no award adjustment the offline decisions do not order.
    bonuses = {b.adjustment_id: b for d in decisions for b in d.bonuses}
    adjustments: dict[str, set[tuple]] = defaultdict(set)
    for p in read_all(payroll_topic):
        if p["type"] == "payroll.adjustment" and p["reason"] == "award":
            adjustments[p["adjustment_id"]].add(tuple(p[k] for k in ADJUSTMENT_FIGURES))
    assert set(adjustments) == set(bonuses)
    for adjustment_id, figures in adjustments.items():
        assert len(figures) == 1, (adjustment_id, figures)
        rep, original, statement, d_revenue, d_commission, _ = next(iter(figures))
        bonus = bonuses[adjustment_id]
        assert (rep, original, statement, d_revenue, d_commission) == \
            (bonus.rep_id, bonus.original_period, f"stmt:{bonus.rep_id}:{bonus.original_period}", "0.00",
             f"{bonus.delta_commission:.2f}")
