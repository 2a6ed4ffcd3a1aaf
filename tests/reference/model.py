"""Brute-force reference model of contract §5–§7 over the final state of a list of events,
and, behind switches, of §12 and the forecast part of §13.

Written from docs/contract.md only, separately from ``core/`` on
purpose: no shared code and no incremental bookkeeping. The final fact set is built
first (highest version per deal and complaint, unique activities, every roster entry,
the latest target per key), then every question is answered by filtering those facts
by instant windows ``[start, end)``. Facts are only pre-grouped by the scope they are
credited to, so that ~900 keys over 20,000 events stay fast.

Coverage: §3 (input events), §4 (calendar periods; the clock for §13), §5 (every
non-clock KPI of month, quarter and year keys), §6 (score, rankings), §7 with §11's gate
(the default commission plan), §11's percentiles; with ``features`` (none by default, so
that ``kpis`` gives exactly the §5–§7 output the engine produces today):

- ``reviews`` (§12): ``kpis`` gains ``review_score`` and ``self_rating`` (rep),
  ``review_coverage`` and ``team_engagement`` (team, company), null where they do not apply;
- ``scope_plans`` (§12): the score uses the plan of the scope (``SCOPE_PLANS_12``, or
  ``plans=``): the rep plan with ``review_score``, the 销售管理岗 plan for team and company,
  ``per_member`` goals;
- ``split`` (§12): rep targets (attainment, commission, score) include the shares of split
  team targets; ``target_source(rep, period)`` gives explicit / derived / split;
- ``forecast`` (§13): ``kpis`` gains ``forecast_revenue``, ``forecast_attainment`` (every
  scope) and ``next_band`` (rep months, null elsewhere).
The methods (``review_score``, ``review_coverage``, ``team_engagement``, ``split_shares``,
``rep_target``, ``forecast_revenue``, ``next_band``) answer with or without the switches.

Readings chosen where the contract is silent (§12–§13):

1. **Clock.** ``as_of`` is the greatest ``occurred_at`` of the (non-duplicate) events of
   every type in the list (§4's event-time clock; the model validates nothing, so a
   rejected event in the list would move it). ``ReferenceModel(as_of=...)`` replaces it
   (a wall-clock reading, or the ``as_of`` an engine published); ``forecast_revenue``
   takes one per call too. Without events and without ``as_of`` the forecast is null.
2. **Reviews.** A review belongs to the month its ``period`` names (not its
   ``occurred_at``); a quarter or year pools every review of its months, and the peer
   minimum (3 distinct ``reviewer_id``) is counted over that pool. The latest version per
   ``review_id`` is the greatest (``occurred_at``, ``event_id``), as for targets, and it
   replaces the whole review (subject, role, period). A role's mean is over its reviews
   (two reviews by one reviewer both count). ``self_rating`` is the mean of the self
   reviews (null without one), an output key beside ``review_score``, rounded like a ratio.
3. **Coverage and engagement.** ``review_coverage`` counts the members active at the
   period's end (the team's, or every active rep for the company; null with none) with a
   manager review of any month of the period. ``team_engagement`` takes the answers whose
   ``period`` is a month of the period, the team's by ``team_id`` (every team's for the
   company), keeps each respondent's latest by (``occurred_at``, ``event_id``) and is
   null below 3 respondents. Both exist for month, quarter and year.
4. **Plans.** ``per_member`` multiplies the goal by the headcount at the period's end (the
   team's, or the company's); with ``per_month`` both apply; on a rep plan it is ignored
   (one member). A goal that resolves to 0 follows §6 (left out when higher is better).
   ``review_score``'s goal 4.0 does not scale with the months.
5. **Split.** Only ``revenue`` is split. A rep's target for a period is its own (given,
   else derived from its own targets, §3), else its share of the split target of its team
   at the period's end for that period, else (a month) its quarter's share / 3, else its
   year's share / 12, else (a quarter) its year's share / 4; a share that is reached this
   way is ``split``. Weights absent from ``{weights: …}`` are 0; weights (or history) that
   are all 0 split equally. ``history`` is each sharing member's rep revenue in the three
   months before the period's first month. Cents left after rounding each share down go
   one each; a fraction of a cent of the pool (an other member's derived target) is not
   handed out. A share of 0.00 is a target of 0 (attainment and the band then null, and
   §7's "no target" rule pays). Team and company targets are unchanged (the team's is
   the event's amount, as §3 already gives it). ``target_source`` is given for reps only.
6. **Forecast.** The pipeline is the final version of each deal whose ``stage`` is
   ``open`` with both ``pipeline_stage`` and ``expected_close_at``; the team credited is
   the rep's team at ``as_of`` (``unassigned`` without an entry). Open deals create no
   scorecard key, and neither do reviews or answers: ``keys()`` is unchanged.
7. **Next band.** Bands are the default plan's: [0, 1.0) at 5 %, [1.0, ∞) at 8 %, half-open,
   so attainment exactly 1.0 is in the top band (null). The §11 gate is not read (§13 is
   silent on it): the next band is entered by revenue alone and its ``rate`` is the band's
   own 0.08, even when the month's csat would pay 5 % there. ``revenue_needed`` is
   target × band start − revenue, rounded up to the cent (selling that much reaches the band); ``rate`` as a ratio. No
   target (or 0): null. Months only.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
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

# contract §6 and §12 scorecard plans.
CAP = Decimal(1)


@dataclass(frozen=True)
class Component:
    """One scorecard plan component (contract §6, §12): a goal of ``goal`` (× the months of
    the period when ``per_month``, × the headcount at the period's end when ``per_member``),
    replaced by the resolved target field ``goal_target`` when there is one."""

    kpi: str
    weight: int
    goal: Decimal
    lower_is_better: bool = False
    per_month: bool = False
    per_member: bool = False
    goal_target: str | None = None
    cap: Decimal = CAP


Plan = tuple[Component, ...]

#: contract §6 default plan (every scope until the §12 plans are switched on).
DEFAULT_PLAN: Plan = (
    Component("weighted_attainment", 40, Decimal("1.0")),
    Component("win_rate", 10, Decimal("0.30")),
    Component("new_customers", 10, Decimal(2), per_month=True, goal_target="new_customers"),
    Component("csat", 10, Decimal("4.5")),
    Component("complaint_rate", 10, Decimal("0.05"), lower_is_better=True),
    Component("contact_coverage", 10, Decimal("1.0")),
    Component("training_hours", 10, Decimal(4), per_month=True),
)
#: contract §12: the rep plan gains review_score (learning, 10, goal 4.0).
REP_PLAN_12: Plan = (*DEFAULT_PLAN, Component("review_score", 10, Decimal("4.0")))
#: contract §12 default team and company plan (销售管理岗).
MANAGER_PLAN_12: Plan = (
    Component("attainment", 40, Decimal("1.0")),
    Component("csat", 10, Decimal("4.5")),
    Component("complaint_rate", 10, Decimal("0.05"), lower_is_better=True),
    Component("contact_coverage", 10, Decimal("1.0")),
    Component("review_coverage", 10, Decimal("1.0")),
    Component("turnover_rate", 10, Decimal("0.05"), lower_is_better=True),
    Component("team_engagement", 10, Decimal("4.0")),
)
SCOPE_PLANS_12: dict[str, Plan] = {"rep": REP_PLAN_12, "team": MANAGER_PLAN_12, "company": MANAGER_PLAN_12}

# contract §12 reviews: role weights (self never counts) and the peer minimum.
ROLE_WEIGHTS = {"manager": Decimal("0.5"), "peer": Decimal("0.3"), "customer": Decimal("0.2")}
MIN_PEERS = 3
MIN_RESPONDENTS = 3
# contract §13 default stage probabilities, and §7/§11 default bands (attainment start, rate).
STAGE_PROBABILITIES = {"prospect": Decimal("0.10"), "qualified": Decimal("0.25"),
                       "proposal": Decimal("0.50"), "negotiation": Decimal("0.75")}
BANDS = ((Decimal(0), BASE_RATE), (Decimal(1), ABOVE_TARGET_RATE))

#: The switches of the contract §12–§13 parts; none is on by default (today's §5–§7 model).
FEATURES = frozenset({"reviews", "scope_plans", "split", "forecast"})
CENT = Decimal("0.01")
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


@dataclass(frozen=True)
class Review:
    """The latest version of one review (contract §12)."""

    review_id: str
    period: str  # a month label
    subject: str
    reviewer: str
    role: str  # manager | peer | customer | self
    rating: Decimal


@dataclass(frozen=True)
class Answer:
    """One engagement answer (contract §12)."""

    period: str  # a month label
    team: str
    respondent: str
    rating: Decimal
    at: datetime
    event_id: str


@dataclass(frozen=True)
class OpenDeal:
    """Final state of an open deal in the pipeline (contract §13)."""

    deal_id: str
    rep: str
    amount: Decimal
    stage: str  # pipeline_stage
    expected: datetime  # expected_close_at


#: Looks up a period's given target field: (scope, id, period, field) -> value or None.
Given = Callable[[str, str, str, str], Decimal | None]


def _in(t: datetime, start: datetime, end: datetime) -> bool:
    return start <= t < end


class ReferenceModel:
    """Final facts of an event list, and every non-clock KPI of any calendar key."""

    def __init__(self, events: Iterable[dict], timezone: str = "Asia/Shanghai",
                 features: Iterable[str] = (), as_of: datetime | None = None,
                 plans: Mapping[str, Plan] | None = None,
                 probabilities: Mapping[str, Decimal] | None = None) -> None:
        """``features``: which §12–§13 parts are on (see ``FEATURES``; none by default).
        ``as_of``: a clock reading that replaces the event-time clock (the wall clock, or
        the ``as_of`` an engine published). ``plans``: scorecard plans per scope for
        ``scope_plans`` (default ``SCOPE_PLANS_12``). ``probabilities``: the §13 stage
        probabilities (default ``STAGE_PROBABILITIES``)."""
        self.cal = Calendar(ZoneInfo(timezone))
        self.features = frozenset(features)
        unknown = self.features - FEATURES
        if unknown:
            raise ValueError(f"unknown reference features {sorted(unknown)}")
        self.plans: Mapping[str, Plan] = plans if plans is not None else SCOPE_PLANS_12
        self.probabilities: Mapping[str, Decimal] = (
            probabilities if probabilities is not None else STAGE_PROBABILITIES)
        clock: datetime | None = None
        reviews: dict[str, dict] = {}
        self.answers: list[Answer] = []
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
            if ev.get("occurred_at"):
                at = parse_ts(ev["occurred_at"])
                clock = at if clock is None or at > clock else clock
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
            elif kind == "review":
                old = reviews.get(ev["review_id"])
                if old is None or (parse_ts(ev["occurred_at"]), ev["event_id"]) > (
                        parse_ts(old["occurred_at"]), old["event_id"]):
                    reviews[ev["review_id"]] = ev
            elif kind == "engagement":
                self.answers.append(Answer(ev["period"], ev["team_id"], ev["respondent_id"],
                                           Decimal(str(ev["rating"])), parse_ts(ev["occurred_at"]), ev["event_id"]))
        #: The clock of contract §4: the greatest occurred_at of the events, unless given.
        self.as_of: datetime | None = as_of if as_of is not None else clock
        self.reviews = [Review(ev["review_id"], ev["period"], ev["subject_id"], ev["reviewer_id"],
                               ev["reviewer_role"], Decimal(str(ev["rating"]))) for ev in reviews.values()]

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
        self.pipeline: list[OpenDeal] = []
        for ev in deals.values():
            if ev["stage"] == "open" and ev.get("pipeline_stage") and ev.get("expected_close_at"):
                self.pipeline.append(OpenDeal(ev["deal_id"], ev["rep_id"], Decimal(ev["amount"]),
                                              ev["pipeline_stage"], parse_ts(ev["expected_close_at"])))
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
        self._shares: dict[str, dict[str, Decimal]] = {}

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

    def _quarter_given_or_months(self, scope: str, id: str, year: int, q: int, field: str,
                                 given: Given | None = None) -> Decimal | None:
        """A quarter's given value, else the sum of its three given months (all three)."""
        given = given or self._given
        value = given(scope, id, f"{year:04d}-Q{q}", field)
        if value is not None:
            return value
        months = [given(scope, id, f"{year:04d}-{m:02d}", field) for m in range(3 * q - 2, 3 * q + 1)]
        return None if any(v is None for v in months) else sum(months, Decimal(0))  # type: ignore[arg-type]  # no None: checked

    def _year_value(self, scope: str, id: str, year: int, field: str, given: Given | None = None) -> Decimal | None:
        given = given or self._given
        value = given(scope, id, f"{year:04d}", field)
        if value is not None:
            return value
        quarters = [self._quarter_given_or_months(scope, id, year, q, field, given) for q in range(1, 5)]
        return None if any(v is None for v in quarters) else sum(quarters, Decimal(0))  # type: ignore[arg-type]  # no None: checked

    def derived(self, scope: str, id: str, label: str, field: str, given: Given | None = None) -> Decimal | None:
        """A target field resolved within its own scope and id (contract §3 derivation);
        ``given``: where a period's value is looked up (default: the target events)."""
        given = given or self._given
        p = self.cal.period(label)
        if p.kind == "year":
            return self._year_value(scope, id, p.year, field, given)
        if p.kind == "quarter":
            q = (p.first_month - 1) // 3 + 1
            value = self._quarter_given_or_months(scope, id, p.year, q, field, given)
            if value is not None:
                return value
            year = self._year_value(scope, id, p.year, field, given)
            return None if year is None else year / 4
        value = given(scope, id, label, field)
        if value is not None:
            return value
        q = (p.first_month - 1) // 3 + 1
        quarter = given(scope, id, f"{p.year:04d}-Q{q}", field)
        if quarter is not None:
            return quarter / 3
        year = self._year_value(scope, id, p.year, field, given)
        return None if year is None else year / 12

    def revenue_target(self, scope: str, id: str, label: str) -> Decimal | None:
        """Resolved revenue target, with team = Σ active members, company = Σ teams (at P's end);
        a rep's share of a split team target with the ``split`` feature (contract §12)."""
        if scope == "rep" and "split" in self.features:
            return self.rep_target(id, label)[0]
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

    # ------------------------------------------------------------------- top-down split (§12)
    def target_source(self, rep: str, label: str) -> str | None:
        """Contract §12 ``target_source`` of a rep-period: ``explicit`` (given for the period),
        ``derived`` (from the rep's own other periods), ``split`` (a share of a split team
        target), or None without a target."""
        return self.rep_target(rep, label)[1]

    def rep_target(self, rep: str, label: str) -> tuple[Decimal | None, str | None]:
        """A rep's revenue target and its source: the rep's own (given, else derived within the
        rep's own targets), else derived the same way (contract §3) from the rep's shares of
        split team targets: a month's share, else its quarter's / 3, else its year's / 12; a
        quarter's share, else the sum of three month shares, else its year's / 4 (contract §12)."""
        own = self.derived("rep", rep, label, "revenue")
        if own is not None:
            return own, "explicit" if self._given("rep", rep, label, "revenue") is not None else "derived"

        def share(scope: str, id: str, period: str, field: str) -> Decimal | None:
            return self.split_shares(period).get(id)

        value = self.derived("rep", rep, label, "revenue", share)
        return (value, "split") if value is not None else (None, None)

    def split_shares(self, label: str) -> dict[str, Decimal]:
        """Every rep's share of the split team targets of one period (contract §12): the members
        active at the period's end without a target of their own share, by the event's method,
        what the others' own targets leave of the team's amount (never below 0); each share is
        rounded down to cents and the remaining cents go one each in ascending rep id order."""
        cached = self._shares.get(label)
        if cached is not None:
            return cached
        p = self.cal.period(label)
        shares: dict[str, Decimal] = {}
        for (scope, team, period), ev in sorted(self.targets.items()):
            if scope != "team" or period != label or ev.get("split") is None or ev.get("revenue") is None:
                continue
            members = self.active_members(team, p.end)
            own = {rep: self.derived("rep", rep, label, "revenue") for rep in members}
            sharing = sorted(rep for rep in members if own[rep] is None)
            if not sharing:
                continue
            left = Decimal(str(ev["revenue"])) - sum((v for v in own.values() if v is not None), Decimal(0))
            pool = max(left, Decimal(0))
            weights = self._split_weights(ev["split"], sharing, p)
            total = sum(weights.values(), Decimal(0))
            if total == 0:
                weights, total = {rep: Decimal(1) for rep in sharing}, Decimal(len(sharing))
            floored = {rep: (pool * weights[rep] / total).quantize(CENT, rounding=ROUND_FLOOR) for rep in sharing}
            cents = int(((pool - sum(floored.values(), Decimal(0))) / CENT).to_integral_value(rounding=ROUND_FLOOR))
            for i, rep in enumerate(sharing):
                shares[rep] = floored[rep] + (CENT if i < cents else Decimal(0))
        self._shares[label] = shares
        return shares

    def _split_weights(self, split: Any, sharing: list[str], p: Period) -> dict[str, Decimal]:
        """Weights of the sharing members: equal, the event's weights (absent: 0), or each
        member's revenue over the 3 months before the period (contract §12)."""
        if split == "equal":
            return {rep: Decimal(1) for rep in sharing}
        if split == "history":
            months = [self.cal.shift(self.cal.period(p.month_labels()[0]), -k) for k in (1, 2, 3)]
            return {rep: sum((self.revenue("rep", rep, m) for m in months), Decimal(0)) for rep in sharing}
        if isinstance(split, Mapping) and isinstance(split.get("weights"), Mapping):
            given = split["weights"]
            return {rep: Decimal(str(given.get(rep, 0))) for rep in sharing}
        raise ValueError(f"unknown split {split!r}")

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

    # ------------------------------------------------------------------- reviews (§12)
    def review_score(self, rep: str, label: str) -> tuple[Decimal | None, Decimal | None]:
        """(review_score, self_rating) of a rep over the reviews whose month is in the period
        (a quarter or year pools every review of its months): the mean per role, weighted
        manager 0.5, peer 0.3, customer 0.2 over the roles present; peers only with at least
        3 distinct reviewers; self only as self_rating (contract §12)."""
        months = set(self.cal.period(label).month_labels())
        mine = [r for r in self.reviews if r.subject == rep and r.period in months]
        by_role: dict[str, list[Review]] = defaultdict(list)
        for r in mine:
            by_role[r.role].append(r)
        if len({r.reviewer for r in by_role["peer"]}) < MIN_PEERS:
            by_role.pop("peer", None)
        weighted = Decimal(0)
        weights = Decimal(0)
        for role, weight in ROLE_WEIGHTS.items():
            role_mean = mean([r.rating for r in by_role.get(role, ())])
            if role_mean is not None:
                weighted += weight * role_mean
                weights += weight
        return safe_div(weighted, weights), mean([r.rating for r in by_role.get("self", ())])

    def review_coverage(self, scope: str, id: str, label: str) -> Decimal | None:
        """Share of the members active at the period's end with at least one manager review
        in the period (team, company; contract §12)."""
        p = self.cal.period(label)
        members = self.active_members(id if scope == "team" else None, p.end)
        months = set(p.month_labels())
        reviewed = {r.subject for r in self.reviews if r.role == "manager" and r.period in months}
        return safe_div(sum(1 for rep in members if rep in reviewed), len(members))

    def team_engagement(self, scope: str, id: str, label: str) -> Decimal | None:
        """Mean of each respondent's latest answer (occurred_at, then event_id) among the
        answers whose month is in the period, for the team (or every team for the company);
        null below 3 respondents (contract §12)."""
        months = set(self.cal.period(label).month_labels())
        latest: dict[str, Answer] = {}
        for a in self.answers:
            if a.period not in months or (scope == "team" and a.team != id):
                continue
            old = latest.get(a.respondent)
            if old is None or (a.at, a.event_id) > (old.at, old.event_id):
                latest[a.respondent] = a
        if len(latest) < MIN_RESPONDENTS:
            return None
        return mean([a.rating for a in latest.values()])

    # ------------------------------------------------------------------- forecast (§13)
    def forecast_revenue(self, scope: str, id: str, label: str, as_of: datetime | None = None) -> Decimal | None:
        """revenue + Σ amount × probability over the open deals with a pipeline stage and an
        expected_close_at in [max(as_of, start), end), credited to the rep, the rep's team at
        as_of and the company; revenue alone once the period has ended; null without a clock
        (contract §13). ``as_of`` defaults to the model's clock."""
        clock = as_of if as_of is not None else self.as_of
        if clock is None:
            return None
        p = self.cal.period(label)
        revenue = self.revenue(scope, id, label)
        if p.end <= clock:
            return revenue
        low = max(clock, p.start)
        expected = Decimal(0)
        for d in self.pipeline:
            credited = {"rep": d.rep, "team": self.team_at(d.rep, clock), "company": COMPANY_ID}[scope]
            if credited == id and _in(d.expected, low, p.end):
                expected += d.amount * self.probabilities[d.stage]
        return revenue + expected

    def next_band(self, rep: str, label: str) -> tuple[Decimal, Decimal] | None:
        """(rate, revenue_needed) of the commission band above the rep's month attainment, or
        None in the top band or without a (non-zero) target (contract §13). The §11 gate is
        not read: a band is entered by revenue alone."""
        if self.cal.period(label).kind != "month":
            return None
        target = self.revenue_target("rep", rep, label)
        if target is None or target == 0:
            return None
        revenue = self.revenue("rep", rep, label)
        for start, rate in BANDS:
            if revenue < start * target:  # rounded up to the cent: that much reaches the band
                return rate, (start * target - revenue).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
        return None

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
            "attainment": attainment, "turnover_rate": turnover,
        }
        if self.features & {"reviews", "scope_plans"}:
            review = self.review_score(id, period) if is_rep else (None, None)
            values["review_score"] = review[0]
            values["review_coverage"] = None if is_rep else self.review_coverage(scope, id, period)
            values["team_engagement"] = None if is_rep else self.team_engagement(scope, id, period)
            if "reviews" in self.features:
                kpis["review_score"] = out_ratio(review[0])
                kpis["self_rating"] = out_ratio(review[1])
                kpis["review_coverage"] = out_ratio(values["review_coverage"])  # type: ignore[arg-type]  # a ratio or None
                kpis["team_engagement"] = out_ratio(values["team_engagement"])  # type: ignore[arg-type]  # a mean or None
        if "forecast" in self.features:
            forecast = self.forecast_revenue(scope, id, period)
            kpis["forecast_revenue"] = out_money(forecast)
            kpis["forecast_attainment"] = out_ratio(safe_div(forecast, target))
            band = self.next_band(id, period) if is_rep else None
            # the band's gate is shown, not applied (contract §5, §13): the band above target
            # is gated by §11's csat >= 4.5, a month without a survey passing
            gate = [{"kpi": "csat", "op": ">=", "value": out_ratio(ABOVE_TARGET_CSAT), "when_missing": "pass"}]
            kpis["next_band"] = None if band is None else {
                "rate": out_ratio(band[0]), "revenue_needed": out_money(band[1]),
                "requires": gate if band[0] == ABOVE_TARGET_RATE else []}
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
        """Contract §6: 100 × Σ w·a / Σ w over the non-null components of the scope's plan (the
        default plan, or with ``scope_plans`` the §12 plan of the scope)."""
        plan = self.plans[scope] if "scope_plans" in self.features else DEFAULT_PLAN
        scale = MONTHS_PER_KIND[p.kind]
        weighted_sum = Decimal(0)
        weights = 0
        for c in plan:
            if c.kpi not in values:
                raise ValueError(f"the reference model has no score value for {c.kpi!r}")
            value = values[c.kpi]
            if value is None:
                continue
            goal = None if c.goal_target is None else self.derived(scope, id, p.label, c.goal_target)
            if goal is None:
                goal = c.goal * (scale if c.per_month else 1)
                if c.per_member and scope != "rep":
                    goal *= len(self.active_members(id if scope == "team" else None, p.end))
            value = Decimal(value)
            if c.lower_is_better:
                achieved = c.cap if value == 0 else min(goal / value, c.cap)
            else:
                if goal == 0:
                    continue  # no goal to measure against: left out, as the engine's plan does
                achieved = min(value / goal, c.cap)
            weighted_sum += c.weight * achieved
            weights += c.weight
        return None if weights == 0 else 100 * weighted_sum / weights

def percentile(rank: int, ranked: int) -> tuple[float, bool]:
    """Contract §11: (top_percent = 100 x rank / ranked to one decimal, half-up;
    top_decile = rank <= ceil(0.1 x ranked))."""
    top = (Decimal(100) * rank / ranked).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return float(top), rank <= math.ceil(Decimal("0.1") * ranked)


def built_model(events: Iterable[dict], timezone: str = "Asia/Shanghai") -> ReferenceModel:
    """The model of what the worker builds today: every §12–§13 part on (the integration
    tests compare the worker with this one)."""
    return ReferenceModel(events, timezone, features=FEATURES)
