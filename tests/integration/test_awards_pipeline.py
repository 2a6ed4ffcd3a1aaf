"""Awards end to end (contract §11): months closed on a real broker decide their awards, and
the quarters and the year they end; what ``sales.awards`` holds equals ``core/awards.py``
over the reference model's scorecards of the same events, and closing twice adds nothing.
With both ``SCORECARD_STAGES``: partitioned, over the suite's 4 rep partitions, the rep
partitions report their reps' figures and the org stage decides."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from sales_scorecard.core import labels as L
from sales_scorecard.core.awards import ClosedPeriod, Decision, RepFigures, TeamFigures, decide, load_awards
from sales_scorecard.streams.settings import Settings
from tests.factories import close_period, deal, roster, target
from tests.integration.compare import applied_total
from tests.integration.kafka_helpers import json_values, produce_events, read_topic, wait_for
from tests.reference.model import built_model

pytestmark = pytest.mark.integration

MONTHS = ("2026-09", "2026-10", "2026-11", "2026-12")
TEAMS = {"r1": "t1", "r2": "t1", "r3": "t1", "r4": "t2", "r5": "t2", "r6": "t2"}
#: revenue per rep and month (thousands): targets are 100,000.00 each month
REVENUE = {
    "r1": (90, 120, 130, 80), "r2": (60, 70, 150, 160), "r3": (110, 40, 100, 105),
    "r4": (30, 95, 125, 140), "r5": (100, 100, 100, 100), "r6": (0, 20, 60, 180),
}


def history() -> list[dict]:
    events: list[dict] = []
    for rep, team in TEAMS.items():
        events.append(roster(rep, team, manager_id=f"m-{team}", event_id=f"roster-{rep}"))
        for i, month in enumerate(MONTHS):
            events.append(target("rep", rep, month, "100000.00"))
            amount = REVENUE[rep][i]
            if amount:
                events.append(deal(f"d-{rep}-{month}", rep, f"c-{rep}-{month}", f"{amount * 1000}.00",
                                   closed_at=f"{month}-15T10:00:00+08:00", created_at="2026-08-01T10:00:00+08:00",
                                   event_id=f"deal-{rep}-{month}"))
    return events


def _d(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def offline_awards(events: list[dict], timezone: str, plan_path: str | None = None) -> list[dict]:
    """The award events ``core/awards.py`` decides over the reference model's scorecards."""
    return [e for d in offline_decisions(events, timezone, plan_path) for e in d.events]


def offline_decisions(events: list[dict], timezone: str, plan_path: str | None = None) -> list[Decision]:
    """What ``core/awards.py`` decides for each closed period (``plan_path``: an award plan
    file, None: the default) over the reference model's scorecards."""
    model = built_model(events, timezone)
    keys = model.keys()

    def reps(label: str) -> tuple[RepFigures, ...]:
        out = []
        for scope, rep, period in sorted(keys):
            if scope == "rep" and period == label:
                kpis = model.kpis("rep", rep, label)
                team, manager = model.team_and_manager(rep, label)
                out.append(RepFigures(rep, f"Rep {rep}", team, manager, _d(kpis["score"]), _d(kpis["attainment"])))
        return tuple(out)

    def teams(label: str) -> tuple[TeamFigures, ...]:
        return tuple(TeamFigures(team, f"m-{team}", _d(model.kpis("team", team, label)["score"]),
                                 _d(model.kpis("team", team, label)["attainment"]))
                     for scope, team, period in sorted(keys) if scope == "team" and period == label)

    plan, out = load_awards(plan_path), []
    for label in (*MONTHS, "2026-Q3", "2026-Q4", "2026"):
        previous = reps(L.shift(label, -1)) if L.period_kind(label) == "quarter" else ()
        out.append(decide(plan, ClosedPeriod(label, reps(label), teams(label), previous), ""))
    return out


def comparable(events: list[dict]) -> list[tuple]:
    return sorted((e["event_id"], e["scope"], e["name"], e["team_id"], e["manager_id"], e["value"], e["rank"],
                   e["bonus"]) for e in events)


@pytest.mark.parametrize("stages", ["single", "partitioned"])
def test_closed_periods_award_what_an_offline_recomputation_awards_once(test_settings: Settings, run_worker,
                                                                      stages: str) -> None:
    s = dataclasses.replace(test_settings, stages=stages)
    assert s.partitions > 1
    worker = run_worker(s)
    events = history()
    produce_events(s, events)
    assert wait_for(lambda: applied_total(worker.metrics()) >= len(events), timeout=90)
    produce_events(s, [close_period(month) for month in MONTHS])

    def awards() -> list[dict]:
        return json_values(read_topic(s, s.topic("sales.awards")))

    assert wait_for(lambda: any(a["period"] == "2026" for a in awards()), timeout=90), awards()
    produce_events(s, [close_period("2026-11")])  # closing twice emits nothing new
    assert wait_for(lambda: applied_total(worker.metrics()) >= len(events) + len(MONTHS), timeout=60)
    got = awards()
    want = offline_awards(events, s.timezone)
    assert want and {a["period"] for a in want} >= {"2026-11", "2026-Q4", "2026"}
    assert comparable(got) == comparable(want)
    assert len({a["event_id"] for a in got}) == len(got)
