"""Metrics: the worker's Prometheus counters."""

from __future__ import annotations

from sales_scorecard.streams.metrics import Metrics


def test_facts_are_counted_per_type_and_outcome() -> None:
    metrics = Metrics()
    for kind, outcome in [("deal", "applied"), ("activity", "applied"), ("deal", "applied"), ("deal", "duplicate")]:
        metrics.count_fact(kind, outcome)
    value = metrics.registry.get_sample_value
    assert value("scorecard_facts_total", {"type": "deal", "outcome": "applied"}) == 2
    assert value("scorecard_facts_total", {"type": "deal", "outcome": "duplicate"}) == 1
    assert value("scorecard_facts_total", {"type": "activity", "outcome": "applied"}) == 1
    assert value("scorecard_facts_total", {"type": "activity", "outcome": "duplicate"}) is None
    # a second Metrics counts on its own registry, and the first's counts stay
    other = Metrics()
    other.count_fact("deal", "applied")
    assert other.registry.get_sample_value("scorecard_facts_total", {"type": "deal", "outcome": "applied"}) == 1
    assert value("scorecard_facts_total", {"type": "deal", "outcome": "applied"}) == 2
