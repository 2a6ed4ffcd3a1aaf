"""Engagement answers through the real broker (contract §12): the team means are published,
and no output topic, no answer of the query API and no line of the worker's log at DEBUG
ever carries one respondent's answer or id, a dead letter included."""

from __future__ import annotations

import json

import orjson
import pytest

from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import OUTPUT_TOPICS
from tests.factories import close_period, deal, engagement, review, roster
from tests.integration.kafka_helpers import json_values, produce_events, read_topic, send_raw, wait_for

SECRET_ANSWERS = ("1.3", "2.9", "4.1", "4.7", "4.55")


def shows_an_answer(text: str) -> bool:
    """Whether a JSON text shows one of the secret ratings as a value (quoted or a number)."""
    return any(f'"{a}"' in text or f": {a}," in text or f": {a}}}" in text or f":{a}," in text or f":{a}}}" in text
               for a in SECRET_ANSWERS)


#: Every query API answer that could carry a figure of reviews or engagement (the web API
#: of docs/web-api.md), auth off: any caller reads everything.
API_PATHS = (
    *(f"/api/scorecards/{key}/{period}{tail}" for key in ("team/t1", "team/t2", "company/*", "rep/r1", "rep/r2",
                                                          "rep/r3")
      for period in ("2026-11", "2026-Q4", "2026") for tail in ("", "/explain")),
    *(f"/api/leaderboard?board={board}&period=2026-11" for board in ("team:t1", "team:t2", "company")),
    "/api/boards", "/api/me?rep=r1", "/api/payroll/2026-11",
)

pytestmark = pytest.mark.integration

NOV = "2026-11-{:02d}T10:00:00+08:00"


def test_no_output_topic_shows_an_engagement_answer_or_respondent(test_settings: Settings, run_worker) -> None:
    s = test_settings
    # At DEBUG: no logger of ours, Faust's, aiokafka's or aiohttp's may show an answer either.
    worker = run_worker(s, env={"SCORECARD_LOG_LEVEL": "DEBUG"})
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
            assert not shows_an_answer(text), (spec.name, text[:300])
            seen += 1
    assert seen > 10
    dead = json_values(read_topic(s, s.topic("sales.deadletter")))
    assert [d["reason"] for d in dead] == ["schema_violation"] and "(withheld)" in dead[0]["raw"]

    # The query API: every scorecard and explanation of the teams, the company and the reps,
    # the boards (the team board's score and dimensions), the rep page's and payroll's answers.
    for path in API_PATHS:
        status, body = worker.get(path)
        assert status == 200, (path, status, body[:300])
        text = body.decode()
        assert "resp-secret" not in text and not shows_an_answer(text), (path, text[:300])
    status, body = worker.get("/api/scorecards/team/t1/2026-11/explain")
    facts = orjson.loads(body)["facts"]
    assert facts["engagement_enough_respondents"] is True and "respondents" not in facts
    status, body = worker.get("/api/leaderboard?board=team:t1&period=2026-11")
    assert orjson.loads(body)["team"]["manager_id"] == "m1"

    # The worker's log at DEBUG (which did log: the check is not vacuous), dead letter included.
    log = worker.log_path.read_text(errors="replace")
    assert '"level":"DEBUG"' in log, log[-2000:]
    assert "resp-secret" not in log
    for answer in SECRET_ANSWERS:
        for spelled in (f'rating":"{answer}"', f'rating": "{answer}"', f"rating': '{answer}'",
                        f'rating\\":\\"{answer}'):
            assert spelled not in log, (answer, spelled)
