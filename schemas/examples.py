"""Canonical valid events, one per type, for tests and documentation.

``VALID_EXAMPLES`` holds the input events (contract §3) by ``type``, ``DISPUTE_EXAMPLES`` the
appeal inputs (contract §10), ``OUTPUT_EXAMPLES`` the output events (contract §8, §10).
``tests/unit/test_schemas.py`` checks that each one validates against its schema. Use
``valid_example(name)`` to get a private copy to mutate.
"""

from __future__ import annotations

import copy
from typing import Any

VALID_EXAMPLES: dict[str, dict[str, Any]] = {
    "deal": {
        "event_id": "crm-cdc:deal:D-1001:3", "type": "deal", "schema_version": 1,
        "occurred_at": "2026-11-10T10:05:00+08:00",
        "deal_id": "D-1001", "rep_id": "rep.zhang", "customer_id": "cust:42", "version": 3,
        "stage": "won", "amount": "120000.00", "currency": "CNY",
        "created_at": "2026-09-01T09:00:00+08:00", "closed_at": "2026-11-10T10:00:00+08:00",
        "customer_tier": "A",
    },
    "complaint": {
        "event_id": "crm-cdc:complaint:K-7:2", "type": "complaint", "schema_version": 1,
        "occurred_at": "2026-11-12T15:00:00Z",
        "complaint_id": "K-7", "version": 2, "rep_id": "rep.zhang", "customer_id": "cust:42",
        "severity": "high", "status": "resolved",
        "opened_at": "2026-11-11T09:30:00+08:00", "resolved_at": "2026-11-12T15:00:00Z",
    },
    "activity": {
        "event_id": "act-5501", "type": "activity", "schema_version": 1,
        "occurred_at": "2026-11-05T14:00:00+08:00",
        "rep_id": "rep.zhang", "customer_id": "cust:42", "kind": "survey", "effective": True,
        "duration_minutes": 5, "score": 4,
    },
    "roster": {
        "event_id": "hr:rep.zhang:2026-01", "type": "roster", "schema_version": 1,
        "occurred_at": "2025-12-20T10:00:00+08:00",
        "rep_id": "rep.zhang", "team_id": "team-east", "manager_id": "mgr.li", "status": "active",
        "effective_at": "2026-01-01T00:00:00+08:00", "hired_at": "2024-03-01T00:00:00+08:00",
        "name": "Zhang Wei", "territory_factor": "1.2",
    },
    "target": {
        "event_id": "plan:team:team-east:2026-Q4", "type": "target", "schema_version": 1,
        "occurred_at": "2026-09-25T12:00:00+08:00",
        "scope": "team", "id": "team-east", "period": "2026-Q4", "revenue": "3000000.00",
        "new_customers": 12, "market_size": "90000000.00",
    },
    "close_period": {
        "event_id": "finance:close:2026-11", "type": "close_period", "schema_version": 1,
        "occurred_at": "2026-12-03T18:00:00+08:00", "period": "2026-11",
    },
    "review": {
        "event_id": "hr:review:RV-301:1", "type": "review", "schema_version": 1,
        "occurred_at": "2026-11-28T17:00:00+08:00",
        "review_id": "RV-301", "period": "2026-11", "subject_id": "rep.zhang", "reviewer_id": "mgr.li",
        "reviewer_role": "manager", "rating": 4.5, "comment": "Strong quarter close. 季度收尾很好。",
    },
    "engagement": {
        "event_id": "survey:eng:2026-11:r-88", "type": "engagement", "schema_version": 1,
        "occurred_at": "2026-11-20T10:00:00+08:00",
        "period": "2026-11", "team_id": "team-east", "respondent_id": "resp-88", "rating": 4,
    },
}

DISPUTE_EXAMPLES: dict[str, dict[str, Any]] = {
    "dispute_opened": {
        "event_id": "web:dispute:DSP-17:open", "type": "dispute_opened", "schema_version": 1,
        "occurred_at": "2026-12-04T09:30:00+08:00",
        "dispute_id": "DSP-17", "rep_id": "rep.zhang", "period": "2026-11", "subject_kind": "deal",
        "subject_ref": "D-1001", "claim": "D-1001 was closed by me; it is credited to rep.wang. 该单应计入我的业绩。",
        "opened_by": "rep.zhang",
    },
    "dispute_resolved": {
        "event_id": "web:dispute:DSP-17:resolve", "type": "dispute_resolved", "schema_version": 1,
        "occurred_at": "2026-12-08T16:00:00+08:00",
        "dispute_id": "DSP-17", "decision": "partially_upheld",
        "resolution": "Shared credit: half of the commission on D-1001 is paid to rep.zhang.",
        "resolved_by": "mgr.li", "adjustment_amount": "3000.00",
    },
    "dispute_withdrawn": {
        "event_id": "web:dispute:DSP-18:withdraw", "type": "dispute_withdrawn", "schema_version": 1,
        "occurred_at": "2026-12-05T11:00:00+08:00", "dispute_id": "DSP-18", "withdrawn_by": "rep.zhang",
    },
}

_KPIS: dict[str, Any] = {
    "revenue": "1200000.00", "target": "1000000.00", "attainment": 1.2, "weighted_attainment": 1.44,
    "expected_to_date": "1000000.00", "pace": 1.2, "projected_revenue": "1200000.00",
    "growth_prev": 0.5, "growth_yoy": None, "won_deals": 3, "lost_deals": 1, "win_rate": 0.75,
    "avg_deal_size": "400000.00", "avg_cycle_days": 41.5, "new_customers": 2,
    "new_customers_by_tier": {"A": 1, "B": 0, "C": 0, "none": 1}, "repeat_customer_rate": 0.3333,
    "customers_served": 5, "complaints": 1,
    "complaints_by_severity": {"low": 0, "medium": 0, "high": 1, "critical": 0}, "complaint_rate": 0.2,
    "avg_resolution_hours": 29.5, "csat": 4.0, "csat_responses": 1,
    "activities": {"call": 10, "visit": 2, "meeting": 1, "email": 4, "demo": 1, "campaign": 0,
                   "training": 1, "survey": 1, "effective_contacts": 18},
    "contact_coverage": 0.5, "campaigns": 0, "training_hours": 2.0, "market_size": None,
    "market_share": None, "headcount": None, "departures": None, "turnover_rate": None,
    "tenure_months": 32, "new_hire_ramp": None, "commission": "66000.00",
    "forecast_revenue": "1200000.00", "forecast_attainment": 1.2, "next_band": None,
    "review_score": 4.2, "self_rating": 4.5, "review_coverage": None, "team_engagement": None,
}

OUTPUT_EXAMPLES: dict[str, dict[str, Any]] = {
    "scorecard": {
        "event_id": "scorecard:rep:rep.zhang:2026-11:7", "type": "scorecard", "schema_version": 1,
        "emitted_at": "2026-12-01T00:00:00.500Z",
        "scope": "rep", "id": "rep.zhang", "period": "2026-11",
        "period_start": "2026-10-31T16:00:00.000Z", "period_end": "2026-11-30T16:00:00.000Z",
        "team_id": "team-east", "manager_id": "mgr.li", "as_of": "2026-11-30T16:00:00.000Z",
        "revision": 7, "final": False, "kpis": _KPIS, "score": 87.5,
        "components": [{"kpi": "weighted_attainment", "dimension": "financial", "weight": 40.0, "goal": 1.0,
                        "direction": "higher", "value": 1.44, "achievement": 1.0}],
    },
    "leaderboard": {
        "event_id": "leaderboard:company:2026-11:revenue:3", "type": "leaderboard", "schema_version": 1,
        "emitted_at": "2026-12-01T00:00:00.500Z", "board": "company", "period": "2026-11", "metric": "revenue",
        "ranked": 3,
        "rows": [{"rank": 1, "rep_id": "rep.a", "value": "500.00", "top_percent": 33.3, "top_decile": True},
                 {"rank": 1, "rep_id": "rep.b", "value": "500.00", "top_percent": 33.3, "top_decile": True},
                 {"rank": 3, "rep_id": "rep.zhang", "value": "120.00", "top_percent": 100.0, "top_decile": False}],
    },
    "alert": {
        "event_id": "alert:behind_pace:rep:rep.zhang:2026-11:1", "type": "alert", "schema_version": 1,
        "emitted_at": "2026-11-20T02:00:00.000Z", "alert_id": "behind_pace:rep:rep.zhang:2026-11:1",
        "rule": "behind_pace", "state": "firing", "severity": "warning", "scope": "rep", "id": "rep.zhang",
        "manager_id": "mgr.li", "period": "2026-11", "value": 0.62, "threshold": 0.8,
        "message": "rep.zhang is at 62% of the expected pace for 2026-11",
    },
    "deadletter": {
        "event_id": "dl:sales.deals:3:42", "type": "deadletter", "schema_version": 1,
        "emitted_at": "2026-11-22T10:00:00.000Z", "reason": "invalid_money",
        "detail": "$.amount: money must be a decimal string, got a number (5.0)",
        "topic": "sales.deals", "partition": 3, "offset": 42, "key": "D-1", "key_encoding": "utf-8",
        "raw": '{"amount":5.0}', "raw_encoding": "utf-8",
    },
    "payroll.statement": {
        "event_id": "payroll.statement:rep.zhang:2026-11", "type": "payroll.statement", "schema_version": 1,
        "emitted_at": "2026-12-03T10:00:01.000Z", "statement_id": "stmt:rep.zhang:2026-11",
        "idempotency_key": "rep.zhang:2026-11:1", "rep_id": "rep.zhang", "team_id": "team-east",
        "period": "2026-11", "revenue": "1200000.00", "target": "1000000.00", "attainment": 1.2,
        "plan_id": "default",
        "bands": [{"from": 0, "to": 1.0, "rate": "0.05", "paid_rate": "0.05", "revenue": "1000000.00",
                   "commission": "50000.00", "gate": None},
                  {"from": 1.0, "to": None, "rate": "0.08", "paid_rate": "0.08", "revenue": "200000.00",
                   "commission": "16000.00",
                   "gate": {"passed": True, "conditions": [{"kpi": "csat", "op": ">=", "value": 4.5,
                                                            "when_missing": "pass", "actual": 4.6, "passed": True}]}}],
        "commission": "66000.00",
        "line_items": [{"deal_id": "D-1001", "amount": "1200000.00", "closed_at": "2026-11-10T10:00:00+08:00",
                        "version": 3}],
        "posted_at": "2026-12-03T10:00:00.000Z", "flags": [],
    },
    "payroll.adjustment": {
        "event_id": "payroll.adjustment:rep.zhang:2026-11:D-1001:4", "type": "payroll.adjustment",
        "schema_version": 1, "emitted_at": "2026-12-15T10:00:00.000Z",
        "adjustment_id": "adj:rep.zhang:2026-11:D-1001:4", "rep_id": "rep.zhang", "original_period": "2026-11",
        "original_statement_id": "stmt:rep.zhang:2026-11", "apply_in_period": "2026-12",
        "delta_revenue": "-1200000.00", "delta_commission": "-66000.00", "reason": "reversal", "deal_id": "D-1001",
        "dispute_id": None,
    },
    "dispute": {
        "event_id": "dispute:DSP-17:2", "type": "dispute", "schema_version": 1,
        "emitted_at": "2026-12-08T08:00:00.120Z", "dispute_id": "DSP-17", "revision": 2, "state": "resolved",
        "rep_id": "rep.zhang", "team_id": "team-east", "manager_id": "mgr.li", "period": "2026-11",
        "subject_kind": "deal", "subject_ref": "D-1001",
        "claim": "D-1001 was closed by me; it is credited to rep.wang. 该单应计入我的业绩。",
        "decision": "partially_upheld",
        "resolution": "Shared credit: half of the commission on D-1001 is paid to rep.zhang.",
        "adjustment_amount": "3000.00",
        "history": [
            {"event_id": "web:dispute:DSP-17:open", "type": "dispute_opened", "occurred_at": "2026-12-04T01:30:00.000Z",
             "by": "rep.zhang", "decision": None, "adjustment_amount": None},
            {"event_id": "web:dispute:DSP-17:resolve", "type": "dispute_resolved",
             "occurred_at": "2026-12-08T08:00:00.000Z", "by": "mgr.li", "decision": "partially_upheld",
             "adjustment_amount": "3000.00"},
        ],
        "adjustment_ids": ["adj:appeal:DSP-17"],
        "opened_at": "2026-12-04T01:30:00.000Z", "resolved_at": "2026-12-08T08:00:00.000Z",
    },
    "award": {
        "event_id": "award:star_rep:2026-11:rep.zhang", "type": "award", "schema_version": 1,
        "emitted_at": "2026-12-01T00:00:00.000Z", "award": "star_rep", "period": "2026-11", "scope": "rep",
        "winner_id": "rep.zhang", "name": "Zhang Wei", "team_id": "team-east", "manager_id": "mgr.li",
        "value": 86.25, "rank": 1, "bonus": "2000.00",
    },
}


def valid_example(name: str) -> dict[str, Any]:
    """A deep copy of the canonical valid event ``name`` (input, appeal input or output type)."""
    source = VALID_EXAMPLES.get(name) or DISPUTE_EXAMPLES.get(name) or OUTPUT_EXAMPLES[name]
    return copy.deepcopy(source)
