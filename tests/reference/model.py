"""Brute-force reference model of SPEC §5–§7 over the final state of a list of events.

Written separately from ``core/`` on purpose: no shared code, no incremental tricks.
It filters the final facts for every question it is asked, so a bookkeeping bug in the
engine (a missed retraction, a stale attribution) cannot hide in both places.
Decisions where SPEC is silent: docs/kpi-decisions.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, getcontext
from typing import Any, Iterable
from zoneinfo import ZoneInfo

getcontext().prec = 28
D0 = Decimal(0)
CONTACT = {"call", "visit", "meeting", "email", "demo"}
KINDS = ["call", "visit", "meeting", "email", "demo", "campaign", "training", "survey"]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def money(v: Decimal | None) -> str | None:
    return None if v is None else str(v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def ratio(v: Decimal | None) -> float | None:
    return None if v is None else float(v.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def div(a: Decimal | int | None, b: Decimal | int | None) -> Decimal | None:
    if a is None or b is None or b == 0:
        return None
    return Decimal(a) / Decimal(b)


class ReferenceModel:
    """Final facts of an event list, and every non-clock KPI of any key."""

    def __init__(self, events: Iterable[dict], timezone: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(timezone)
        seen: set[str] = set()
        deals: dict[str, dict] = {}
        complaints: dict[str, dict] = {}
        self.activities: list[dict] = []
        roster: dict[str, list[dict]] = defaultdict(list)
        targets: dict[tuple[str, str, str], dict] = {}
        for e in events:
            if e["event_id"] in seen:
                continue
            seen.add(e["event_id"])
            kind = e["type"]
            if kind == "deal":
                if e["deal_id"] not in deals or e["version"] > deals[e["deal_id"]]["version"]:
                    deals[e["deal_id"]] = e
            elif kind == "complaint":
                if e["complaint_id"] not in complaints or e["version"] > complaints[e["complaint_id"]]["version"]:
                    complaints[e["complaint_id"]] = e
            elif kind == "activity":
                self.activities.append(e)
            elif kind == "roster":
                roster[e["rep_id"]].append(e)
            elif kind == "target":
                k = (e["scope"], e["id"], e["period"])
                if k not in targets or (ts(e["occurred_at"]), e["event_id"]) > (ts(targets[k]["occurred_at"]), targets[k]["event_id"]):
                    targets[k] = e
        self.deals = list(deals.values())
        self.complaints = list(complaints.values())
        self.roster = {r: sorted(es, key=lambda e: (ts(e["effective_at"]), ts(e["occurred_at"]), e["event_id"]))
                       for r, es in roster.items()}
        self.targets = targets
        self.won = [d for d in self.deals if d["stage"] == "won"]

    # -- time ----------------------------------------------------------------------
    def local(self, t: datetime) -> date:
        return t.astimezone(self.tz).date()

    def midnight(self, d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=self.tz)

    def bounds(self, label: str) -> tuple[datetime, datetime]:
        y = int(label[:4])
        if len(label) == 4:
            return self.midnight(date(y, 1, 1)), self.midnight(date(y + 1, 1, 1))
        if label[5] == "Q":
            q = int(label[6])
            first = 3 * q - 2
            end = date(y + 1, 1, 1) if q == 4 else date(y, first + 3, 1)
            return self.midnight(date(y, first, 1)), self.midnight(end)
        m = int(label[5:7])
        end = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
        return self.midnight(date(y, m, 1)), self.midnight(end)

    def labels(self, t: datetime) -> list[str]:
        d = self.local(t)
        return [f"{d.year}-{d.month:02d}", f"{d.year}-Q{(d.month - 1) // 3 + 1}", f"{d.year}"]

    @staticmethod
    def previous(label: str) -> str:
        y = int(label[:4])
        if len(label) == 4:
            return str(y - 1)
        if label[5] == "Q":
            q = int(label[6])
            return f"{y - 1}-Q4" if q == 1 else f"{y}-Q{q - 1}"
        m = int(label[5:7])
        return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"

    @staticmethod
    def kind(label: str) -> str:
        return "year" if len(label) == 4 else "quarter" if label[5] == "Q" else "month"

    def months_in(self, label: str) -> list[str]:
        y = label[:4]
        k = self.kind(label)
        if k == "month":
            return [label]
        if k == "quarter":
            q = int(label[6])
            return [f"{y}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]
        return [f"{y}-{m:02d}" for m in range(1, 13)]

    # -- roster --------------------------------------------------------------------
    def entry_at(self, rep: str, t: datetime) -> dict | None:
        found = None
        for e in self.roster.get(rep, []):
            if ts(e["effective_at"]) <= t:
                found = e
        return found

    def entry_before(self, rep: str, t: datetime) -> dict | None:
        found = None
        for e in self.roster.get(rep, []):
            if ts(e["effective_at"]) < t:
                found = e
        return found

    def team_at(self, rep: str, t: datetime) -> str:
        e = self.entry_at(rep, t)
        return e["team_id"] if e else "unassigned"

    def credited(self, scope: str, id: str, rep: str, t: datetime) -> bool:
        if scope == "rep":
            return rep == id
        if scope == "team":
            return self.team_at(rep, t) == id
        return True

    def members_at_end(self, end: datetime) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for rep in self.roster:
            e = self.entry_before(rep, end)
            if e is not None and e["status"] == "active":
                out[e["team_id"]].append(rep)
        return out

    # -- targets -------------------------------------------------------------------
    def given(self, scope: str, id: str, label: str, field: str) -> Decimal | None:
        e = self.targets.get((scope, id, label))
        if e is None or e.get(field) is None:
            return None
        return Decimal(str(e[field]))

    def quarter_no_year(self, scope: str, id: str, q: str, field: str) -> Decimal | None:
        g = self.given(scope, id, q, field)
        if g is not None:
            return g
        ms = [self.given(scope, id, m, field) for m in self.months_in(q)]
        return sum(ms, D0) if all(m is not None for m in ms) else None  # type: ignore[arg-type]

    def year_value(self, scope: str, id: str, y: str, field: str) -> Decimal | None:
        g = self.given(scope, id, y, field)
        if g is not None:
            return g
        qs = [self.quarter_no_year(scope, id, f"{y}-Q{i}", field) for i in range(1, 5)]
        return sum(qs, D0) if all(q is not None for q in qs) else None  # type: ignore[arg-type]

    def own(self, scope: str, id: str, label: str, field: str) -> Decimal | None:
        k = self.kind(label)
        y = label[:4]
        if k == "year":
            return self.year_value(scope, id, y, field)
        if k == "quarter":
            v = self.quarter_no_year(scope, id, label, field)
            if v is not None:
                return v
            yv = self.year_value(scope, id, y, field)
            return None if yv is None else yv / 4
        g = self.given(scope, id, label, field)
        if g is not None:
            return g
        q = f"{y}-Q{(int(label[5:7]) - 1) // 3 + 1}"
        gq = self.given(scope, id, q, field)
        if gq is not None:
            return gq / 3
        yv = self.year_value(scope, id, y, field)
        return None if yv is None else yv / 12

    def revenue_target(self, scope: str, id: str, label: str) -> Decimal | None:
        own = self.own(scope, id, label, "revenue")
        if own is not None or scope == "rep":
            return own
        members = self.members_at_end(self.bounds(label)[1])
        if scope == "team":
            vals = [self.own("rep", r, label, "revenue") for r in members.get(id, [])]
        else:
            vals = [self.revenue_target("team", t, label) for t, reps in members.items() if reps]
        vals = [v for v in vals if v is not None]
        return sum(vals, D0) if vals else None

    # -- facts per scope -----------------------------------------------------------
    def won_in(self, scope: str, id: str, start: datetime, end: datetime) -> list[dict]:
        return [d for d in self.won if start <= ts(d["closed_at"]) < end
                and self.credited(scope, id, d["rep_id"], ts(d["closed_at"]))]

    def revenue(self, scope: str, id: str, label: str) -> Decimal:
        s, e = self.bounds(label)
        return sum((Decimal(d["amount"]) for d in self.won_in(scope, id, s, e)), D0)

    def acquisition(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for d in sorted(self.won, key=lambda d: (ts(d["closed_at"]), d["deal_id"])):
            out.setdefault(d["customer_id"], d)
        return out

    def acts(self, scope: str, id: str, start: datetime, end: datetime) -> list[dict]:
        return [a for a in self.activities if start <= ts(a["occurred_at"]) < end
                and self.credited(scope, id, a["rep_id"], ts(a["occurred_at"]))]

    def contacts(self, acts: list[dict]) -> list[str]:
        return [a["customer_id"] for a in acts if a["kind"] in CONTACT and a.get("effective", True) is not False
                and a.get("customer_id")]

    def commission(self, rep: str, month: str) -> Decimal:
        revenue = self.revenue("rep", rep, month)
        target = self.own("rep", rep, month, "revenue")
        if target is None or target <= 0:
            raw = revenue * Decimal("0.05")
        else:
            raw = min(revenue, target) * Decimal("0.05") + max(D0, revenue - target) * Decimal("0.08")
        return raw.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    # -- public --------------------------------------------------------------------
    def keys(self) -> set[tuple[str, str, str]]:
        out: set[tuple[str, str, str]] = set()

        def add(rep: str, t: datetime) -> None:
            for label in self.labels(t):
                out.update({("rep", rep, label), ("team", self.team_at(rep, t), label), ("company", "*", label)})

        for d in self.deals:
            if d["stage"] in ("won", "lost"):
                add(d["rep_id"], ts(d["closed_at"]))
        for c in self.complaints:
            add(c["rep_id"], ts(c["opened_at"]))
            if c["status"] == "resolved":
                add(c["rep_id"], ts(c["resolved_at"]))
        for a in self.activities:
            add(a["rep_id"], ts(a["occurred_at"]))
        out.update(self.targets)
        return out

    def kpis(self, scope: str, id: str, label: str) -> dict[str, Any]:
        start, end = self.bounds(label)
        kind = self.kind(label)
        won = self.won_in(scope, id, start, end)
        lost = [d for d in self.deals if d["stage"] == "lost" and start <= ts(d["closed_at"]) < end
                and self.credited(scope, id, d["rep_id"], ts(d["closed_at"]))]
        revenue = sum((Decimal(d["amount"]) for d in won), D0)
        target = self.revenue_target(scope, id, label)
        attainment = div(revenue, target)
        weighted = attainment
        if scope == "rep" and attainment is not None:
            e = self.entry_before(id, end)
            weighted = attainment * Decimal(str(e.get("territory_factor", "1.0"))) if e else attainment
        prev = self.revenue(scope, id, self.previous(label))
        yoy = self.revenue(scope, id, f"{int(label[:4]) - 1}{label[4:]}")
        acq = [d for d in self.acquisition().values() if start <= ts(d["closed_at"]) < end
               and self.credited(scope, id, d["rep_id"], ts(d["closed_at"]))]
        tiers = {t: sum(1 for d in acq if d.get("customer_tier") == t) for t in "ABC"}
        tiers["none"] = sum(1 for d in acq if not d.get("customer_tier"))
        won_customers = {d["customer_id"] for d in won}
        repeat = sum(1 for c in won_customers if any(
            d["customer_id"] == c and start - timedelta(days=365) <= ts(d["closed_at"]) < start for d in self.won))
        acts = self.acts(scope, id, start, end)
        contacts = self.contacts(acts)
        served = won_customers | set(contacts)
        complaints = [c for c in self.complaints if start <= ts(c["opened_at"]) < end
                      and self.credited(scope, id, c["rep_id"], ts(c["opened_at"]))]
        resolved = [c for c in self.complaints if c["status"] == "resolved" and start <= ts(c["resolved_at"]) < end
                    and self.credited(scope, id, c["rep_id"], ts(c["resolved_at"]))]
        surveys = [a["score"] for a in acts if a["kind"] == "survey"]
        coverage = None
        if kind == "month":
            book = {d["customer_id"] for d in self.won if end - timedelta(days=365) <= ts(d["closed_at"]) < end
                    and self.credited(scope, id, d["rep_id"], ts(d["closed_at"]))}
            covered = {c for c in book if contacts.count(c) >= 2}
            coverage = div(len(covered), len(book))
        training = sum((a.get("duration_minutes") or 0) for a in acts if a["kind"] == "training")
        out: dict[str, Any] = {
            "revenue": money(revenue),
            "target": money(target),
            "attainment": ratio(attainment),
            "weighted_attainment": ratio(weighted),
            "growth_prev": ratio(div(revenue - prev, prev)),
            "growth_yoy": ratio(div(revenue - yoy, yoy)),
            "won_deals": len(won),
            "lost_deals": len(lost),
            "win_rate": ratio(div(len(won), len(won) + len(lost))),
            "avg_deal_size": money(div(revenue, len(won))),
            "avg_cycle_days": ratio(div(sum((Decimal((ts(d["closed_at"]) - ts(d["created_at"])).total_seconds())
                                              for d in won), D0) / Decimal(86400), len(won))),
            "new_customers": len(acq),
            "new_customers_by_tier": tiers,
            "repeat_customer_rate": ratio(div(repeat, len(won_customers))),
            "customers_served": len(served),
            "complaints": len(complaints),
            "complaints_by_severity": {s: sum(1 for c in complaints if c["severity"] == s)
                                       for s in ("low", "medium", "high", "critical")},
            "complaint_rate": ratio(div(len(complaints), len(served))),
            "avg_resolution_hours": ratio(div(sum((Decimal((ts(c["resolved_at"]) - ts(c["opened_at"])).total_seconds())
                                                    for c in resolved), D0) / Decimal(3600), len(resolved))),
            "csat": ratio(div(sum(surveys), len(surveys))),
            "csat_responses": len(surveys),
            "activities": {**{k: sum(1 for a in acts if a["kind"] == k) for k in KINDS},
                           "effective_contacts": len(contacts)},
            "contact_coverage": ratio(coverage),
            "campaigns": len({a["campaign_id"] for a in acts if a["kind"] == "campaign"}),
            "training_hours": ratio(Decimal(training) / 60),
        }
        if scope == "rep":
            e = self.entry_before(id, end)
            tenure = None
            if e is not None:
                h = ts(e["hired_at"]).astimezone(self.tz)
                n = end.astimezone(self.tz)
                tenure = (n.year - h.year) * 12 + n.month - h.month - (1 if (n.day, n.time()) < (h.day, h.time()) else 0)
                tenure = max(0, tenure)
            out.update(market_size=None, market_share=None, headcount=None, departures=None, turnover_rate=None,
                       new_hire_ramp=None, tenure_months=tenure,
                       commission=money(sum((self.commission(id, m) for m in self.months_in(label)), D0)))
        else:
            market = self.own(scope, id, label, "market_size")
            team = id if scope == "team" else None
            def headcount(at: datetime) -> int:
                return sum(len(reps) for t, reps in self.members_at_end(at).items() if team is None or t == team)
            departures = 0
            for rep, entries in self.roster.items():
                prev_status = None
                for e in entries:
                    if e["status"] == "left" and prev_status != "left" and start <= ts(e["effective_at"]) < end \
                            and (team is None or e["team_id"] == team):
                        departures += 1
                        break
                    prev_status = e["status"]
            mean_hc = div(headcount(start) + headcount(end), 2)
            ramp = None
            if kind == "month":
                hire_month = self.previous(self.previous(label))
                ratios = []
                for t, reps in self.members_at_end(end).items():
                    if team is not None and t != team:
                        continue
                    for rep in reps:
                        h = self.local(ts(self.entry_before(rep, end)["hired_at"]))
                        if f"{h.year}-{h.month:02d}" == hire_month:
                            base = self.revenue("rep", rep, hire_month)
                            if base:
                                ratios.append(self.revenue("rep", rep, label) / base)
                ramp = div(sum(ratios, D0), len(ratios)) if ratios else None
            out.update(market_size=money(market), market_share=ratio(div(revenue, market)), headcount=headcount(end),
                       departures=departures, turnover_rate=ratio(div(departures, mean_hc)), new_hire_ramp=ratio(ramp),
                       tenure_months=None, commission=None)
        months = len(self.months_in(label))
        nc_target = self.own(scope, id, label, "new_customers")
        components = [
            (weighted, Decimal(40), Decimal("1.0"), False),
            (div(len(won), len(won) + len(lost)), Decimal(10), Decimal("0.30"), False),
            (Decimal(len(acq)), Decimal(10), nc_target if nc_target is not None else Decimal(2 * months), False),
            (div(sum(surveys), len(surveys)), Decimal(10), Decimal("4.5"), False),
            (div(len(complaints), len(served)), Decimal(10), Decimal("0.05"), True),
            (coverage, Decimal(10), Decimal("1.0"), False),
            (Decimal(training) / 60, Decimal(10), Decimal(4 * months), False),
        ]
        total = weights = D0
        for value, weight, goal, lower in components:
            if value is None:
                continue
            if lower:
                a = Decimal(1) if value == 0 else min(Decimal(1), goal / value)
            else:
                if goal == 0:
                    continue
                a = min(Decimal(1), value / goal)
            total += weight * max(D0, a)
            weights += weight
        out["score"] = ratio(div(100 * total, weights))
        return out
