"""What the monitoring assets (Prometheus rules, Grafana dashboard) expect of the worker's
metrics: shared by the offline manifest tests and the live-worker scale-out test."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import promql_parser
import yaml

MONITORING = Path(__file__).resolve().parents[1] / "deploy" / "monitoring"

_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}


def series_names(families: Iterable) -> set[str]:
    """Every series name of metric families (from a registry or a parsed exposition)."""
    names: set[str] = set()
    for family in families:
        names.update(family.name + s for s in _SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def selector_names(expr: str) -> list[str]:
    """Metric names of the vector selectors of a PromQL expression."""
    found: list[str] = []
    promql_parser.walk(
        promql_parser.parse(expr),
        lambda node: found.append(node.name) if isinstance(node, promql_parser.VectorSelector) and node.name else None,
    )
    return found


def alert_rules() -> list[dict]:
    doc = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def dashboard() -> dict:
    return json.loads((MONITORING / "grafana-dashboard.json").read_text())


def dashboard_exprs() -> list[str]:
    """Every PromQL expression of the dashboard, Grafana variables replaced by values."""
    exprs = []
    stack = list(dashboard()["panels"])
    while stack:
        panel = stack.pop()
        stack.extend(panel.get("panels", []))
        exprs.extend(t["expr"] for t in panel.get("targets", []))
    return [e.replace("$__rate_interval", "5m").replace("$instance", ".*") for e in exprs]


def monitored_scorecard_metrics() -> set[str]:
    """The ``scorecard_*`` series named by the alert rules or the dashboard."""
    used = {name for rule in alert_rules() for name in selector_names(rule["expr"])}
    used |= {name for expr in dashboard_exprs() for name in selector_names(expr)}
    return {name for name in used if name.startswith("scorecard_")}
