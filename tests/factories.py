"""Builders of valid input event dicts for tests (contract §3 shapes)."""

from __future__ import annotations

import itertools
import random
from typing import Any

from sales_scorecard.streams.fact_routes import partition_of

_ids = itertools.count(1)


def _eid(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def _with_optional(ev: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """``ev`` with each of ``fields`` that is not None added, in the order given."""
    ev.update((name, value) for name, value in fields.items() if value is not None)
    return ev


def deal(
    deal_id: str,
    rep_id: str,
    customer_id: str,
    amount: str,
    stage: str = "won",
    version: int = 1,
    closed_at: str | None = "2026-11-10T10:00:00+08:00",
    created_at: str = "2026-10-01T10:00:00+08:00",
    occurred_at: str | None = None,
    customer_tier: str | None = None,
    event_id: str | None = None,
    dispute_id: str | None = None,
    pipeline_stage: str | None = None,
    expected_close_at: str | None = None,
) -> dict[str, Any]:
    """A deal state upsert (``dispute_id``: the appeal it settles; ``pipeline_stage`` and
    ``expected_close_at``: an open deal's pipeline, contract §13)."""
    ev: dict[str, Any] = {
        "event_id": event_id or _eid("deal"),
        "type": "deal",
        "schema_version": 1,
        "occurred_at": occurred_at or closed_at or created_at,
        "deal_id": deal_id,
        "rep_id": rep_id,
        "customer_id": customer_id,
        "version": version,
        "stage": stage,
        "amount": amount,
        "currency": "CNY",
        "created_at": created_at,
    }
    if closed_at is not None and stage != "open":
        ev["closed_at"] = closed_at
    return _with_optional(ev, customer_tier=customer_tier, dispute_id=dispute_id, pipeline_stage=pipeline_stage,
                          expected_close_at=expected_close_at)


def roster(
    rep_id: str,
    team_id: str,
    manager_id: str = "m-1",
    status: str = "active",
    effective_at: str = "2026-01-01T00:00:00+08:00",
    hired_at: str = "2026-01-01T00:00:00+08:00",
    territory_factor: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A roster entry."""
    ev: dict[str, Any] = {
        "event_id": event_id or _eid("roster"),
        "type": "roster",
        "schema_version": 1,
        "occurred_at": effective_at,
        "rep_id": rep_id,
        "team_id": team_id,
        "manager_id": manager_id,
        "status": status,
        "effective_at": effective_at,
        "hired_at": hired_at,
        "name": f"Rep {rep_id}",
    }
    return _with_optional(ev, territory_factor=territory_factor)


def target(scope: str, id: str, period: str, revenue: str, new_customers: int | None = None,
           market_size: str | None = None, occurred_at: str = "2026-01-01T00:00:00+08:00",
           dispute_id: str | None = None, split: Any = None) -> dict[str, Any]:
    """A target (``split``: a team target's top-down split, contract §12)."""
    ev: dict[str, Any] = {
        "event_id": _eid("target"),
        "type": "target",
        "schema_version": 1,
        "occurred_at": occurred_at,
        "scope": scope,
        "id": id,
        "period": period,
        "revenue": revenue,
    }
    return _with_optional(ev, new_customers=new_customers, market_size=market_size, dispute_id=dispute_id, split=split)


def complaint(complaint_id: str, rep_id: str, customer_id: str, severity: str = "high", status: str = "open",
              opened_at: str = "2026-11-05T09:00:00+08:00", resolved_at: str | None = None,
              version: int = 1) -> dict[str, Any]:
    """A complaint state upsert."""
    ev: dict[str, Any] = {
        "event_id": _eid("complaint"),
        "type": "complaint",
        "schema_version": 1,
        "occurred_at": resolved_at or opened_at,
        "complaint_id": complaint_id,
        "version": version,
        "rep_id": rep_id,
        "customer_id": customer_id,
        "severity": severity,
        "status": status,
        "opened_at": opened_at,
    }
    return _with_optional(ev, resolved_at=resolved_at)


def activity(rep_id: str, kind: str, occurred_at: str = "2026-11-05T09:00:00+08:00", customer_id: str | None = None,
             effective: bool | None = None, duration_minutes: int | None = None, score: int | None = None,
             campaign_id: str | None = None) -> dict[str, Any]:
    """An activity fact."""
    ev: dict[str, Any] = {
        "event_id": _eid("activity"),
        "type": "activity",
        "schema_version": 1,
        "occurred_at": occurred_at,
        "rep_id": rep_id,
        "kind": kind,
    }
    return _with_optional(ev, customer_id=customer_id, effective=effective, duration_minutes=duration_minutes,
                          score=score, campaign_id=campaign_id)


def close_period(period: str) -> dict[str, Any]:
    """A close_period command."""
    return {"event_id": f"close:{period}", "type": "close_period", "schema_version": 1,
            "occurred_at": "2026-12-01T00:00:00+08:00", "period": period}


def dispute_opened(dispute_id: str, rep_id: str, subject_kind: str = "deal", subject_ref: str | None = "d1",
                   period: str = "2026-11", claim: str = "This deal is mine.", opened_by: str | None = None,
                   occurred_at: str = "2026-11-20T10:00:00+08:00", event_id: str | None = None) -> dict[str, Any]:
    """An appeal opened (by the rep unless ``opened_by`` says otherwise)."""
    ev: dict[str, Any] = {
        "event_id": event_id or _eid("dispute-opened"),
        "type": "dispute_opened",
        "schema_version": 1,
        "occurred_at": occurred_at,
        "dispute_id": dispute_id,
        "rep_id": rep_id,
        "period": period,
        "subject_kind": subject_kind,
        "claim": claim,
        "opened_by": opened_by or rep_id,
    }
    return _with_optional(ev, subject_ref=subject_ref)


def dispute_resolved(dispute_id: str, decision: str = "upheld", adjustment_amount: str | None = None,
                     resolution: str = "Checked against the CRM.", resolved_by: str = "m-1",
                     occurred_at: str = "2026-11-24T10:00:00+08:00", event_id: str | None = None) -> dict[str, Any]:
    """A decision on an appeal."""
    ev: dict[str, Any] = {
        "event_id": event_id or _eid("dispute-resolved"),
        "type": "dispute_resolved",
        "schema_version": 1,
        "occurred_at": occurred_at,
        "dispute_id": dispute_id,
        "decision": decision,
        "resolution": resolution,
        "resolved_by": resolved_by,
    }
    return _with_optional(ev, adjustment_amount=adjustment_amount)


def dispute_withdrawn(dispute_id: str, withdrawn_by: str = "r1", occurred_at: str = "2026-11-23T10:00:00+08:00",
                      event_id: str | None = None) -> dict[str, Any]:
    """An appeal taken back."""
    return {"event_id": event_id or _eid("dispute-withdrawn"), "type": "dispute_withdrawn", "schema_version": 1,
            "occurred_at": occurred_at, "dispute_id": dispute_id, "withdrawn_by": withdrawn_by}


def review(review_id: str, subject_id: str, reviewer_id: str, role: str, rating: Any, period: str = "2026-11",
           occurred_at: str = "2026-11-25T10:00:00+08:00", event_id: str | None = None) -> dict[str, Any]:
    """A review of a rep for a month (contract §12)."""
    return {"event_id": event_id or _eid("review"), "type": "review", "schema_version": 1,
            "occurred_at": occurred_at, "review_id": review_id, "period": period, "subject_id": subject_id,
            "reviewer_id": reviewer_id, "reviewer_role": role, "rating": rating}


def engagement(team_id: str, respondent_id: str, rating: Any, period: str = "2026-11",
               occurred_at: str = "2026-11-26T10:00:00+08:00", event_id: str | None = None) -> dict[str, Any]:
    """One respondent's engagement answer for a team and month (contract §12)."""
    return {"event_id": event_id or _eid("eng"), "type": "engagement", "schema_version": 1,
            "occurred_at": occurred_at, "period": period, "team_id": team_id, "respondent_id": respondent_id,
            "rating": rating}


def deals_and_calls(rng: random.Random, reps: list[str], n: int) -> list[dict[str, Any]]:
    """The ``reps`` in two teams, then ``n`` random facts of theirs: won deals (60 %, seven
    customers) and calls in November 2026."""
    facts: list[dict[str, Any]] = [roster(r, "t1" if i % 2 else "t2", event_id=f"roster-{r}")
                                   for i, r in enumerate(reps)]
    for i in range(n):
        rep = rng.choice(reps)
        if rng.random() < 0.6:
            facts.append(deal(f"d{i}", rep, f"c{i % 7}", f"{rng.randint(1, 90)}00.00", event_id=f"deal-d{i}-v1"))
        else:
            facts.append(activity(rep, "call", occurred_at=f"2026-11-{rng.randint(1, 28):02d}T10:00:00+08:00"))
    return facts


def reps_in_two_partitions(partitions: int) -> tuple[str, str]:
    """Two rep ids whose rep-stage partitions (of ``partitions``) differ."""
    a = "r-0"
    others = (f"r-{i}" for i in range(1, 20))
    return a, next(r for r in others if partition_of(r, partitions) != partition_of(a, partitions))
