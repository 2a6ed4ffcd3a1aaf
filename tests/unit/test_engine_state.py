"""What the engine keeps of a fact: the records as given (strings shared), nothing lost."""

from __future__ import annotations

import dataclasses

from sales_scorecard.core.engine import ScorecardEngine, _compact_complaint, _compact_deal
from sales_scorecard.schemas.records import ComplaintEvent, DealEvent, record_from_event
from tests import factories as f


def test_a_kept_deal_equals_the_record_in_every_field_but_its_pipeline() -> None:
    # Every optional field is set: a field the copy forgets would come back as None. The
    # pipeline fields (contract §13) are kept once, in the engine's Pipeline, not per version.
    deal = record_from_event(f.deal("d1", "r1", "c1", "1200.50", version=3, customer_tier="B",
                                    occurred_at="2026-11-12T10:00:00+08:00", dispute_id="DSP-1",
                                    pipeline_stage="proposal", expected_close_at="2026-11-20T10:00:00+08:00"))
    assert isinstance(deal, DealEvent)
    assert all(getattr(deal, field.name) is not None for field in dataclasses.fields(deal))
    assert _compact_deal(deal, None) == dataclasses.replace(deal, pipeline_stage=None, expected_close_at=None)


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
