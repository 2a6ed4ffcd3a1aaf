"""Brute-force reference model of contract §5–§7 over the final state of a list of events.

Written from docs/contract.md only, separately from ``core/`` on
purpose: no shared code and no incremental bookkeeping. The final fact set is built
first (highest version per deal and complaint, unique activities, every roster entry,
the latest target per key), then every question is answered by filtering those facts
by instant windows ``[start, end)``. Facts are only pre-grouped by the scope they are
credited to, so that ~900 keys over 20,000 events stay fast.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

UTC = UTC
CONTACT_KINDS = ("call", "visit", "meeting", "email", "demo")
KINDS = ("call", "visit", "meeting", "email", "demo", "campaign", "training", "survey")
TIERS = ("A", "B", "C")
SEVERITIES = ("low", "medium", "high", "critical")
TEAM_OR_COMPANY = ("team", "company")
UNASSIGNED = "unassigned"
COMPANY_ID = "*"

# contract §7 default commission plan, with §11's gate on the band above target: its
# revenue earns 8 % only when the month's csat >= 4.5 (no survey: 8 %), else the 5 % below.
BASE_RATE = Decimal("0.05")
ABOVE_TARGET_RATE = Decimal("0.08")
ABOVE_TARGET_CSAT = Decimal("4.5")


@dataclass(frozen=True)
class Rates:
    """The rates of a plan shaped like the default one (contract §7, §11): ``base`` up to the
    target, ``above_target`` on the revenue above it when the month's csat is at least
    ``above_target_csat`` or it has no survey, else ``base`` there too. A what-if's candidate
    of this shape (contract §13) is checked with other rates."""

    base: Decimal = BASE_RATE
    above_target: Decimal = ABOVE_TARGET_RATE
    above_target_csat: Decimal = ABOVE_TARGET_CSAT


DEFAULT_RATES = Rates()

# contract §6 default scorecard plan: (kpi, weight, monthly goal or None, lower_is_better).
CAP = Decimal(1)
SCORE_PLAN: tuple[tuple[str, int, Decimal | None, bool], ...] = (
    ("weighted_attainment", 40, Decimal("1.0"), False),
    ("win_rate", 10, Decimal("0.30"), False),
    ("new_customers", 10, None, False),  # target's new_customers, else 2 per month
    ("csat", 10, Decimal("4.5"), False),
    ("complaint_rate", 10, Decimal("0.05"), True),
    ("contact_coverage", 10, Decimal("1.0"), False),
    ("training_hours", 10, None, False),  # 4 per month
)
MONTHS_PER_KIND = {"month": 1, "quarter": 3, "year": 12}


# --------------------------------------------------------------------------- helpers
def parse_ts(text: str) -> datetime:
    """RFC 3339 timestamp -> aware UTC datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"naive timestamp {text!r}")
    return value.astimezone(UTC)


def out_money(value: Decimal | None) -> str | None:
    """Money for output: 2 decimals, half-up."""
    return None if value is None else str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def out_ratio(value: Decimal | None) -> float | None:
    """Ratio for output: rounded half-up to 4 decimals in Decimal, then a float."""
    return None if value is None else float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def safe_div(num: Decimal | int | None, den: Decimal | int | None) -> Decimal | None:
    """num / den in Decimal, or None when an input is missing or den is 0."""
    if num is None or den is None or den == 0:
        return None
    return Decimal(num) / Decimal(den)


def mean(values: list[Decimal]) -> Decimal | None:
    """Arithmetic mean in Decimal, None for no values."""
    return safe_div(sum(values, Decimal(0)), len(values))


def seconds(delta: timedelta) -> Decimal:
    """Exact length of a timedelta in seconds."""
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(1_000_000)


# --------------------------------------------------------------------------- periods
@dataclass(frozen=True)
class Period:
    """A calendar period: half-open [start, end) between local midnights, as UTC instants."""

    kind: str  # month | quarter | year
    label: str
    year: int
    first_month: int  # 1..12
    months: int  # 1, 3 or 12
    start: datetime
    end: datetime

    def month_labels(self) -> list[str]:
        """Labels of the months inside this period."""
        return [f"{self.year:04d}-{m:02d}" for m in range(self.first_month, self.first_month + self.months)]


class Calendar:
    """Local-calendar period arithmetic in one IANA zone."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def midnight(self, day: date) -> datetime:
        """Local midnight of a date, as a UTC instant."""
        return datetime(day.year, day.month, day.day, tzinfo=self.tz).astimezone(UTC)

    def local_date(self, t: datetime) -> date:
        """Local calendar date of an instant."""
        return t.astimezone(self.tz).date()

    def labels(self, t: datetime) -> tuple[str, str, str]:
        """(month, quarter, year) labels of the local date of an instant."""
        d = self.local_date(t)
        return f"{d.year:04d}-{d.month:02d}", f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}", f"{d.year:04d}"

    def period(self, label: str) -> Period:
        """Parse `YYYY`, `YYYY-Qn` or `YYYY-MM`."""
        if len(label) == 4:
            kind, year, first, n = "year", int(label), 1, 12
        elif label[5] == "Q":
            kind, year, first, n = "quarter", int(label[:4]), 3 * (int(label[6]) - 1) + 1, 3
        else:
            kind, year, first, n = "month", int(label[:4]), int(label[5:7]), 1
        start_day = date(year, first, 1)
        end_month = first + n
        end_day = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
        return Period(kind, label, year, first, n, self.midnight(start_day), self.midnight(end_day))

    @staticmethod
    def shift(p: Period, months: int) -> str:
        """Label of the period of the same kind starting `months` months after p's start."""
        index = p.year * 12 + (p.first_month - 1) + months
        year, month = divmod(index, 12)
        if p.kind == "year":
            return f"{year:04d}"
        if p.kind == "quarter":
            return f"{year:04d}-Q{month // 3 + 1}"
        return f"{year:04d}-{month + 1:02d}"

    def previous(self, p: Period) -> str:
        """The preceding period of the same kind."""
        return self.shift(p, -p.months)

    def year_earlier(self, p: Period) -> str:
        """The same period one year earlier."""
        return self.shift(p, -12)

    def days_before(self, t: datetime, days: int) -> datetime:
        """Local midnight `days` local days before the local midnight t."""
        return self.midnight(self.local_date(t) - timedelta(days=days))


# --------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class Deal:
    """Final state of a won or lost deal, with its team at closed_at."""

    deal_id: str
    rep: str
    team: str
    customer: str
    stage: str
    amount: Decimal
    created: datetime
    closed: datetime
    tier: str | None


@dataclass(frozen=True)
class Complaint:
    """Final state of a complaint, with the teams at opened_at and resolved_at."""

    complaint_id: str
    rep: str
    customer: str
    severity: str
    opened: datetime
    open_team: str
    resolved: datetime | None  # only when status is resolved
    resolve_team: str | None


@dataclass(frozen=True)
class Activity:
    """An activity fact with the rep's team at occurred_at."""

    rep: str
    team: str
    kind: str
    at: datetime
    customer: str | None
    effective: bool
    minutes: int
    score: int | None
    campaign: str | None

    @property
    def is_contact(self) -> bool:
        """An effective customer contact (contract §3)."""
        return self.kind in CONTACT_KINDS and self.effective and self.customer is not None


@dataclass(frozen=True)
class Entry:
    """One roster entry."""

    rep: str
    team: str
    status: str
    effective: datetime
    hired: datetime
    factor: Decimal
    manager: str | None = None


def _in(t: datetime, start: datetime, end: datetime) -> bool:
    return start <= t < end


class ReferenceModel:
    """Final facts of an event list, and every non-clock KPI of any calendar key."""

    def __init__(self, events: Iterable[dict], timezone: str = "Asia/Shanghai") -> None:
        self.cal = Calendar(ZoneInfo(timezone))
        seen: set[str] = set()
        deals: dict[str, dict] = {}
        complaints: dict[str, dict] = {}
        activities: list[dict] = []
        roster: dict[str, list[dict]] = defaultdict(list)
        targets: dict[tuple[str, str, str], dict] = {}
        for ev in events:
            if ev["event_id"] in seen:
                continue
            seen.add(ev["event_id"])
            kind = ev["type"]
            if kind == "deal":
                old = deals.get(ev["deal_id"])
                if old is None or int(ev["version"]) > int(old["version"]):
                    deals[ev["deal_id"]] = ev
            elif kind == "complaint":
                old = complaints.get(ev["complaint_id"])
                if old is None or int(ev["version"]) > int(old["version"]):
                    complaints[ev["complaint_id"]] = ev
            elif kind == "activity":
                activities.append(ev)
            elif kind == "roster":
                roster[ev["rep_id"]].append(ev)
            elif kind == "target":
                key = (ev["scope"], ev["id"], ev["period"])
                old = targets.get(key)
                if old is None or (parse_ts(ev["occurred_at"]), ev["event_id"]) > (
                        parse_ts(old["occurred_at"]), old["event_id"]):
                    targets[key] = ev

        # Roster histories, ordered by (effective_at, occurred_at, event_id).
        self.history: dict[str, list[Entry]] = {}
        self._effective: dict[str, list[datetime]] = {}
        for rep, evs in roster.items():
            evs.sort(key=lambda e: (parse_ts(e["effective_at"]), parse_ts(e["occurred_at"]), e["event_id"]))
            entries = [Entry(rep, e["team_id"], e["status"], parse_ts(e["effective_at"]), parse_ts(e["hired_at"]),
                             Decimal(str(e.get("territory_factor") or "1.0")), e.get("manager_id")) for e in evs]
            self.history[rep] = entries
            self._effective[rep] = [x.effective for x in entries]

        self.deals: list[Deal] = []
        for ev in deals.values():
            if ev["stage"] not in ("won", "lost"):
                continue  # open and reversed deals contribute nothing
            closed = parse_ts(ev["closed_at"])
            self.deals.append(Deal(ev["deal_id"], ev["rep_id"], self.team_at(ev["rep_id"], closed),
                                   ev["customer_id"], ev["stage"], Decimal(ev["amount"]),
                                   parse_ts(ev["created_at"]), closed, ev.get("customer_tier")))
        self.complaints: list[Complaint] = []
        for ev in complaints.values():
            opened = parse_ts(ev["opened_at"])
            resolved = parse_ts(ev["resolved_at"]) if ev["status"] == "resolved" and ev.get("resolved_at") else None
            self.complaints.append(Complaint(
                ev["complaint_id"], ev["rep_id"], ev["customer_id"], ev["severity"], opened,
                self.team_at(ev["rep_id"], opened), resolved,
                None if resolved is None else self.team_at(ev["rep_id"], resolved)))
        self.activities: list[Activity] = []
        for ev in activities:
            at = parse_ts(ev["occurred_at"])
            self.activities.append(Activity(
                ev["rep_id"], self.team_at(ev["rep_id"], at), ev["kind"], at, ev.get("customer_id"),
                ev.get("effective", True) is not False, int(ev.get("duration_minutes") or 0), ev.get("score"),
                ev.get("campaign_id")))
        self.targets = targets

        # Pre-grouping by credited scope (the only "index"; windows are filtered brute force).
        self._deals: dict[tuple[str, str], list[Deal]] = defaultdict(list)
        for d in self.deals:
            for key in (("rep", d.rep), ("team", d.team), ("company", COMPANY_ID)):
                self._deals[key].append(d)
        self._opened: dict[tuple[str, str], list[Complaint]] = defaultdict(list)
        self._resolved: dict[tuple[str, str], list[Complaint]] = defaultdict(list)
        for c in self.complaints:
            for key in (("rep", c.rep), ("team", c.open_team), ("company", COMPANY_ID)):
                self._opened[key].append(c)
            if c.resolved is not None:
                for key in (("rep", c.rep), ("team", c.resolve_team), ("company", COMPANY_ID)):
                    self._resolved[key].append(c)
        self._acts: dict[tuple[str, str], list[Activity]] = defaultdict(list)
        for a in self.activities:
            for key in (("rep", a.rep), ("team", a.team), ("company", COMPANY_ID)):
                self._acts[key].append(a)
        # All won deals by closed_at, for the repeat-customer window (any rep).
        won = sorted((d for d in self.deals if d.stage == "won"), key=lambda d: (d.closed, d.deal_id))
        self._won_all = won
        self._won_closed = [d.closed for d in won]
        # Acquisition deal of every customer: earliest currently-won deal by (closed_at, deal_id).
        self.acquisition: dict[str, Deal] = {}
        for d in won:
            self.acquisition.setdefault(d.customer, d)
        self._cache: dict[tuple[str, str, str], Decimal] = {}

    # ------------------------------------------------------------------- roster
    def entry_at(self, rep: str, t: datetime) -> Entry | None:
        """Entry in force at instant t: the last with effective_at <= t."""
        times = self._effective.get(rep)
        if not times:
            return None
        i = bisect.bisect_right(times, t)
        return self.history[rep][i - 1] if i else None

    def entry_before(self, rep: str, end: datetime) -> Entry | None:
        """Entry "at P's end": the last with effective_at < end."""
        times = self._effective.get(rep)
        if not times:
            return None
        i = bisect.bisect_left(times, end)
        return self.history[rep][i - 1] if i else None

    def team_at(self, rep: str, t: datetime) -> str:
        """Team of a rep at business time t, `unassigned` without an entry in force."""
        entry = self.entry_at(rep, t)
        return UNASSIGNED if entry is None else entry.team

    def team_and_manager(self, rep: str, label: str) -> tuple[str, str | None]:
        """A rep scorecard's ``team_id`` and ``manager_id``: the entry at P's end
        (`unassigned` and no manager without one)."""
        entry = self.entry_before(rep, self.cal.period(label).end)
        return (UNASSIGNED, None) if entry is None else (entry.team, entry.manager)

    def active_members(self, team: str | None, end: datetime) -> list[str]:
        """Reps whose entry at `end` (effective_at < end) is active (and in `team` unless None)."""
        out = []
        for rep in sorted(self.history):
            e = self.entry_before(rep, end)
            if e is not None and e.status == "active" and (team is None or e.team == team):
                out.append(rep)
        return out

    # ------------------------------------------------------------------- keys
    def keys(self) -> set[tuple[str, str, str]]:
        """Calendar scorecard keys touched by a contributing fact or a target."""
        out: set[tuple[str, str, str]] = set()

        def add(t: datetime, rep: str, team: str) -> None:
            for label in self.cal.labels(t):
                out.update({("rep", rep, label), ("team", team, label), ("company", COMPANY_ID, label)})

        for d in self.deals:
            add(d.closed, d.rep, d.team)
        for c in self.complaints:
            add(c.opened, c.rep, c.open_team)
            if c.resolved is not None:
                add(c.resolved, c.rep, c.resolve_team)  # type: ignore[arg-type]  # set together with resolved
        for a in self.activities:
            add(a.at, a.rep, a.team)
        out.update(self.targets)
        return out

    # ------------------------------------------------------------------- leaderboards
    def board(self, board: str, label: str, metric: str = "revenue") -> list[tuple[int, str, Any]]:
        """(rank, rep_id, value) rows of a calendar leaderboard (contract §6, §8): the reps with a
        scorecard in P (``company``), or those whose team at P's end is the team
        (``team:{id}``); highest value first, ties share a rank and the next rank skips
        (1, 1, 3), rep_id order within a tie, reps without a value left out."""
        if metric not in ("revenue", "attainment", "weighted_attainment"):
            raise ValueError(f"no reference ranking by {metric!r}")
        reps = sorted({id for scope, id, period in self.keys() if scope == "rep" and period == label})
        if board != "company":
            assert board.startswith("team:"), board
            reps = [rep for rep in reps if self.team_and_manager(rep, label)[0] == board[5:]]
        values = [(rep, self.kpis("rep", rep, label)[metric]) for rep in reps]
        present = sorted(((rep, v) for rep, v in values if v is not None),
                         key=lambda r: (-Decimal(str(r[1])), r[0]))
        rows: list[tuple[int, str, Any]] = []
        for i, (rep, value) in enumerate(present):
            tied = rows and Decimal(str(rows[-1][2])) == Decimal(str(value))
            rows.append((rows[-1][0] if tied else i + 1, rep, value))
        return rows

    # ------------------------------------------------------------------- targets
    def _given(self, scope: str, id: str, label: str, field: str) -> Decimal | None:
        ev = self.targets.get((scope, id, label))
        if ev is None or ev.get(field) is None:
            return None
        return Decimal(str(ev[field]))

    def _quarter_given_or_months(self, scope: str, id: str, year: int, q: int, field: str) -> Decimal | None:
        """A quarter's given value, else the sum of its three given months (all three)."""
        given = self._given(scope, id, f"{year:04d}-Q{q}", field)
        if given is not None:
            return given
        months = [self._given(scope, id, f"{year:04d}-{m:02d}", field) for m in range(3 * q - 2, 3 * q + 1)]
        return None if any(v is None for v in months) else sum(months, Decimal(0))  # type: ignore[arg-type]  # no None: checked

    def _year_value(self, scope: str, id: str, year: int, field: str) -> Decimal | None:
        given = self._given(scope, id, f"{year:04d}", field)
        if given is not None:
            return given
        quarters = [self._quarter_given_or_months(scope, id, year, q, field) for q in range(1, 5)]
        return None if any(v is None for v in quarters) else sum(quarters, Decimal(0))  # type: ignore[arg-type]  # no None: checked

    def derived(self, scope: str, id: str, label: str, field: str) -> Decimal | None:
        """A target field resolved within its own scope and id (contract §3 derivation)."""
        p = self.cal.period(label)
        if p.kind == "year":
            return self._year_value(scope, id, p.year, field)
        if p.kind == "quarter":
            q = (p.first_month - 1) // 3 + 1
            value = self._quarter_given_or_months(scope, id, p.year, q, field)
            if value is not None:
                return value
            year = self._year_value(scope, id, p.year, field)
            return None if year is None else year / 4
        given = self._given(scope, id, label, field)
        if given is not None:
            return given
        q = (p.first_month - 1) // 3 + 1
        quarter = self._given(scope, id, f"{p.year:04d}-Q{q}", field)
        if quarter is not None:
            return quarter / 3
        year = self._year_value(scope, id, p.year, field)
        return None if year is None else year / 12

    def revenue_target(self, scope: str, id: str, label: str) -> Decimal | None:
        """Resolved revenue target, with team = Σ active members, company = Σ teams (at P's end)."""
        value = self.derived(scope, id, label, "revenue")
        if value is not None or scope == "rep":
            return value
        end = self.cal.period(label).end
        if scope == "team":
            parts = [self.derived("rep", rep, label, "revenue") for rep in self.active_members(id, end)]
        else:
            teams = sorted({self.entry_before(rep, end).team for rep in self.active_members(None, end)})  # type: ignore[union-attr]  # active: has an entry
            parts = [self.revenue_target("team", team, label) for team in teams]
        known = [v for v in parts if v is not None]
        return sum(known, Decimal(0)) if known else None

    # ------------------------------------------------------------------- revenue
    def won_in(self, scope: str, id: str, p: Period) -> list[Deal]:
        """Won deals credited to the scope with closed_at in P."""
        return [d for d in self._deals.get((scope, id), ()) if d.stage == "won" and _in(d.closed, p.start, p.end)]

    def revenue(self, scope: str, id: str, label: str) -> Decimal:
        """Σ amount of won deals credited to the scope, closed in the period."""
        key = (scope, id, label)
        if key not in self._cache:
            self._cache[key] = sum((d.amount for d in self.won_in(scope, id, self.cal.period(label))), Decimal(0))
        return self._cache[key]

    def month_csat(self, rep: str, label: str) -> Decimal | None:
        """Mean survey score of the rep's month (None without a survey)."""
        p = self.cal.period(label)
        return mean([Decimal(a.score) for a in self._acts.get(("rep", rep), ())
                     if a.kind == "survey" and a.score is not None and _in(a.at, p.start, p.end)])

    def month_commission(self, rep: str, label: str, rates: Rates = DEFAULT_RATES) -> Decimal:
        """Contract §7 default plan with §11's gate on a rep's month, rounded to cents
        (``rates``: the same plan with other rates)."""
        revenue = self.revenue("rep", rep, label)
        target = self.revenue_target("rep", rep, label)
        if target is None or target == 0:
            raw = revenue * rates.base
        else:
            csat = self.month_csat(rep, label)
            above = rates.above_target if csat is None or csat >= rates.above_target_csat else rates.base
            raw = min(revenue, target) * rates.base + max(revenue - target, Decimal(0)) * above
        return raw.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    # ------------------------------------------------------------------- KPIs
    def kpis(self, scope: str, id: str, period: str) -> dict[str, Any]:
        """Every non-clock KPI of contract §5 for one calendar key, in output format."""
        cal = self.cal
        p = cal.period(period)
        is_rep = scope == "rep"
        key = (scope, id)
        deals = [d for d in self._deals.get(key, ()) if _in(d.closed, p.start, p.end)]
        won = [d for d in deals if d.stage == "won"]
        lost = [d for d in deals if d.stage == "lost"]
        acts = [a for a in self._acts.get(key, ()) if _in(a.at, p.start, p.end)]
        contacts = [a for a in acts if a.is_contact]
        opened = [c for c in self._opened.get(key, ()) if _in(c.opened, p.start, p.end)]
        resolved = [c for c in self._resolved.get(key, ()) if _in(c.resolved, p.start, p.end)]  # type: ignore[arg-type]  # all resolved

        revenue = self.revenue(scope, id, period)
        target = self.revenue_target(scope, id, period)
        attainment = safe_div(revenue, target)
        end_entry = self.entry_before(id, p.end) if is_rep else None
        if is_rep:
            factor = end_entry.factor if end_entry is not None else Decimal(1)
            weighted = None if attainment is None else attainment * factor
        else:
            weighted = attainment
        prev = self.revenue(scope, id, cal.previous(p))
        yoy = self.revenue(scope, id, cal.year_earlier(p))

        # New customers: acquisition deals credited to this scope closed in P.
        acquired = [d for d in won if self.acquisition[d.customer].deal_id == d.deal_id]
        by_tier = {t: 0 for t in (*TIERS, "none")}
        for d in acquired:
            by_tier[d.tier if d.tier in TIERS else "none"] += 1

        # Repeat customers: won deal in P, and a won deal by any rep in [start - 365 d, start).
        customers = {d.customer for d in won}
        lo = bisect.bisect_left(self._won_closed, cal.days_before(p.start, 365))
        hi = bisect.bisect_left(self._won_closed, p.start)
        before = {d.customer for d in self._won_all[lo:hi]}
        repeat = safe_div(len(customers & before), len(customers))

        served = customers | {a.customer for a in contacts}
        by_severity = {s: 0 for s in SEVERITIES}
        for c in opened:
            by_severity[c.severity] += 1
        surveys = [Decimal(a.score) for a in acts if a.kind == "survey" and a.score is not None]
        activity_counts = {k: 0 for k in KINDS}
        for a in acts:
            activity_counts[a.kind] += 1
        activity_counts["effective_contacts"] = len(contacts)

        coverage = None
        if p.kind == "month":
            book_start = cal.days_before(p.end, 365)
            book = {d.customer for d in self._deals.get(key, ())
                    if d.stage == "won" and _in(d.closed, book_start, p.end)}
            touches: dict[str, int] = defaultdict(int)
            for a in contacts:
                touches[a.customer] += 1  # type: ignore[index]  # a contact names its customer
            coverage = safe_div(sum(1 for c in book if touches[c] >= 2), len(book))

        training = sum((Decimal(a.minutes) for a in acts if a.kind == "training"), Decimal(0)) / 60
        complaint_rate = safe_div(len(opened), len(served))
        csat = mean(surveys)

        market_size = None if is_rep else self.derived(scope, id, period, "market_size")
        headcount = departures = turnover = ramp = None
        if not is_rep:
            team = id if scope == "team" else None
            headcount = len(self.active_members(team, p.end))
            start_headcount = len(self.active_members(team, p.start))
            departures = self.departures(team, p)
            turnover = safe_div(departures, Decimal(headcount + start_headcount) / 2)
            if p.kind == "month":
                ramp = self.new_hire_ramp(team, p)

        tenure = commission = None
        if is_rep:
            tenure = None if end_entry is None else self.whole_months(end_entry.hired, p.end)
            commission = sum((self.month_commission(id, m) for m in p.month_labels()), Decimal(0))

        kpis: dict[str, Any] = {
            "revenue": out_money(revenue),
            "target": out_money(target),
            "attainment": out_ratio(attainment),
            "weighted_attainment": out_ratio(weighted),
            "growth_prev": out_ratio(safe_div(revenue - prev, prev)),
            "growth_yoy": out_ratio(safe_div(revenue - yoy, yoy)),
            "won_deals": len(won),
            "lost_deals": len(lost),
            "win_rate": out_ratio(safe_div(len(won), len(won) + len(lost))),
            "avg_deal_size": out_money(safe_div(revenue, len(won))),
            "avg_cycle_days": out_ratio(mean([seconds(d.closed - d.created) / 86400 for d in won])),
            "new_customers": len(acquired),
            "new_customers_by_tier": by_tier,
            "repeat_customer_rate": out_ratio(repeat),
            "customers_served": len(served),
            "complaints": len(opened),
            "complaints_by_severity": by_severity,
            "complaint_rate": out_ratio(complaint_rate),
            "avg_resolution_hours": out_ratio(mean([seconds(c.resolved - c.opened) / 3600 for c in resolved])),  # type: ignore[operator]  # all resolved
            "csat": out_ratio(csat),
            "csat_responses": len(surveys),
            "activities": activity_counts,
            "contact_coverage": out_ratio(coverage),
            "campaigns": len({a.campaign for a in acts if a.kind == "campaign" and a.campaign is not None}),
            "training_hours": out_ratio(training),
            "market_share": None if is_rep else out_ratio(safe_div(revenue, market_size)),
            "market_size": out_money(market_size),
            "headcount": headcount,
            "departures": departures,
            "turnover_rate": out_ratio(turnover),
            "tenure_months": tenure,
            "new_hire_ramp": out_ratio(ramp),
            "commission": out_money(commission),
        }
        values: dict[str, Decimal | int | None] = {
            "weighted_attainment": weighted, "win_rate": safe_div(len(won), len(won) + len(lost)),
            "new_customers": len(acquired), "csat": csat, "complaint_rate": complaint_rate,
            "contact_coverage": coverage, "training_hours": training,
        }
        kpis["score"] = out_ratio(self.score(scope, id, p, values))
        return kpis

    # ------------------------------------------------------------------- team-only
    def departures(self, team: str | None, p: Period) -> int:
        """Reps with a transition into `left` effective in P (for a team: the left entry names it)."""
        count = 0
        for entries in self.history.values():
            for before, after in itertools.pairwise(entries):
                if (before.status != "left" and after.status == "left" and _in(after.effective, p.start, p.end)
                        and (team is None or after.team == team)):
                    count += 1
                    break
        return count

    def new_hire_ramp(self, team: str | None, p: Period) -> Decimal | None:
        """Mean revenue(P) / revenue(hire month) over active members hired two months before P."""
        hire_label = self.cal.shift(p, -2)
        ratios = []
        for rep in self.active_members(team, p.end):
            hired = self.entry_before(rep, p.end).hired  # type: ignore[union-attr]  # an active member has an entry
            if self.cal.labels(hired)[0] != hire_label:
                continue
            base = self.revenue("rep", rep, hire_label)
            if base != 0:
                ratios.append(self.revenue("rep", rep, p.label) / base)
        return mean(ratios)

    def whole_months(self, hired: datetime, end: datetime) -> int:
        """Whole months from hired to end, both in local time (0 if hired after end)."""
        a, b = hired.astimezone(self.cal.tz), end.astimezone(self.cal.tz)
        months = (b.year - a.year) * 12 + (b.month - a.month)
        if (b.day, b.time()) < (a.day, a.time()):
            months -= 1
        return max(months, 0)

    # ------------------------------------------------------------------- score
    def score(self, scope: str, id: str, p: Period, values: dict[str, Decimal | int | None]) -> Decimal | None:
        """Contract §6 default plan: 100 × Σ w·a / Σ w over non-null components."""
        scale = MONTHS_PER_KIND[p.kind]
        weighted_sum = Decimal(0)
        weights = 0
        for kpi, weight, goal, lower_better in SCORE_PLAN:
            value = values[kpi]
            if value is None:
                continue
            if kpi == "new_customers":
                goal = self.derived(scope, id, p.label, "new_customers")
                if goal is None:
                    goal = Decimal(2 * scale)
            elif kpi == "training_hours":
                goal = Decimal(4 * scale)
            assert goal is not None
            value = Decimal(value)
            if lower_better:
                achieved = CAP if value == 0 else min(goal / value, CAP)
            else:
                if goal == 0:
                    continue  # no goal to measure against: left out, as the engine's plan does
                achieved = min(value / goal, CAP)
            weighted_sum += weight * achieved
            weights += weight
        return None if weights == 0 else 100 * weighted_sum / weights


def percentile(rank: int, ranked: int) -> tuple[float, bool]:
    """Contract §11: (top_percent = 100 x rank / ranked to one decimal, half-up;
    top_decile = rank <= ceil(0.1 x ranked))."""
    top = (Decimal(100) * rank / ranked).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return float(top), rank <= math.ceil(Decimal("0.1") * ranked)
