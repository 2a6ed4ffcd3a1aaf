"""Engagement answers through the real broker (contract §12): the team means are published,
and no output topic ever carries one respondent's answer or id, a dead letter included."""

from __future__ import annotations

import json

import orjson
import pytest

from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import OUTPUT_TOPICS
from tests.factories import close_period, deal, engagement, review, roster
from tests.integration.kafka_helpers import json_values, produce_events, read_topic, send_raw, wait_for

pytestmark = pytest.mark.integration

NOV = "2026-11-{:02d}T10:00:00+08:00"


def test_no_output_topic_shows_an_engagement_answer_or_respondent(test_settings: Settings, run_worker) -> None:
    s = test_settings
    worker = run_worker(s)
    events = [roster("r1", "t1", manager_id="m1"), roster("r2", "t1", manager_id="m1"),
              roster("r3", "t2", manager_id="m2"),
              deal("d1", "r1", "c1", "100.00", closed_at=NOV.format(3)),
              deal("d2", "r2", "c2", "200.00", closed_at=NOV.format(4)),
              deal("d3", "r3", "c3", "300.00", closed_at=NOV.format(5)),
              review("rv1", "r1", "m1", "manager", "4.5"),
              engagement("t1", "resp-secret-a", "1.3"), engagement("t1", "resp-secret-b", "2.9"),
              engagement("t1", "resp-secret-c", "4.1"), engagement("t2", "resp-secret-d", "4.7")]
    produce_events(s, events)
    # an answer with a bad rating: dead-lettered without its respondent and rating
    bad = engagement("t2", "resp-secret-e", "4.55")
    send_raw(s, [(s.topic("sales.reviews"), b"t2:2026-11", orjson.dumps(bad))])
    produce_events(s, [close_period("2026-11")])

    def team_card(team: str) -> dict | None:
        cards = [v for v in json_values(read_topic(s, s.topic("sales.scorecards")))
                 if v["scope"] == "team" and v["id"] == team and v["period"] == "2026-11"]
        return cards[-1] if cards else None

    # (1.3 + 2.9 + 4.1) / 3 = 2.7667; t2 has one respondent: null
    assert wait_for(lambda: (team_card("t1") or {}).get("kpis", {}).get("team_engagement") == 2.7667,
                    timeout=90), worker.log_tail()
    assert wait_for(lambda: json_values(read_topic(s, s.topic("sales.deadletter"))), timeout=60)
    assert team_card("t2")["kpis"]["team_engagement"] is None
    assert wait_for(lambda: json_values(read_topic(s, s.topic("sales.payroll"))), timeout=60)
    seen = 0
    for spec in OUTPUT_TOPICS:
        for value in json_values(read_topic(s, s.topic(spec.name))):
            text = json.dumps(value)
            assert "resp-secret" not in text, (spec.name, text[:300])
            for answer in ("1.3", "2.9", "4.1", "4.7", "4.55"):
                assert f'"{answer}"' not in text and f": {answer}," not in text and f": {answer}}}" not in text, \
                    (spec.name, answer, text[:300])
            seen += 1
    assert seen > 10
    dead = json_values(read_topic(s, s.topic("sales.deadletter")))
    assert [d["reason"] for d in dead] == ["schema_violation"] and "(withheld)" in dead[0]["raw"]
