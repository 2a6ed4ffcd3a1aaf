"""Event histories for the benchmark and loading them into the input topics."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import orjson

from sales_scorecard.cli.produce import produce_lines
from sales_scorecard.cli.simulation import SimulationConfig, simulate
from sales_scorecard.streams.settings import Settings


def realistic_events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """The first ``count`` events of the simulator's realistic mix (as many months of
    100 reps as needed; duplicates and out-of-order deliveries included)."""
    months = 1
    while True:
        events = simulate(SimulationConfig(seed=seed, reps=100, months=months))
        if len(events) >= count or months >= 120:
            return events[:count]
        months = max(months + 1, int(months * count / max(len(events), 1)) + 1)


#: Reps per team in the bench's histories (the memory part's and the latency part's).
TEAM_SIZE = 10


def state_events(reps: int, months: int, start: str = "2025-11") -> Iterator[dict[str, Any]]:
    """A thin history that creates ``reps`` × ``months`` rep-period scorecards: a roster
    entry per rep, then per rep and month one won deal and one call."""
    teams = max(1, reps // TEAM_SIZE)
    y, m = int(start[:4]), int(start[5:7])
    first = date(y, m, 1)
    at = f"{first.isoformat()}T09:00:00+08:00"
    for r in range(reps):
        team = f"t{r % teams:04d}"
        yield {"event_id": f"ros-{r}", "type": "roster", "schema_version": 1, "occurred_at": at, "rep_id": f"r{r:05d}",
               "team_id": team, "manager_id": "m" + team[1:], "status": "active", "effective_at": at,
               "hired_at": at, "name": f"Rep {r}"}
    for k in range(months):
        yy, mm = divmod(m - 1 + k, 12)
        day = date(y + yy, mm + 1, 15).isoformat()
        for r in range(reps):
            rep, customer = f"r{r:05d}", f"c{r:05d}-{k % 3}"
            yield {"event_id": f"deal-{r}-{k}", "type": "deal", "schema_version": 1,
                   "occurred_at": f"{day}T10:00:00+08:00", "deal_id": f"D{r}-{k}", "customer_id": customer,
                   "currency": "CNY", "created_at": f"{day}T09:00:00+08:00", "rep_id": rep, "version": 1,
                   "stage": "won", "amount": f"{1000 + r % 97}.00", "closed_at": f"{day}T10:00:00+08:00"}
            yield {"event_id": f"act-{r}-{k}", "type": "activity", "schema_version": 1,
                   "occurred_at": f"{day}T11:00:00+08:00", "rep_id": rep, "kind": "call", "customer_id": customer,
                   "effective": True, "duration_minutes": 20}


def validated(events: Iterable[dict[str, Any]], currency: str) -> Iterator[dict[str, Any]]:
    """Each event as the ingest agents forward it (validated, defaults filled in); a bench
    history holds only valid events, so a rejected one is an error (ValueError)."""
    from sales_scorecard.schemas.validation import Accepted, EventValidator
    from sales_scorecard.streams.topics import TOPIC_FOR_TYPE

    validator = EventValidator(currency)
    for event in events:
        result = validator.validate(TOPIC_FOR_TYPE[event["type"]].name, orjson.dumps(event))
        if not isinstance(result, Accepted):
            raise ValueError(f"a bench event was rejected: {result}")
        yield result.event


def load(settings: Settings, events: Iterable[dict[str, Any]], total: int | None = None) -> int:
    """Send events to their input topics the way ``scorecard produce`` does (acks=all,
    progress bar); returns how many were acknowledged."""
    counts, _ = produce_lines(settings, (orjson.dumps(e) for e in events), strict=True, total=total)
    return sum(counts.values())
