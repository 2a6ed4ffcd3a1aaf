"""Manager alert rules (pure): below pace, attainment dropped, complaint spike.

Each rule keeps an ``AlertState`` per key ``{rule}:{scope}:{id}:{period}``; an incident
fires once and resolves once, and nothing is emitted while the state is unchanged. The
agent persists the states in a table, so a restart neither forgets nor repeats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from .money import ratio
from .periods import parse_timestamp
from .plan_files import load_yaml, to_decimal

KINDS = ("pace", "drop", "complaints")


class AlertRuleError(ValueError):
    """An alert rules file that cannot be used."""


@dataclass(frozen=True)
class Rule:
    """One alert rule."""

    name: str
    kind: str
    scopes: tuple[str, ...]
    severity: str
    fire_below: Decimal | None = None
    resolve_at: Decimal | None = None
    min_elapsed: Decimal = Decimal(0)
    drop: Decimal | None = None
    severities: tuple[str, ...] = ()
    min_count: int = 0
    window_days: int = 7


@dataclass(frozen=True)
class AlertState:
    """Where one key's incident stands."""

    firing: bool = False
    incident: int = 0
    high: Decimal | None = None  # drop rule: highest attainment seen in the period

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form for the state table."""
        return {"firing": self.firing, "incident": self.incident, "high": None if self.high is None else str(self.high)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AlertState:
        """Inverse of ``to_json``."""
        return cls(d["firing"], d["incident"], None if d.get("high") is None else Decimal(d["high"]))


@dataclass(frozen=True)
class Transition:
    """A state change to store under ``key`` and, when ``event`` is set, to publish."""

    key: str
    state: AlertState
    event: dict[str, Any] | None


class AlertStates(Protocol):
    """Where the current state of each alert key is looked up (a dict, or the worker's table)."""

    def get(self, key: str, default: AlertState, /) -> AlertState: ...


def alert_key(rule: str, scope: str, id: str, period: str) -> str:
    """``{rule}:{scope}:{id}:{period}``: the state key and the Kafka key of an alert."""
    return f"{rule}:{scope}:{id}:{period}"


def _optional_decimal(rule: dict[str, Any], key: str, where: str) -> Decimal | None:
    return None if rule.get(key) is None else to_decimal(rule[key], f"{where}.{key}", AlertRuleError)


def load_alert_rules(path: str | None) -> tuple[Rule, ...]:
    """Rules from a YAML file (None: the packaged default)."""
    data = load_yaml(path, "default_alerts.yaml", AlertRuleError, "alert rules")
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise AlertRuleError("alert rules: expected a mapping with a 'rules' list")
    rules = []
    for i, r in enumerate(data["rules"]):
        where = f"rules[{i}]"
        if not isinstance(r, dict) or r.get("kind") not in KINDS or not r.get("name"):
            raise AlertRuleError(f"{where}: needs a name and a kind in {KINDS}")
        rules.append(Rule(
            name=str(r["name"]), kind=r["kind"], scopes=tuple(r.get("scopes", ("rep", "team"))),
            severity=str(r.get("severity", "warning")), fire_below=_optional_decimal(r, "fire_below", where),
            resolve_at=_optional_decimal(r, "resolve_at", where),
            min_elapsed=_optional_decimal(r, "min_elapsed", where) or Decimal(0),
            drop=_optional_decimal(r, "drop", where),
            severities=tuple(r.get("severities", ())), min_count=int(r.get("min_count", 0)),
            window_days=int(r.get("window_days", 7)),
        ))
    return tuple(rules)


MESSAGES = {
    ("attainment_below_pace", "firing"): (
        "{who} is behind pace in {period}: pace {value:.0%} (threshold {threshold:.0%})",
        "{who} {period} 进度落后：完成进度 {value:.0%}（阈值 {threshold:.0%}）"),
    ("attainment_below_pace", "resolved"): (
        "{who} is back on pace in {period}: pace {value:.0%}",
        "{who} {period} 已恢复进度：完成进度 {value:.0%}"),
    ("attainment_dropped", "firing"): (
        "{who}'s attainment in {period} dropped to {value:.0%} from a high of {threshold:.0%}",
        "{who} {period} 达成率从最高 {threshold:.0%} 下降至 {value:.0%}"),
    ("attainment_dropped", "resolved"): (
        "{who}'s attainment in {period} is back at {value:.0%}",
        "{who} {period} 达成率已恢复至 {value:.0%}"),
    ("complaint_spike", "firing"): (
        "{who} received {value:.0f} high or critical complaints in the last 7 days",
        "{who} 近 7 天收到 {value:.0f} 起高危或严重投诉"),
    ("complaint_spike", "resolved"): (
        "{who}'s complaint spike is over ({value:.0f} in the last 7 days)",
        "{who} 投诉激增已结束（近 7 天 {value:.0f} 起）"),
}


def _event(rule: Rule, key: str, state: AlertState, scope: str, id: str, period: str, manager_id: str | None,
            value: Decimal, threshold: Decimal, emitted_at: str) -> dict[str, Any]:
    status = "firing" if state.firing else "resolved"
    who = {"rep": "Rep", "team": "Team", "company": "Company"}[scope] + f" {id}"
    who_zh = {"rep": "销售", "team": "团队", "company": "公司"}[scope] + f" {id}"
    en, zh = MESSAGES.get((rule.name, status), ("{who}: {period}", "{who}：{period}"))
    args = {"period": period, "value": float(value), "threshold": float(threshold)}
    return {
        "event_id": f"{key}:{state.incident}:{status}",
        "type": "alert",
        "schema_version": 1,
        "emitted_at": emitted_at,
        "alert_id": f"{key}:{state.incident}",
        "rule": rule.name,
        "state": status,
        "severity": rule.severity,
        "scope": scope,
        "id": id,
        "manager_id": manager_id,
        "period": period,
        "value": ratio(value),
        "threshold": ratio(threshold),
        "message": en.format(who=who, **args),
        "message_zh": zh.format(who=who_zh, **args),
    }


def _change(rule: Rule, key: str, old: AlertState, firing: bool, high: Decimal | None, scope: str, id: str,
            period: str, manager_id: str | None, value: Decimal, threshold: Decimal,
            emitted_at: str) -> Transition | None:
    if firing == old.firing:
        return Transition(key, replace(old, high=high), None) if high != old.high else None
    state = AlertState(firing, old.incident + 1 if firing else old.incident, high)
    return Transition(key, state, _event(rule, key, state, scope, id, period, manager_id, value, threshold, emitted_at))


def evaluate_scorecard(
    rules: Iterable[Rule], scorecard: Mapping[str, Any], states: AlertStates,
    manager_id: str | None, emitted_at: str,
) -> list[Transition]:
    """Transitions of the pace and drop rules for one rendered scorecard."""
    scope, id, period = scorecard["scope"], scorecard["id"], scorecard["period"]
    if period in ("R30D", "R90D") or scorecard.get("as_of") is None:
        return []
    kpis = scorecard["kpis"]
    out = []
    for rule in rules:
        if scope not in rule.scopes or rule.kind == "complaints":
            continue
        key = alert_key(rule.name, scope, id, period)
        old = states.get(key, AlertState())
        if rule.kind == "pace":
            pace = kpis.get("pace")
            start, end = parse_timestamp(scorecard["period_start"]), parse_timestamp(scorecard["period_end"])
            as_of = parse_timestamp(scorecard["as_of"])
            if len(period) != 7 or not start <= as_of < end or pace is None:
                continue  # only the current month, with a target
            elapsed = Decimal(str((as_of - start) / (end - start)))
            if elapsed < rule.min_elapsed and not old.firing:
                continue
            value = Decimal(str(pace))
            assert rule.fire_below is not None and rule.resolve_at is not None
            firing = value < rule.fire_below or (old.firing and value < rule.resolve_at)
            change = _change(rule, key, old, firing, old.high, scope, id, period, manager_id, value,
                             rule.fire_below if firing else rule.resolve_at, emitted_at)
        else:
            attainment = kpis.get("attainment")
            if attainment is None:
                continue
            value = Decimal(str(attainment))
            assert rule.drop is not None
            high = old.high if old.high is not None and old.high >= value else value
            firing = value < high if old.firing else value <= high - rule.drop
            change = _change(rule, key, old, firing, high, scope, id, period, manager_id, value, high, emitted_at)
        if change is not None:
            out.append(change)
    return out


def evaluate_complaints(
    rules: Iterable[Rule], rep_id: str, complaints: Iterable[tuple[datetime, str]], as_of: datetime,
    states: AlertStates, manager_id: str | None, emitted_at: str,
) -> list[Transition]:
    """Transitions of the complaint-spike rule for one rep (complaints: (opened_at, severity))."""
    out = []
    for rule in rules:
        if rule.kind != "complaints" or "rep" not in rule.scopes:
            continue
        since = as_of - timedelta(days=rule.window_days)
        count = sum(1 for opened, severity in complaints if severity in rule.severities and since <= opened <= as_of)
        key = alert_key(rule.name, "rep", rep_id, f"R{rule.window_days}D")
        old = states.get(key, AlertState())
        change = _change(rule, key, old, count >= rule.min_count, None, "rep", rep_id, f"R{rule.window_days}D",
                         manager_id, Decimal(count), Decimal(rule.min_count), emitted_at)
        if change is not None:
            out.append(change)
    return out
