"""The simulator: deterministic, valid, and it contains the faults and lifecycles it promises."""

from __future__ import annotations

from collections import Counter

import orjson

from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.schemas.validation import Accepted, EventValidator
from sales_scorecard.streams.topics import TOPIC_FOR_TYPE

CFG = SimulationConfig(seed=3, reps=30, teams=4, months=3, start_month="2026-09")


def test_same_seed_same_history_other_seed_other_history() -> None:
    assert simulate(CFG) == simulate(CFG)
    assert simulate(CFG) != simulate(SimulationConfig(seed=4, reps=30, teams=4, months=3, start_month="2026-09"))


def test_every_event_is_valid() -> None:
    validator = EventValidator("CNY")
    for event in simulate(CFG):
        result = validator.validate(TOPIC_FOR_TYPE[event["type"]].name, orjson.dumps(event))
        assert isinstance(result, Accepted), (event, result)


def test_roster_and_targets_come_first_and_lifecycles_are_there() -> None:
    events = simulate(CFG)
    kinds = [e["type"] for e in events]
    first_fact = next(i for i, k in enumerate(kinds) if k not in ("roster", "target"))
    assert set(kinds[:first_fact]) == {"roster", "target"}
    counts = Counter(e["event_id"] for e in events)
    assert any(n > 1 for n in counts.values()), "no duplicate deliveries"
    versions: dict[str, list[int]] = {}
    for e in events:
        if e["type"] == "deal":
            versions.setdefault(e["deal_id"], []).append(e["version"])
    assert any(v != sorted(v) for v in versions.values()), "no out-of-order versions"
    stages = Counter(e["stage"] for e in events if e["type"] == "deal")
    assert stages["won"] and stages["lost"] and stages["reversed"] and stages["open"]
    reps_by_deal: dict[str, set[str]] = {}
    for e in events:
        if e["type"] == "deal":
            reps_by_deal.setdefault(e["deal_id"], set()).add(e["rep_id"])
    assert any(len(r) > 1 for r in reps_by_deal.values()), "no reassignments"
    assert {e["status"] for e in events if e["type"] == "roster"} == {"active", "left"}
    kinds_seen = {e["kind"] for e in events if e["type"] == "activity"}
    assert kinds_seen == {"call", "visit", "meeting", "email", "demo", "campaign", "training", "survey"}
    factors = {e["territory_factor"] for e in events if e["type"] == "roster"}
    assert "1.0" in factors and len(factors) > 1  # mature and new markets
