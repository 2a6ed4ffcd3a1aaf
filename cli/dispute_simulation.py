"""Appeals in the simulated history (contract §10): who disputes what, and how it ends.

``simulate_disputes`` reads a simulated history (``cli.simulation``) and adds, from a random
stream of its own (so the history's facts stay exactly what they were for the seed):

- **deal disputes**: a won deal that was reassigned to a teammate is disputed by the rep
  who created it (``DEAL_DISPUTE_RATE`` of them). Most are upheld and the deal is
  re-credited: a new version of the deal back to the rep, carrying the ``dispute_id``
  (so its payroll adjustment says ``reason: "appeal"``); others are rejected or withdrawn;
- **figure disputes**: ``dispute_rate`` of the rep-months a rep was active, about a KPI, a
  target or the commission of that month, opened in the days after it ends. They are paid
  (upheld or partially upheld with an ``adjustment_amount``), rejected, withdrawn, decided
  late (after the 5 business days of contract §10), or left open past their deadline.

A rep opens most disputes; their manager (the roster's ``manager_id``) opens the rest for
them. The manager decides, or payroll (``PAYROLL_ID``): always for a commission. Every
event falls inside the simulated months; a dispute that would not fit is left out.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sales_scorecard.core.disputes import DAYS_TO_DECIDE
from sales_scorecard.core.periods import Calendar, business_deadline

#: Share of the reassigned won deals that their creator disputes.
DEAL_DISPUTE_RATE = 0.5
#: Who decides for payroll, and decides every commission dispute.
PAYROLL_ID = "payroll-desk"
#: KPIs a rep disputes (contract §5 names).
DISPUTED_KPIS = ("revenue", "won_deals", "new_customers", "customers_served", "complaints")


class Outcome(StrEnum):
    """How a simulated dispute ends."""

    RECREDITED = "recredited"  #: upheld; the deal goes back to the rep, naming the dispute
    PAID = "paid"  #: upheld or partially upheld with an adjustment_amount
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    LATE = "late"  #: decided, but after the deadline
    OPEN = "open"  #: never decided: open past its deadline when the history ends


#: Outcome weights of deal disputes and of figure disputes.
DEAL_OUTCOMES = ((Outcome.RECREDITED, 7), (Outcome.REJECTED, 2), (Outcome.WITHDRAWN, 1))
FIGURE_OUTCOMES = ((Outcome.PAID, 30), (Outcome.REJECTED, 30), (Outcome.WITHDRAWN, 10), (Outcome.LATE, 15),
                   (Outcome.OPEN, 15))

_CLAIMS = {
    "deal": ("I closed deal {ref} on {day}; it is credited to {other} now.",
             "订单 {ref} 是我在 {day} 签下的，现在记在 {other} 名下。"),
    "kpi": ("My {ref} for {period} is too low: visits logged on the road were not counted.",
            "我 {period} 的 {ref} 偏低：外出期间登记的拜访没有计入。"),
    "target": ("My target for {period} was raised after the month had started.",
               "我 {period} 的目标在月中被调高了。"),
    "commission": ("My commission for {period} does not match the plan's rate.",
                   "我 {period} 的提成与方案的比例不符。"),
}
_RESOLUTIONS = {
    "upheld": "Checked against the CRM: the claim is right.",
    "partially_upheld": "Partly right: corrected for the part the CRM confirms.",
    "rejected": "The CRM shows the figure is right; nothing to correct.",
}


@dataclass(frozen=True, slots=True)
class _Rep:
    """A rep's place in the roster (first entry) and when they were there."""

    team_id: str
    manager_id: str
    hired: datetime
    left: datetime | None


@dataclass(frozen=True, slots=True)
class _Moved:
    """A won deal whose latest version credits someone other than the rep who created it."""

    latest: dict[str, Any]  #: the deal's highest version
    creator: str
    last_change: datetime  #: when its latest version happened


@dataclass(frozen=True, slots=True)
class _Plan:
    """One dispute to write: its opening and how it ends."""

    rep_id: str
    period: str
    subject_kind: str
    subject_ref: str | None
    claim: str
    opened_at: datetime
    outcome: Outcome
    moved: _Moved | None = None


def _reps(history: Iterable[dict[str, Any]]) -> dict[str, _Rep]:
    first: dict[str, dict[str, Any]] = {}
    left: dict[str, datetime] = {}
    for e in history:
        if e["type"] != "roster":
            continue
        if e["status"] == "left":
            left[e["rep_id"]] = datetime.fromisoformat(e["effective_at"])
        else:
            first.setdefault(e["rep_id"], e)
    return {rep: _Rep(e["team_id"], e["manager_id"], datetime.fromisoformat(e["effective_at"]), left.get(rep))
            for rep, e in first.items()}


def _moved_deals(history: Iterable[dict[str, Any]]) -> list[_Moved]:
    versions: dict[str, dict[int, dict[str, Any]]] = {}
    for e in history:
        if e["type"] == "deal":
            versions.setdefault(e["deal_id"], {})[e["version"]] = e
    moved = []
    for deal_id in sorted(versions):
        by_version = versions[deal_id]
        latest, creator = by_version[max(by_version)], by_version[min(by_version)]["rep_id"]
        if latest["stage"] == "won" and latest["rep_id"] != creator:
            last_change = max(datetime.fromisoformat(v["occurred_at"]) for v in by_version.values())
            moved.append(_Moved(latest, creator, last_change))
    return moved


class _Writer:
    """Numbers the events and dispute ids, and keeps what was written."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.events: list[tuple[datetime, int, dict[str, Any]]] = []
        self.disputes = 0

    def dispute_id(self) -> str:
        self.disputes += 1
        return f"DSP{self.seed}-{self.disputes:05d}"

    def emit(self, when: datetime, event: dict[str, Any]) -> None:
        n = len(self.events) + 1
        full = {"event_id": f"dispute-{self.seed}-{n}", "type": event.pop("type"), "schema_version": 1,
                "occurred_at": when.isoformat(), **event}
        self.events.append((when, n, full))


def simulate_disputes(history: list[dict[str, Any]], seed: int, dispute_rate: float, months: list[date],
                      timezone: str) -> list[dict[str, Any]]:
    """The dispute events and the re-credited deal versions for ``history``, in time order
    (deterministic for ``seed``); ``months`` are the simulated months, the history ends when
    the last one does."""
    rnd = random.Random(f"disputes:{seed}")
    calendar = Calendar(timezone)
    zone = calendar.zone
    end = calendar.month_of(months[-1].year, months[-1].month).end
    reps = _reps(history)
    writer = _Writer(seed)

    def business_hours(after: datetime, days: float) -> datetime:
        when = after.astimezone(zone) + timedelta(days=days)
        return when.replace(hour=rnd.randint(9, 18), minute=rnd.randint(0, 59), second=rnd.randint(0, 59))

    def claim(kind: str, **fields: str) -> str:
        return rnd.choice(_CLAIMS[kind]).format(**fields)

    plans: list[_Plan] = []
    for moved in _moved_deals(history):
        if moved.creator not in reps or rnd.random() >= DEAL_DISPUTE_RATE:
            continue
        closed = datetime.fromisoformat(moved.latest["closed_at"]).astimezone(zone)
        opened = business_hours(moved.last_change, rnd.randint(1, 5))
        text = claim("deal", ref=moved.latest["deal_id"], day=closed.date().isoformat(), other=moved.latest["rep_id"])
        outcome = rnd.choices([o for o, _ in DEAL_OUTCOMES], weights=[w for _, w in DEAL_OUTCOMES])[0]
        plans.append(_Plan(moved.creator, f"{closed.year}-{closed.month:02d}", "deal", moved.latest["deal_id"], text,
                           opened, outcome, moved))
    for m in months:
        month = calendar.month_of(m.year, m.month)
        period, month_end = month.label, month.end
        for rep_id in sorted(reps):
            rep = reps[rep_id]
            active = rep.hired < month_end and (rep.left is None or rep.left > month.start)
            if not active or rnd.random() >= dispute_rate:
                continue
            kind = rnd.choices(("kpi", "target", "commission"), weights=(5, 2, 3))[0]
            ref = rnd.choice(DISPUTED_KPIS) if kind == "kpi" else None
            opened = business_hours(month_end, rnd.uniform(0.5, 12))
            outcome = rnd.choices([o for o, _ in FIGURE_OUTCOMES], weights=[w for _, w in FIGURE_OUTCOMES])[0]
            plans.append(_Plan(rep_id, period, kind, ref, claim(kind, ref=ref or "", period=period), opened, outcome))

    for plan in sorted(plans, key=lambda p: (p.opened_at, p.rep_id)):
        _write(plan, reps[plan.rep_id], writer, rnd, zone, end)
    writer.events.sort(key=lambda e: (e[0], e[1]))
    return [e[2] for e in writer.events]


def _write(plan: _Plan, rep: _Rep, writer: _Writer, rnd: random.Random, zone: tzinfo, end: datetime) -> None:
    """The events of one dispute, or none when they would not fit before ``end``."""
    opened = plan.opened_at
    deadline = business_deadline(opened, DAYS_TO_DECIDE, zone)
    in_time = opened + timedelta(hours=rnd.randint(2, 72))
    late = deadline + timedelta(hours=rnd.randint(1, 96))
    outcome = plan.outcome
    if outcome is Outcome.LATE and late >= end:
        outcome = Outcome.OPEN
    if outcome is Outcome.OPEN and deadline >= end:
        return  # it would not be overdue yet when the history ends
    decided = late if outcome is Outcome.LATE else in_time
    recredit = decided + timedelta(hours=rnd.randint(1, 24))
    if opened >= end or (outcome is not Outcome.OPEN and decided >= end) or (
            outcome is Outcome.RECREDITED and recredit >= end):
        return
    dispute_id = writer.dispute_id()
    opener = rep.manager_id if rnd.random() < 0.25 else plan.rep_id
    writer.emit(opened, {"type": "dispute_opened", "dispute_id": dispute_id, "rep_id": plan.rep_id,
                         "period": plan.period, "subject_kind": plan.subject_kind,
                         **({"subject_ref": plan.subject_ref} if plan.subject_ref else {}),
                         "claim": plan.claim, "opened_by": opener})
    if outcome is Outcome.OPEN:
        return
    if outcome is Outcome.WITHDRAWN:
        writer.emit(decided, {"type": "dispute_withdrawn", "dispute_id": dispute_id,
                              "withdrawn_by": rnd.choice((plan.rep_id, opener))})
        return
    payroll_decides = plan.subject_kind == "commission" or rnd.random() < 0.15
    resolver = PAYROLL_ID if payroll_decides else rep.manager_id
    if outcome is Outcome.RECREDITED:
        decision, amount = "upheld", None
    elif outcome is Outcome.REJECTED or (outcome is Outcome.LATE and rnd.random() < 0.5):
        decision, amount = "rejected", None
    else:
        decision = rnd.choice(("upheld", "partially_upheld"))
        full = Decimal(rnd.randrange(20_000, 800_000)) / 100
        amount = full if decision == "upheld" else (full * Decimal("0.5")).quantize(Decimal("0.01"))
    resolved: dict[str, Any] = {"type": "dispute_resolved", "dispute_id": dispute_id, "decision": decision,
                                "resolution": _RESOLUTIONS[decision], "resolved_by": resolver}
    if amount is not None:
        resolved["adjustment_amount"] = f"{amount:.2f}"
    writer.emit(decided, resolved)
    if outcome is Outcome.RECREDITED and plan.moved is not None:
        latest = plan.moved.latest
        fields = {k: v for k, v in latest.items() if k not in ("event_id", "schema_version", "occurred_at")}
        writer.emit(recredit, {**fields, "rep_id": plan.rep_id, "version": latest["version"] + 1,
                               "dispute_id": dispute_id})


def merge_by_time(stream: list[dict[str, Any]], added: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``stream`` (in delivery order, nearly by time) with ``added`` (by time) slotted in: each
    added event goes before the first event of ``stream`` that happened later."""
    out: list[dict[str, Any]] = []
    pending = [(datetime.fromisoformat(e["occurred_at"]), e) for e in added]
    i = 0
    for event in stream:
        if i < len(pending):
            when = datetime.fromisoformat(event["occurred_at"])
            while i < len(pending) and pending[i][0] <= when:
                out.append(pending[i][1])
                i += 1
        out.append(event)
    out.extend(e for _, e in pending[i:])
    return out
