"""What the engine keeps of a fact: the records as given (strings shared), nothing lost."""

from __future__ import annotations

import dataclasses

from sales_scorecard.core.engine import ScorecardEngine, _compact_complaint
from sales_scorecard.schemas.records import ComplaintEvent, record_from_event
from tests import factories as f


def test_the_engine_keeps_one_pipeline_entry_per_open_deal() -> None:
    engine = ScorecardEngine()
    for version, stage in enumerate(("prospect", "qualified", "proposal"), start=1):
        engine.apply(record_from_event(f.deal("d1", "r1", "c1", "10.00", version=version, stage="open",
                                              closed_at=None, pipeline_stage=stage,
                                              expected_close_at="2026-11-20T10:00:00+08:00")))
    assert len(engine.pipeline) == 1
    engine.apply(record_from_event(f.deal("d1", "r1", "c1", "10.00", version=4)))  # won: out of the pipeline
    assert len(engine.pipeline) == 0 and engine.pipeline.reps() == []


def test_a_kept_complaint_equals_the_record_in_every_field() -> None:
    complaint = record_from_event(f.complaint("k1", "r1", "c1", status="resolved",
                                              opened_at="2026-11-02T10:00:00+08:00",
                                              resolved_at="2026-11-03T10:00:00+08:00"))
    assert isinstance(complaint, ComplaintEvent)
    assert all(getattr(complaint, field.name) is not None for field in dataclasses.fields(complaint))
    assert _compact_complaint(complaint, None) == complaint


def test_versions_of_a_deal_share_its_id_and_repeated_strings() -> None:
    engine = ScorecardEngine()
    engine.apply(record_from_event(f.deal("d1", "r1", "c1", "10.00", stage="open", closed_at=None)))
    engine.apply(record_from_event(f.deal("d1", "r1", "c1", "10.00", version=2)))
    engine.apply(record_from_event(f.deal("d2", "r1", "c1", "20.00")))
    (key1, first), (_, second) = engine.deals.items()
    assert first.version == 2 and first.deal_id is key1
    assert first.rep_id is second.rep_id and first.customer_id is second.customer_id and first.stage is second.stage


def test_a_resolved_complaint_opened_and_resolved_at_one_instant_keeps_one_object() -> None:
    complaint = record_from_event(f.complaint("k1", "r1", "c1", status="resolved",
                                              opened_at="2026-11-02T10:00:00+08:00",
                                              resolved_at="2026-11-02T10:00:00+08:00"))
    assert isinstance(complaint, ComplaintEvent)
    kept = _compact_complaint(complaint, None)
    assert kept.resolved_at is kept.opened_at and kept.occurred_at is kept.opened_at and kept == complaint


def test_a_quarter_counts_the_customers_of_its_months_and_keeps_none_of_its_own() -> None:
    engine = ScorecardEngine()
    # c1 won in October and again in November, c2 won in November, c3 only contacted
    # (twice, in October and December): the quarter has 2 distinct won customers, 3 served.
    wins = (("d1", "c1", "2026-10-10"), ("d2", "c1", "2026-11-10"), ("d3", "c2", "2026-11-12"))
    for deal_id, customer, closed in wins:
        engine.apply(record_from_event(f.deal(deal_id, "r1", customer, "100.00", closed_at=f"{closed}T10:00:00+08:00",
                                              created_at="2026-09-01T10:00:00+08:00")))
    for day in ("2026-10-05", "2026-12-05"):
        engine.apply(record_from_event(f.activity("r1", "call", f"{day}T10:00:00+08:00", customer_id="c3",
                                                  effective=True)))
    kept = engine.buckets.get(("rep", "r1", "2026-Q4"))
    assert kept is not None and kept.won == 3 and not kept.won_customers and not kept.contacts
    computed = engine.inputs("rep", "r1", "2026-Q4")
    assert computed is not None
    bucket = computed[1].bucket
    assert dict(bucket.won_customers) == {"c1": 2, "c2": 1} and dict(bucket.contacts) == {"c3": 2}
    assert bucket.won == 3 and bucket.effective_contacts == 2 and str(bucket.revenue) == "300.00"
    # the months keep theirs
    november = engine.buckets.get(("rep", "r1", "2026-11"))
    assert november is not None and dict(november.won_customers) == {"c1": 1, "c2": 1}
