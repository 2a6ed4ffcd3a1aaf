"""Reading Prometheus samples of a worker's /metrics."""

from sales_scorecard.cli.worker_probe import metric_sum, metric_value

EXPOSITION = """\
# HELP scorecard_facts_total Facts seen
# TYPE scorecard_facts_total counter
scorecard_facts_total{type="deal",outcome="applied"} 7.0
scorecard_facts_total{type="deal",outcome="duplicate"} 2.0
scorecard_facts_total{type="activity",outcome="applied"} 5.0
scorecard_facts_created{type="deal",outcome="applied"} 1.7e9
scorecard_pending_updates 3.0
"""


def test_metric_value_picks_the_sample_with_the_labels() -> None:
    assert metric_value(EXPOSITION, "scorecard_facts_total", type="deal", outcome="duplicate") == 2.0
    assert metric_value(EXPOSITION, "scorecard_pending_updates") == 3.0
    assert metric_value(EXPOSITION, "scorecard_facts_total", type="complaint") == 0.0


def test_metric_sum_adds_matching_samples_only() -> None:
    assert metric_sum(EXPOSITION, "scorecard_facts_total") == 14.0
    assert metric_sum(EXPOSITION, "scorecard_facts_total", outcome="applied") == 12.0
    assert metric_sum(EXPOSITION, "scorecard_facts") == 0.0  # a prefix is not the metric
