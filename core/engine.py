"""The incremental scorecard engine: fact state in, scorecards out (pure, no I/O).

``ScorecardEngine.apply`` takes one validated input record (``schemas.records``) and
updates the fact state: the latest version of each deal and complaint, every
activity, the roster history, the target book and the closed months. Each fact is
turned into ``Contribution``s (core/aggregates.py) credited to the rep, the rep's
team at the business time and the company; applying a newer version first retracts
what the older one contributed, so amendments, reassignments and reversals restate
the periods they touch. Keys whose scorecard may have changed are collected as dirty;
``render`` computes one scorecard from the aggregates; a trailing window reads running
sums of the scope's day buckets (core/windows.py), kept in step with the contributions.

Contributions are not kept: a fact keeps the team it was credited to (``RepFacts``,
``KeptActivities``), and what it added is derived again, exactly, to retract it. Repeated
strings (ids, stages, kinds) are interned, so a fact's own state is a few small objects.

The result depends only on the set of facts, not on their delivery order: the
property tests replay shuffled, duplicated histories against a from-scratch build.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import functools
from collections.abc import Callable, Collection, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from sys import intern
from typing import Any

from sales_scorecard.schemas.records import (
    ActivityEvent,
    ClosePeriodEvent,
    ComplaintEvent,
    DealEvent,
    EngagementEvent,
    InputEvent,
    ReviewEvent,
    RosterEvent,
    TargetEvent,
)

from . import labels as L
from .aggregates import EMPTY, Bucket, BucketTable, Contribution
from .book_counts import KEEP_COVERED_FROM, YEAR, BookCounts, CoveredCounts, Held, count_covered, scan_coverage
from .bounded_memo import limit_for
from .commission import CommissionPlan, CommissionResult, PlanSet, compute_commission, load_plans
from .derived_figures import DerivedFigures
from .dirty_keys import DirtyKeys
from .forecast import (
    NextBand,
    OpenDeal,
    Pipeline,
    StageProbabilities,
    forecast_revenue,
    forecast_window,
    load_stage_probabilities,
    next_band,
    open_deal,
)
from .kept_activities import ActivityFact, FigureBook, Figures, KeptActivities, event_key
from .kept_deals import KeptDeal, same_instant
from .kpis import KpiInputs, bucket_kpis, compute_kpis, format_kpis
from .money import add_scaled, from_scaled, plan_ratio, ratio
from .periods import NO_ZONE, TRAILING_DAYS, Calendar, Period, bounds_in, elapsed, format_timestamp, micros
from .rep_tally import RepTally
from .reviews import Answer, Review, ReviewBook, review_coverage
from .roster import DEFAULT_FACTOR, UNASSIGNED, Roster, RosterEntry, whole_months_between
from .scoreplan import ScopedPlans, ScoreResult, evaluate, load_scorecard_plan
from .target_split import TargetSplits, history_months, parse_split, split_shares
from .targets import TargetBook, resolve_revenue_target
from .windows import Span, TrailingSums

COMPANY = "*"
CONTACT_KINDS = frozenset({"call", "visit", "meeting", "email", "demo"})
MICROS_PER_SECOND = 1_000_000
ONE_MICROSECOND = timedelta(microseconds=1)
ScorecardKey = tuple[str, str, str]  # (scope, id, period label)
#: A rep's month as the plan pays it (``commission_of``): team at the month's end, plan,
#: revenue, revenue target and the commission
MonthPay = tuple[str, CommissionPlan, Decimal, Decimal | None, CommissionResult]


class Outcome(StrEnum):
    """What applying one input record did."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"  # the same event was applied before
    STALE = "stale"  # an older version than the one applied


def scorecard_key(scope: str, id: str, period: str) -> str:
    """The Kafka key of a scorecard: ``{scope}:{id}:{period}``."""
    return f"{scope}:{id}:{period}"


def deal_change_reason(old: KeptDeal | None, new: KeptDeal) -> str:
    """Why a deal's new version changes pay (used as the payroll adjustment reason)."""
    if old is None or old.stage != "won":
        return "late_won" if new.stage == "won" else "deal_update"
    if new.stage == "reversed":
        return "reversal"
    if new.stage != "won":
        return "won_deal_reopened"
    if new.rep_id != old.rep_id:
        return "reassignment"
    if new.amount != old.amount:
        return "amendment"
    if new.closed_at != old.closed_at:
        return "close_date_change"
    return "restatement"


def _version_gate(old: KeptDeal | ComplaintEvent | None, new: DealEvent | ComplaintEvent) -> Outcome | None:
    """DUPLICATE or STALE when ``new`` must not replace the applied version, else None."""
    if old is None:
        return None
    if old.event_id == new.event_id:
        return Outcome.DUPLICATE
    if new.version <= old.version:
        return Outcome.STALE
    return None


@dataclass(frozen=True, slots=True)
class PayChange:
    """A change that may alter a rep's pay for a month: why (the adjustment's reason), the
    deal behind it (or None) and the dispute it settles (a correction naming one, or None)."""

    reason: str
    deal_id: str | None = None
    dispute_id: str | None = None


#: The pay change of a roster entry (the adjustment's ``reason``, contract §8).
ROSTER_CHANGE = PayChange("roster_change")

#: Flush order: months first (what leaderboards and reps watch), then the longer periods.
_KIND_ORDER = {"month": 0, "quarter": 1, "year": 2, **dict.fromkeys(TRAILING_DAYS, 3)}
_SCOPE_ORDER = {"rep": 0, "team": 1, "company": 2}


def flush_order(key: ScorecardKey) -> tuple[int, int, str, str]:
    """Months first, then quarters, years and trailing windows; each by scope, then id."""
    scope, id, label = key
    return _KIND_ORDER[L.period_kind(label)], _SCOPE_ORDER[scope], id, label


def _compact_complaint(ev: ComplaintEvent, old: ComplaintEvent | None) -> ComplaintEvent:
    """The complaint version as kept: repeated strings interned, the id shared with the
    version before, repeated timestamps one object (``same_instant``)."""
    opened_at = ev.opened_at if old is None else same_instant(ev.opened_at, old.opened_at)
    resolved_at = None if ev.resolved_at is None else same_instant(ev.resolved_at, opened_at)
    return ComplaintEvent(
        event_id=ev.event_id, type=intern(ev.type), schema_version=ev.schema_version,
        occurred_at=same_instant(ev.occurred_at, resolved_at, opened_at),
        complaint_id=ev.complaint_id if old is None else old.complaint_id, version=ev.version,
        rep_id=intern(ev.rep_id), customer_id=intern(ev.customer_id), severity=intern(ev.severity),
        status=intern(ev.status), opened_at=opened_at, resolved_at=resolved_at,
    )


def close_times_with(held: Held | None, ts: datetime, sign: int) -> Held | None:
    """A multiset of close times (None: empty; the time itself: one; a tuple: several) with
    ``ts`` added (sign +1) or one time equal to it taken out (sign -1)."""
    if sign > 0:
        if held is None:
            return ts
        return (held, ts) if isinstance(held, datetime) else (*held, ts)
    if isinstance(held, datetime):
        return None
    assert held is not None  # a retraction follows what it retracts
    i = held.index(ts)
    rest = held[:i] + held[i + 1:]
    return rest[0] if len(rest) == 1 else rest


def _win_order(deal: KeptDeal) -> tuple[datetime, str]:
    """The order of a customer's wins: the first is its acquisition (a won deal is closed)."""
    return deal.closed_at, deal.deal_id  # type: ignore[return-value]


def _deal_time(ev: KeptDeal) -> datetime | None:
    """When a deal version is credited (won or lost deals), else None: it credits nothing."""
    if ev.stage in ("won", "lost"):
        assert ev.closed_at is not None  # guaranteed by the schema
        return ev.closed_at
    return None


def activity_figures(kind: str, effective: bool, customer_id: str | None, campaign_id: str | None,
                     duration_minutes: int | None, score: int | None) -> tuple[str, str | None, str | int | None]:
    """What an activity counts (``ActivityFact``'s kind, contact and value), its strings interned."""
    kind = intern(kind)
    value: str | int | None = None
    if kind == "campaign" and campaign_id:
        value = intern(campaign_id)
    elif kind == "training":
        value = duration_minutes or 0
    elif kind == "survey":
        value = score
    contact = intern(customer_id) if kind in CONTACT_KINDS and effective and customer_id else None
    return kind, contact, value


def activity_delta(kind: str, contact: str | None, value: str | int | None) -> tuple[tuple[str, object], ...]:
    """What an activity adds to a bucket (``Bucket.apply``), from ``activity_figures``."""
    delta: list[tuple[str, object]] = [("activity", kind)]
    if contact is not None:
        delta.append(("contact", contact))
    if kind == "campaign" and value is not None:
        delta.append(("campaign", value))
    if kind == "training":
        delta.append(("training", value))
    if kind == "survey" and value is not None:
        delta.append(("survey", value))
    return tuple(delta)


class RepFacts:
    """The facts credited to one rep and the team each was credited to: what a roster
    change of the rep derives again, and what retracting one exactly needs."""

    __slots__ = ("deals", "complaints", "activities")

    def __init__(self) -> None:
        #: the rep's deals that credit something (won or lost; ``KeptDeal.team``), in the
        #: order they were credited; a list, not a dict by deal id: ~30 bytes less a deal
        self.deals: list[KeptDeal] = []
        #: complaint_id -> (team at opened_at, team at resolved_at or None)
        self.complaints: dict[str, tuple[str, str | None]] = {}
        #: the rep's activities, each with the team it is credited to
        self.activities = KeptActivities()


@dataclass(frozen=True, slots=True)
class EngineRole:
    """Which part of the organisation an engine renders and pays.

    The whole engine (``WHOLE``) does everything; the partitioned worker splits it into
    ``ORG`` (team and company scorecards, every fact, no payroll, no rep buckets: only what
    team and company figures read of members, ``core.rep_tally``) and one
    ``rep_partition`` engine per partition of the rep stage (the rep scorecards and the
    payroll of the reps it owns; it also holds other reps' deals of the customers its
    reps deal with, for acquisitions and repeat customers, contract §5). A
    ``team_partition`` engine renders the team scorecards of the teams it owns from the
    facts of every rep ever in one of them (``streams.team_routes``).
    """

    #: scopes whose scorecards ``take_dirty`` hands out (of those, the keys ``keeps`` says)
    scopes: frozenset[str]
    #: the reps whose rep-scope figures this engine keeps (None: every rep, every scope)
    owns: Callable[[str], bool] | None = None
    #: whether changes that may alter pay are collected (``take_payroll_changes``)
    pays: bool = True
    #: whether the scorecards to render again are marked (``take_dirty``); an engine that
    #: is only read, never published from (the what-if, contract §13), marks none
    marks: bool = True
    #: whether rep-scope buckets are kept (rep scorecards can be rendered); without them
    #: only a ``RepTally`` is (which rep periods exist, rep month revenue) and rendering a
    #: rep scorecard is refused (``RepFiguresNotKept``)
    rep_buckets: bool = True
    #: the engine owns about one in ``share`` of the reps (a rep partition: one of the
    #: stage's partitions): its memos are bounded at ``bounded_memo.limit_for(share)``, so
    #: the engines of a worker holding every partition keep no more than one whole engine
    share: int = 1
    #: the teams whose team-scope figures this engine keeps (None: every team); an engine
    #: owning some teams keeps no company figures and receives split shares
    #: (``apply_split_shares``) instead of computing them
    owns_team: Callable[[str], bool] | None = None
    #: of the teams, those whose figures an engine that keeps the company's keeps and
    #: publishes (None: all): an org engine beside a team stage keeps only ``unassigned``'s,
    #: which no team partition owns (the team partitions keep the others')
    keeps_team: Callable[[str], bool] | None = None
    #: an org engine beside a team stage that takes what activities and complaints add to
    #: the company from the team partitions' values (``apply_team_value``) instead of
    #: applying them, except those of the teams it keeps (``unassigned``)
    company_from_team_values: bool = False
    #: a team partition's engine that notes the days and contacts its contributions move,
    #: for the values it sends the company (``take_team_days``); a rep partition's that
    #: also keeps the team days of its own reps' activities and complaints, for the values
    #: it would send the team partitions (``rep_partition(sends_values=True)``)
    sends_team_values: bool = False
    #: a team partition's engine that takes what activities and complaints add to its teams
    #: from the rep partitions' values (``apply_team_value`` with ``team``) instead of
    #: applying them
    team_from_rep_values: bool = False

    def keeps(self, scope: str, id: str) -> bool:
        """Whether an engine of this role keeps, publishes and reports the figures of
        ``(scope, id)``: a scope of the role; of the reps, those it owns; of the teams,
        those it owns and keeps (an org engine beside a team stage: only ``unassigned``)."""
        if scope not in self.scopes:
            return False
        if scope == "rep":
            return self.owns is None or self.owns(id)
        if scope == "team":
            return (self.owns_team is None or self.owns_team(id)) and (self.keeps_team is None or self.keeps_team(id))
        return True

    @property
    def splits_targets(self) -> bool:
        """Whether the engine computes the shares of split team targets (contract §12): only
        one that sees every rep's facts does; the others are sent them."""
        return self.owns is None and self.owns_team is None


WHOLE = EngineRole(frozenset({"rep", "team", "company"}))
ORG = EngineRole(frozenset({"team", "company"}), pays=False, rep_buckets=False)
#: ``ORG`` beside a team stage: the company's figures and the ``unassigned`` team's (the
#: team partitions keep and publish the other teams'); roster, targets, splits and the
#: members' tally as ``ORG``
ORG_BESIDE_TEAMS = dataclasses.replace(ORG, keeps_team=UNASSIGNED.__eq__)
#: ``ORG_BESIDE_TEAMS`` with the company's activities and complaints from the team
#: partitions' values (``ScorecardEngine.apply_team_value``)
ORG_BESIDE_TEAM_VALUES = dataclasses.replace(ORG_BESIDE_TEAMS, company_from_team_values=True)
#: The first field of the deltas a team partition's values carry: activities, complaints
#: and resolutions (``Bucket.activities_and_complaints``)
TEAM_VALUE_FIELDS = frozenset({"activity", "complaint", "resolution"})


def rep_partition(owns: Callable[[str], bool], share: int = 1, sends_values: bool = False) -> EngineRole:
    """The role of a rep-stage engine owning the reps for which ``owns`` is true, about one
    in ``share`` of them; ``sends_values``: it also keeps the team days of its reps'
    activities and complaints (never rendered) and notes what values of them the team
    partitions would need (``take_team_days``)."""
    return EngineRole(frozenset({"rep"}), owns, share=share, sends_team_values=sends_values)


def team_partition(owns_team: Callable[[str], bool], share: int = 1, sends_values: bool = False,
                   from_rep_values: bool = False) -> EngineRole:
    """The role of a team-partition engine owning the teams for which ``owns_team`` is
    true (never ``unassigned``: no team partition's), about one in ``share`` of them: team
    scorecards of those teams only, members' figures as a ``RepTally`` (as ``ORG``), no
    company figures, no pay; ``sends_values``: it notes what its values to the company
    need (``take_team_days``); ``from_rep_values``: its teams' activities and complaints
    come from the rep partitions' values (``apply_team_value`` with ``team``)."""
    return EngineRole(frozenset({"team"}), pays=False, rep_buckets=False, share=share,
                      owns_team=lambda team_id: team_id != UNASSIGNED and owns_team(team_id),
                      sends_team_values=sends_values, team_from_rep_values=from_rep_values)


class RepFiguresNotKept(ValueError):
    """A rep scorecard asked of an engine that keeps no rep buckets (``ORG``)."""


class ScorecardEngine:
    """Fact state of the whole organisation and the scorecards derived from it."""

    def __init__(
        self,
        timezone: str = "Asia/Shanghai",
        scorecard_plan: ScopedPlans | None = None,
        commission_plans: PlanSet | None = None,
        role: EngineRole | None = None,
        stage_probabilities: StageProbabilities | None = None,
    ) -> None:
        self.calendar = Calendar(timezone)
        self.role = role or WHOLE
        #: the reps whose rep-scope figures this engine keeps (None: every rep, every scope)
        self.owns = self.role.owns
        #: the scorecard plan of each scope (contract §6, §12)
        self.plans = scorecard_plan or load_scorecard_plan(None)
        self.commission_plans = commission_plans or load_plans(None)
        self.stage_probabilities = stage_probabilities or load_stage_probabilities(None)
        # -- facts ----------------------------------------------------------
        #: deal_id -> its latest applied version
        self.deals: dict[str, KeptDeal] = {}
        self.complaints: dict[str, ComplaintEvent] = {}
        #: ``event_key(event_id)`` -> the rep of the activity (what is kept of it is in the
        #: rep's ``RepFacts``); a dict, not a set: a set of as many ids takes more memory
        self.activities: dict[bytes, str] = {}
        #: one tuple for the equal figures of activities (``KeptActivities``)
        self._activity_figures = FigureBook()
        self.roster = Roster()
        #: the bound of each of the engine's memos (of revenue targets, commissions, resolved targets)
        self.memo_limit = limit_for(self.role.share)
        self.targets = TargetBook(self.memo_limit)
        #: the shares of split team targets (contract §12): computed from the facts by an
        #: engine that sees every rep, received (``apply_split_shares``) by a rep partition,
        #: computed all at once (``split_team_targets``) by the what-if's engine
        self.splits = TargetSplits()
        #: reps whose split shares changed since the last ``take_split_reps``
        self._split_reps: set[str] = set()
        #: reviews and engagement answers (contract §12)
        self.reviews = ReviewBook()
        self.closed_months: set[str] = set()
        #: closed month -> the ``occurred_at`` of its (first applied) close
        self.closed_at: dict[str, datetime] = {}
        self.as_of: datetime | None = None
        self.wall_clock: datetime | None = None  # set when running on the wall clock
        #: with the company's activities from the team partitions' values: the lowest clock
        #: their values reached (``core.team_values.CompanyValues.clock``); the event clock
        #: the engine renders at goes no further
        self.values_clock: datetime | None = None
        #: with the company's activities from the team partitions' values: the months every
        #: team partition's values hold closed (``CompanyValues.closed``); a period is final
        #: only once its months are closed here too (None: not held back)
        self.values_closed: frozenset[str] | None = None
        # -- derived --------------------------------------------------------
        self.buckets = BucketTable()
        #: what is kept of reps instead of their buckets, by a role without rep buckets
        self.rep_tally: RepTally | None = None if self.role.rep_buckets else RepTally()
        #: rep_id -> its facts that credit something, with their teams
        self._rep_facts: dict[str, RepFacts] = {}
        #: customer -> (rep_id, ts, tier, team) of the acquisition credited (see _update_acquisition)
        self._acquisitions: dict[str, tuple[str, datetime, str, str]] = {}
        #: during a rebuild (``begin_rebuild``): the customers whose acquisition to work out at its end
        self._acquiring: set[str] | None = None
        #: customer -> its currently won deals (any rep), in the order they were won
        self._customer_wins: dict[str, tuple[KeptDeal, ...]] = {}
        #: the customers with two or more won deals: only they can count in
        #: ``repeat_customers`` (a customer's one win is the one in the period read)
        self._rewon_customers: set[str] = set()
        #: (scope, id) -> customer -> close times of the customer's won deals credited to the
        #: scope (a multiset: the time itself for one, a tuple for several; the deals' objects)
        self._scope_wins: dict[tuple[str, str], dict[str, Held]] = {}
        #: (scope, id) -> window end -> its book (``contact_coverage``), kept as wins change
        self._books = BookCounts()
        #: (scope, id) -> month -> its covered customers (``contact_coverage``), kept as
        #: contacts and wins change, for teams' and the company's months with a large book
        self._covered = CoveredCounts()
        self._covered_scopes = self._covered.scopes
        #: the last ``close_times_with``: what it was given (multiset, time, sign) and gave
        self._last_close_times: tuple[object, datetime, int, Held | None] | None = None
        #: (scope, id) -> sorted labels of its day buckets: a trailing window finds the days
        #: entering and leaving it as ranges of it (ISO dates sort by time)
        self._days: dict[tuple[str, str], list[str]] = {}
        #: (scope, id) -> trailing window label -> running sums of its day buckets, made on
        #: the first render of the window and kept in step with every contribution after it
        self._trailing: dict[tuple[str, str], dict[str, TrailingSums]] = {}
        #: (trailing label, start of the window) -> day spans of the window, the previous
        #: window and the window a year earlier (a few entries: the clock's current windows)
        self._spans: dict[tuple[str, datetime], tuple[Span, Span, Span]] = {}
        #: (scope, id) -> calendar period labels that have a scorecard
        self.known: dict[tuple[str, str], L.LabelSet] = {}
        self.dirty = DirtyKeys()
        #: keys that stopped existing (their last fact moved away) since the last take_dirty
        self.vanished: set[ScorecardKey] = set()
        #: a team partition's (team, day) whose bucket a contribution changed since the last
        #: ``take_team_days``, each with the customers whose contacts it moved (None: not a
        #: team partition)
        self._team_days_changed: dict[tuple[str, str], set[str]] | None = \
            {} if self.role.sends_team_values else None
        #: (scope, id, period) of every target given: such a key exists without facts
        self._target_keys: set[ScorecardKey] = set()
        #: (rep_id, month) -> the change that may alter a rep's pay for the month
        self.payroll_changes: dict[tuple[str, str], PayChange] = {}
        #: the open pipeline deals of the reps whose figures this engine keeps (contract §13)
        self.pipeline = Pipeline()
        #: the clock at the last ``touch_clock`` (None before the first)
        self._clock_touched: datetime | None = None
        #: (as_of, team -> reps with pipeline deals whose entry at as_of names it): what team
        #: forecasts read; dropped when the roster or the pipeline changes
        self._pipeline_teams: tuple[datetime, dict[str, list[str]]] | None = None
        #: revenue targets and rep months' commissions kept between renders (shared with
        #: the ``with_plans`` views, which read the same facts: commissions are kept per plan set)
        self._derived: DerivedFigures[MonthPay] = DerivedFigures(self.memo_limit)

    # ------------------------------------------------------------------ apply
    def apply(self, event: InputEvent) -> Outcome:
        """Apply one validated input record; returns what happened to it."""
        if self.as_of is None or event.occurred_at > self.as_of:
            self.as_of = event.occurred_at
        applier = _APPLIERS.get(type(event))
        if applier is None:
            raise TypeError(f"not an input record: {type(event).__name__}")
        return applier(self, event)

    def _apply_deal(self, ev: DealEvent) -> Outcome:
        old = self.deals.get(ev.deal_id)
        rejected = _version_gate(old, ev)
        if rejected is not None:
            return rejected
        pipeline_deal = open_deal(ev.stage, ev.amount, ev.pipeline_stage, ev.expected_close_at)
        dispute_id = ev.dispute_id
        kept = KeptDeal.of(ev, old)
        self._update_pipeline(old, kept, pipeline_deal)
        wins = self._customer_wins
        if old is not None and old.stage == "won":
            left = tuple(d for d in wins[old.customer_id] if d is not old)
            if left:
                wins[old.customer_id] = left
            else:
                del wins[old.customer_id]
        self.deals[kept.deal_id] = kept
        if kept.stage == "won":
            assert kept.closed_at is not None  # guaranteed by the schema
            wins[kept.customer_id] = (*wins.get(kept.customer_id, ()), kept)
        for customer in {kept.customer_id} if old is None else {kept.customer_id, old.customer_id}:
            if len(wins.get(customer, ())) >= 2:
                self._rewon_customers.add(customer)
            else:
                self._rewon_customers.discard(customer)
        retracted: tuple[Contribution, ...] = ()
        if old is not None and old.team is not None:
            self._rep_facts[old.rep_id].deals.remove(old)  # by identity: a kept deal has no __eq__
            retracted = self._derive_deal(old, old.team)
        ts = _deal_time(kept)
        if ts is not None:
            kept.team = self.roster.team_at(kept.rep_id, ts)
            self._facts_of(kept.rep_id).deals.append(kept)
        self._restate(retracted, self._derive_deal(kept, kept.team))
        change = PayChange(deal_change_reason(old, kept), kept.deal_id, dispute_id)
        for deal in (old, kept):
            if deal is not None and deal.closed_at is not None:
                month = self.calendar.month_label(deal.closed_at)
                self._payroll_change(deal.rep_id, month, change)
        customers = {kept.customer_id} if old is None else {kept.customer_id, old.customer_id}
        for customer in customers:
            self._update_acquisition(customer)
            self._touch_customer(customer)
        if self.splits.rules:
            months = {self.calendar.month_label(d.closed_at)
                      for d in (old, kept) if d is not None and d.closed_at is not None}
            self._resplit(key for key, rule in self.splits.rules.items()
                          if rule.needs_history and months.intersection(history_months(key[1])))
        return Outcome.APPLIED

    def _update_pipeline(self, old: KeptDeal | None, ev: KeptDeal, pipeline_deal: OpenDeal | None) -> None:
        """Keep the deal's open pipeline version (contract §13) and mark the forecasts it moves."""
        self._pipeline_teams = None
        if old is not None:
            gone = self.pipeline.remove(old.rep_id, old.deal_id)
            if gone is not None:
                self._touch_forecast(old.rep_id, gone)
        if pipeline_deal is not None and (self.owns is None or self.owns(ev.rep_id)):
            self.pipeline.put(ev.rep_id, ev.deal_id, pipeline_deal)
            self._touch_forecast(ev.rep_id, pipeline_deal)

    def _touch_forecast(self, rep_id: str, deal: OpenDeal) -> None:
        """Mark the calendar periods containing an open deal's expected close, for the rep,
        the rep's team at ``as_of`` and the company (those of this role)."""
        if not self.role.marks:
            return
        as_of = self.clock()
        labels = self.calendar.labels_containing(deal.expected_close_at)[1:]
        scopes: list[tuple[str, str]] = []
        if self.owns is None or self.owns(rep_id):
            scopes.append(("rep", rep_id))
        if self.owns is None:
            team = self.roster.team_at(rep_id, as_of) if as_of is not None else UNASSIGNED
            scopes += [("team", team), ("company", COMPANY)]
        for scope, id in scopes:
            for label in labels:
                self.dirty.add((scope, id, label))

    def _apply_complaint(self, ev: ComplaintEvent) -> Outcome:
        old = self.complaints.get(ev.complaint_id)
        rejected = _version_gate(old, ev)
        if rejected is not None:
            return rejected
        ev = _compact_complaint(ev, old)
        self.complaints[ev.complaint_id] = ev
        retracted: tuple[Contribution, ...] = ()
        if old is not None:
            retracted = self._derive_complaint(old, self._facts_of(old.rep_id).complaints.pop(old.complaint_id))
        teams = self._facts_of(ev.rep_id).complaints[ev.complaint_id] = self._complaint_teams(ev)
        self._restate(retracted, self._derive_complaint(ev, teams))
        if self.commission_plans.gated:  # a gate may read the complaints of the month
            for c in (old, ev):
                if c is not None:
                    for ts in (c.opened_at, c.resolved_at if c.status == "resolved" else None):
                        if ts is not None:
                            self._payroll_change(c.rep_id, self.calendar.month_label(ts),
                                                 PayChange("complaint_change"))
        return Outcome.APPLIED

    def _apply_activity(self, ev: ActivityEvent) -> Outcome:
        key = event_key(ev.event_id)
        if key in self.activities:
            return Outcome.DUPLICATE
        kind, contact, value = activity_figures(ev.kind, ev.effective, ev.customer_id, ev.campaign_id,
                                                ev.duration_minutes, ev.score)
        rep_id = intern(ev.rep_id)
        ts = ev.occurred_at
        team = self.roster.team_at(rep_id, ts)
        self.activities[key] = rep_id
        figures = self._activity_figures.shared((kind, contact, value, team, ts.tzinfo))
        self._facts_of(rep_id).activities.append(ts, figures)
        self._restate((), self._derive_activity(rep_id, ts, figures, team))
        if self.commission_plans.gated:  # a gate may read the activities of the month (csat)
            self._payroll_change(rep_id, self.calendar.month_label(ts),
                                 PayChange("late_survey" if kind == "survey" else "late_activity"))
        return Outcome.APPLIED

    def _apply_roster(self, ev: RosterEvent) -> Outcome:
        # Repeated timestamps one object (``same_instant``), the default factor shared.
        hired_at = same_instant(ev.hired_at, ev.effective_at)
        factor = ev.territory_factor
        entry = RosterEntry(
            rep_id=intern(ev.rep_id), team_id=intern(ev.team_id), manager_id=intern(ev.manager_id),
            status=intern(ev.status),
            effective_at=ev.effective_at, hired_at=hired_at, name=ev.name,
            territory_factor=DEFAULT_FACTOR if factor.as_tuple() == DEFAULT_FACTOR.as_tuple() else factor,
            occurred_at=same_instant(ev.occurred_at, hired_at, ev.effective_at), event_id=ev.event_id,
        )
        if not self.roster.add(entry):
            return Outcome.DUPLICATE
        self._derived.targets_changed()  # members, teams and plans at a period's end
        self._pipeline_teams = None
        # Team attribution of every fact of this rep may have moved.
        self._rederive(entry.rep_id)
        # Headcount, tenure, territory factor and member-summed targets depend on the roster.
        scopes = [("rep", ev.rep_id), ("company", COMPANY)] + [("team", t) for t in self.roster.teams_ever(ev.rep_id)]
        for scope, id in scopes:
            self._touch_known(scope, id, lambda label: True)
        # Before the re-split: a share it moves notes a target_change after this, as the
        # shares a rep partition is sent right behind the entry do there.
        self._roster_pay_changes(entry)
        if self.splits.rules:  # membership at a split period's end may have moved
            teams = self.roster.teams_ever(ev.rep_id)
            self._resplit(key for key in self.splits.rules if key[0] in teams)
        return Outcome.APPLIED

    def _roster_pay_changes(self, entry: RosterEntry) -> None:
        """Note a ``roster_change`` for each closed month of the rep that ends after the
        entry takes effect and holds a fact or a target of the rep: the team at a month's
        end picks its commission plan (contract §7, §8), so such a month's pay may move
        (a month with no revenue pays nothing under any plan)."""
        if not self.role.pays or (self.owns is not None and not self.owns(entry.rep_id)):
            return
        known = self.known.get(("rep", entry.rep_id))
        if not known:
            return
        for month in self.closed_months:
            if month in known and self.calendar.parse(month).end > entry.effective_at:
                self._payroll_change(entry.rep_id, month, ROSTER_CHANGE)

    def _apply_target(self, ev: TargetEvent) -> Outcome:
        changed = self.targets.put(
            ev.scope, ev.id, ev.period, ev.occurred_at, ev.event_id, ev.revenue, ev.new_customers, ev.market_size,
            ev.split,
        )
        self.known.setdefault((ev.scope, ev.id), L.LabelSet()).add(ev.period)
        self._target_keys.add((ev.scope, ev.id, ev.period))
        if not changed:
            kept = self.targets.entry(ev.scope, ev.id, ev.period)
            return Outcome.DUPLICATE if kept is not None and kept.event_id == ev.event_id else Outcome.STALE
        self._derived.targets_changed()
        if ev.scope == "rep":
            for month in L.months_of(ev.period):
                self._payroll_change(ev.id, month, PayChange("target_change", None, ev.dispute_id))
        year = ev.period[:4]
        scopes = [(ev.scope, ev.id)]
        if ev.scope == "rep":
            scopes += [("team", t) for t in self.roster.teams_ever(ev.id)]
        if ev.scope != "company":
            scopes.append(("company", COMPANY))
        for scope, id in scopes:
            self._touch_known(scope, id, lambda label: label[:4] == year)
        if ev.scope == "team" and self.role.splits_targets:
            had = (ev.id, ev.period) in self.splits.rules
            self.splits.set_rule(ev.id, ev.period, parse_split(ev.split))
            if had or ev.split is not None:
                self._resplit([(ev.id, ev.period)])
        elif ev.scope == "rep" and self.splits.rules:  # the rep's own targets of the year moved
            self._resplit(key for key in self.splits.rules if key[1][:4] == year)
        return Outcome.APPLIED

    def _apply_close(self, ev: ClosePeriodEvent) -> Outcome:
        if ev.period in self.closed_months:
            return Outcome.DUPLICATE
        self.closed_months.add(ev.period)
        self.closed_at[ev.period] = ev.occurred_at
        affected = {ev.period, L.quarter_of_month(ev.period), ev.period[:4]}
        for scope, id in list(self.known):
            self._touch_known(scope, id, lambda label: label in affected)
        return Outcome.APPLIED

    # ------------------------------------------------------- split targets
    def _resplit(self, keys: Iterable[tuple[str, str]]) -> None:
        """Compute again the shares of these split team targets (contract §12); a team
        target that no longer splits loses its shares. Only an engine that sees every
        rep computes them; a rep or team partition receives them (``apply_split_shares``)."""
        if not self.role.splits_targets:
            return
        self._split(keys)

    def split_team_targets(self) -> None:
        """The shares of every split team target, from the facts held, all at once (contract
        §12); right only on an engine that holds every rep's facts. Idempotent."""
        held = set(self.splits.rules)  # a target that no longer splits loses its shares
        for entry in self.targets.entries():
            if entry.scope == "team":
                self.splits.set_rule(entry.id, entry.period, parse_split(entry.split))
        self._split(held | self.splits.rules.keys())

    def _split(self, keys: Iterable[tuple[str, str]]) -> None:
        """Compute again the shares of these team targets from the facts held; a target
        that does not split has none."""
        changed: set[tuple[str, str]] = set()
        for team, period in sorted(set(keys)):
            rule = self.splits.rules.get((team, period))
            entry = self.targets.entry("team", team, period)
            shares: dict[str, Decimal] = {}
            if rule is not None and entry is not None:
                members = self.roster.members_at_end(self.calendar.parse(period).end).get(team, [])
                own = {rep: self.targets.resolve_own("rep", rep, period, "revenue") for rep in members}
                history: dict[str, Decimal] = {}
                if rule.needs_history:
                    history = {rep: sum((self._revenue("rep", rep, m) for m in history_months(period)), Decimal(0))
                               for rep in members}
                shares = split_shares(entry.revenue, rule, members, own, history)
            changed |= self.splits.put_team(team, period, shares)
        self._split_changed(changed)

    def apply_split_shares(self, rep_id: str, shares: dict[str, Decimal]) -> Outcome:
        """Replace a rep's shares of split team targets with those the org stage computed
        (a rep partition); DUPLICATE when they are the shares held."""
        changed = self.splits.put_rep(rep_id, shares)
        self._split_changed(changed)
        return Outcome.APPLIED if changed else Outcome.DUPLICATE

    def _split_changed(self, changed: Iterable[tuple[str, str]]) -> None:
        """Shares moved: the rep's scorecards of the year (a month derives from a split
        quarter or year), its teams' and the company's (member sums), and its pay for the
        months of the period."""
        for rep_id, period in changed:
            self._derived.targets_changed()
            self._split_reps.add(rep_id)
            year = period[:4]
            scopes = [("rep", rep_id), ("company", COMPANY)] + [("team", t) for t in self.roster.teams_ever(rep_id)]
            for scope, id in scopes:
                self._touch_known(scope, id, lambda label, y=year: label[:4] == y)
            for month in L.months_of(period):
                self._payroll_change(rep_id, month, PayChange("target_change"))

    def take_split_reps(self) -> set[str]:
        """The reps whose split shares changed since the last call."""
        out, self._split_reps = self._split_reps, set()
        return out

    def rep_target(self, rep_id: str, label: str) -> Decimal | None:
        """A rep's revenue target: its own, else from its split shares (contract §12)."""
        return self.revenue_target("rep", rep_id, label)

    def revenue_target(self, scope: str, id: str, label: str) -> Decimal | None:
        """A calendar period's revenue target: the scope's own, a rep's split share, or the
        members' sum (``targets.resolve_revenue_target``); kept until a target, a share or
        the roster moves."""
        kept, value = self._derived.target(scope, id, label)
        if not kept:
            members = {} if scope == "rep" else self.roster.members_at_end(self.calendar.parse(label).end)
            value = resolve_revenue_target(self.targets, scope, id, label, members,
                                           self.splits.book if self.splits.shares else None)
            self._derived.put_target(scope, id, label, value)
        return value

    def _apply_review(self, ev: ReviewEvent) -> Outcome:
        review = Review(ev.occurred_at, ev.event_id, intern(ev.period), intern(ev.subject_id),
                        intern(ev.reviewer_id), intern(ev.reviewer_role), ev.rating)
        applied, old = self.reviews.put_review(ev.review_id, review)
        if not applied:
            return Outcome.DUPLICATE if old is not None and old.event_id == ev.event_id else Outcome.STALE
        for r in (old, review):
            if r is not None:
                scopes = [("rep", r.subject_id), ("company", COMPANY)]
                scopes += [("team", t) for t in self.roster.teams_ever(r.subject_id)]
                self._touch_periods_of(scopes, r.month)
        return Outcome.APPLIED

    def _apply_engagement(self, ev: EngagementEvent) -> Outcome:
        applied, old = self.reviews.put_answer(ev.team_id, ev.period, ev.respondent_id,
                                               Answer(ev.occurred_at, ev.event_id, ev.rating))
        if not applied:
            return Outcome.DUPLICATE if old is not None and old.event_id == ev.event_id else Outcome.STALE
        self._touch_periods_of([("team", ev.team_id), ("company", COMPANY)], ev.period)
        return Outcome.APPLIED

    def _touch_periods_of(self, scopes: Iterable[tuple[str, str]], month: str) -> None:
        """Mark the month, quarter and year of ``month`` for each scope (a review or an
        answer makes no key exist: ``take_dirty`` hands out only existing ones)."""
        if not self.role.marks:
            return
        labels = (month, L.quarter_of_month(month), month[:4])
        for scope, id in scopes:
            self.dirty.update((scope, id, label) for label in labels)

    # ------------------------------------------------------- contributions
    def _payroll_change(self, rep_id: str, month: str, change: PayChange) -> None:
        """Note a change of a rep's month for the next ``take_payroll_changes``. Several
        changes of one month before then become one adjustment: the last change names it,
        unless an earlier one names a dispute and the last does not (the appeal keeps its
        link, contract §10)."""
        if self.role.pays and (self.owns is None or self.owns(rep_id)):
            key = (rep_id, month)
            earlier = self.payroll_changes.get(key)
            if earlier is None or earlier.dispute_id is None or change.dispute_id is not None:
                self.payroll_changes[key] = change

    def _attributed(self, rep_id: str, team: str, ts: datetime,
                    delta: tuple[tuple[str, object], ...]) -> tuple[Contribution, ...]:
        labels = self.calendar.labels_containing(ts)
        if self.owns is not None:
            if not self.owns(rep_id):
                return ()
            if self.role.sends_team_values and delta[0][0] in TEAM_VALUE_FIELDS:  # the team's days, for its values
                return Contribution("rep", rep_id, ts, labels, delta), Contribution("team", team, ts, labels, delta)
            return (Contribution("rep", rep_id, ts, labels, delta),)
        owns_team = self.role.owns_team
        if owns_team is not None:  # a team partition: its own teams, no company
            if owns_team(team) and not (self.role.team_from_rep_values and delta[0][0] in TEAM_VALUE_FIELDS):
                return Contribution("rep", rep_id, ts, labels, delta), Contribution("team", team, ts, labels, delta)
            return (Contribution("rep", rep_id, ts, labels, delta),)
        keeps_team = self.role.keeps_team
        if keeps_team is not None and not keeps_team(team):  # an org engine beside a team stage
            if self.role.company_from_team_values and delta[0][0] in TEAM_VALUE_FIELDS:
                return (Contribution("rep", rep_id, ts, labels, delta),)  # the company's from the team's value
            return Contribution("rep", rep_id, ts, labels, delta), Contribution("company", COMPANY, ts, labels, delta)
        return (
            Contribution("rep", rep_id, ts, labels, delta),
            Contribution("team", team, ts, labels, delta),
            Contribution("company", COMPANY, ts, labels, delta),
        )

    def _facts_of(self, rep_id: str) -> RepFacts:
        facts = self._rep_facts.get(rep_id)
        if facts is None:
            facts = self._rep_facts[rep_id] = RepFacts()
        return facts

    def _derive_deal(self, ev: KeptDeal, team: str | None) -> tuple[Contribution, ...]:
        """What a deal version contributes when credited to ``team`` (None: nothing)."""
        if team is None:
            return ()
        assert ev.closed_at is not None
        if ev.stage == "won":
            delta: tuple[tuple[str, object], ...] = (
                ("revenue", ev.money),
                ("won", 1),
                ("cycle", ev.cycle_micros),
                ("won_customer", ev.customer_id),
            )
        else:
            delta = (("lost", 1),)
        return self._attributed(ev.rep_id, team, ev.closed_at, delta)

    def _deal_contributions(self, deal: KeptDeal) -> tuple[Contribution, ...]:
        """What the current version of a deal contributes."""
        return self._derive_deal(deal, deal.team)

    def _complaint_teams(self, ev: ComplaintEvent) -> tuple[str, str | None]:
        """The teams a complaint is credited to: at opened_at, and at resolved_at once resolved."""
        resolved = None
        if ev.status == "resolved" and ev.resolved_at is not None:
            resolved = self.roster.team_at(ev.rep_id, ev.resolved_at)
        return self.roster.team_at(ev.rep_id, ev.opened_at), resolved

    def _derive_complaint(self, ev: ComplaintEvent, teams: tuple[str, str | None]) -> tuple[Contribution, ...]:
        opened, resolved = teams
        out = self._attributed(ev.rep_id, opened, ev.opened_at, (("complaint", ev.severity),))
        if resolved is not None:
            assert ev.resolved_at is not None
            out += self._attributed(ev.rep_id, resolved, ev.resolved_at,
                                    (("resolution", micros(ev.resolved_at - ev.opened_at)),))
        return out

    def _derive_activity(self, rep_id: str, ts: datetime, figures: Figures, team: str) -> tuple[Contribution, ...]:
        """What an activity at ``ts`` with ``figures`` contributes when credited to ``team``."""
        kind, contact, value, _, _ = figures
        return self._attributed(rep_id, team, ts, activity_delta(kind, contact, value))

    def _derive_acquisition(self, acquisition: tuple[str, datetime, str, str] | None) -> tuple[Contribution, ...]:
        if acquisition is None:
            return ()
        rep_id, ts, tier, team = acquisition
        return self._attributed(rep_id, team, ts, (("new_tier", tier),))

    def _update_acquisition(self, customer: str) -> None:
        """Credit the customer's acquisition to its earliest currently-won deal (during a
        rebuild: at its end, ``end_rebuild``)."""
        if self._acquiring is not None:
            self._acquiring.add(customer)
            return
        acquisition = None
        wins = self._customer_wins.get(customer)
        if wins:
            deal = min(wins, key=_win_order)
            ts = deal.closed_at
            assert ts is not None  # a won deal is closed
            acquisition = (deal.rep_id, ts, deal.customer_tier or "none", self.roster.team_at(deal.rep_id, ts))
        old = self._acquisitions.pop(customer, None)
        if acquisition is not None:
            self._acquisitions[customer] = acquisition
        self._restate(self._derive_acquisition(old), self._derive_acquisition(acquisition))

    def _rederive(self, rep_id: str) -> None:
        """Credit the rep's facts to the teams the roster now gives (retract, then apply
        each fact whose team moved)."""
        facts = self._rep_facts.get(rep_id)
        if facts is None:
            return
        team_at = self.roster.team_at
        for deal in list(facts.deals):
            new = team_at(rep_id, deal.closed_at)  # type: ignore[arg-type]  # credited deals are closed
            if new != deal.team:
                team, deal.team = deal.team, new
                self._restate(self._derive_deal(deal, team), self._derive_deal(deal, new))
        for complaint_id, teams in list(facts.complaints.items()):
            complaint = self.complaints[complaint_id]
            new_teams = self._complaint_teams(complaint)
            if new_teams != teams:
                facts.complaints[complaint_id] = new_teams
                self._restate(self._derive_complaint(complaint, teams), self._derive_complaint(complaint, new_teams))
        activities = facts.activities
        for i, ts, figures in activities.items():  # set_figures replaces in place: safe
            new = team_at(rep_id, ts)
            old = figures[3]
            if new != old:
                kind, contact, value, _, zone = figures
                activities.set_figures(i, self._activity_figures.shared((kind, contact, value, new, zone)))
                self._restate(self._derive_activity(rep_id, ts, figures, old),
                              self._derive_activity(rep_id, ts, figures, new))
        customers = {deal.customer_id for deal in facts.deals if deal.stage == "won"}
        for customer in sorted(customers):
            self._update_acquisition(customer)

    def _restate(self, old: tuple[Contribution, ...], new: tuple[Contribution, ...]) -> None:
        """Replace what a fact contributes: retract ``old``, apply ``new``."""
        if old == new:
            return
        for c in old:
            self._apply_contribution(c, -1)
        for c in new:
            self._apply_contribution(c, +1)

    def _apply_contribution(self, c: Contribution, sign: int) -> None:
        if c.scope == "rep":
            self._derived.month_changed(c.id, c.labels[1])
        if self.rep_tally is not None and c.scope == "rep":
            self._tally_contribution(self.rep_tally, c, sign)
            return
        scope_key = (c.scope, c.id)
        day, month, quarter, year = c.labels
        if self._team_days_changed is not None and c.scope == "team":
            customers = self._team_days_changed.setdefault((c.id, day), set())
            for field, value in c.delta:
                if field == "contact":
                    customers.add(value)  # type: ignore[arg-type]  # a contact's value is the customer
        scopes = self.buckets.scopes
        buckets = scopes.get(scope_key)
        if buckets is None:
            buckets = scopes[scope_key] = {}
        crossed: Any = None  # a customer whose contacts in the month cross two (kept covered counts)
        if scope_key in self._covered_scopes:
            for field, value in c.delta:
                if field == "contact":  # its value is the customer (a str)
                    kept = buckets.get(month)
                    before = kept.contacts_of(value) if kept is not None else 0  # type: ignore[arg-type]
                    if (before >= 2) != (before + sign >= 2):
                        crossed = value
        for label in (day, month):  # a quarter's and a year's figures are their months' (``_calendar_bucket``)
            bucket = buckets.get(label)
            if bucket is None:
                bucket = buckets[label] = Bucket()
                if label == day:
                    bisect.insort(self._days.setdefault(scope_key, []), day)
            bucket.apply(c.delta, sign)
            if bucket.contributions == 0:
                self._bucket_emptied(scope_key, buckets, label, c.labels)
        trailing = self._trailing.get(scope_key)
        if trailing is not None:
            for sums in trailing.values():
                sums.apply(day, c.delta, sign)
        if crossed is not None:
            self._covered.contacted(scope_key, month, sign > 0, self._scope_wins.get(scope_key, {}).get(crossed))
        if not buckets:
            del scopes[scope_key]
            self._trailing.pop(scope_key, None)  # its sums hold nothing now: free them
        if sign > 0 and c.scope in self.role.scopes:  # a rep partition's team days are no scorecard of its
            known = self.known.get(scope_key)
            if known is None:
                known = self.known[scope_key] = L.LabelSet()
            known.update((month, quarter, year))
        won_customer = None
        for field, value in c.delta:
            if field == "won_customer":
                won_customer = value
        if won_customer is not None:
            by_customer = self._scope_wins.setdefault(scope_key, {})
            # a delta value is typed object; won_customer holds a str
            held = by_customer.get(won_customer)  # type: ignore[call-overload]
            dates = self._close_times_with(held, c.ts, sign)
            if dates is None:
                del by_customer[won_customer]  # type: ignore[arg-type]
            else:
                by_customer[won_customer] = dates  # type: ignore[index]
            self._books.changed(scope_key, c.ts, held, dates)
            if scope_key in self._covered_scopes:
                self._covered.won(scope_key, c.ts, held, dates, functools.partial(
                    self._contacts_of, scope_key, won_customer))  # type: ignore[arg-type]  # a str
        self._touch_contribution(c.scope, c.id, month, coverage=won_customer is not None)

    def take_team_days(self, every: bool = False) -> dict[tuple[str, str], set[str]]:
        """A team partition's (team, day) whose value (``team_value``) or contacts with a
        customer (``team_contacts``) may have changed since the last call, each with those
        customers; or, ``every``, every day its teams hold with every customer contacted
        (after a rebuild, when what was sent before may have been lost)."""
        changed = self._team_days_changed
        if changed is None:
            raise ValueError("take_team_days: not an engine that sends team values (team_partition(sends_values=True))")
        self._team_days_changed = {}
        if every:
            for (scope, id), buckets in self.buckets.scopes.items():
                if scope == "team":
                    for day in self._days.get((scope, id), ()):
                        changed.setdefault((id, day), set()).update(buckets[day].contacts)
        return changed

    def team_days_moved(self) -> bool:
        """Whether ``take_team_days`` has a (team, day) to hand out."""
        return bool(self._team_days_changed)

    def team_value(self, team: str, day: str) -> Bucket | None:
        """What activities and complaints credited to ``team`` on local ``day`` add up to,
        their contacts apart (``Bucket.activities_and_complaints``); None for nothing: the
        value a team partition sends the company of the team's day."""
        bucket = self.buckets.scopes.get(("team", team), {}).get(day)
        return bucket.activities_and_complaints() if bucket is not None else None

    def team_contacts(self, team: str, day: str, customer: str) -> int:
        """The contacts with ``customer`` credited to ``team`` on local ``day``."""
        bucket = self.buckets.scopes.get(("team", team), {}).get(day)
        return bucket.contacts_of(customer) if bucket is not None else 0

    def apply_team_value(self, day: str, old: Bucket | None, new: Bucket | None,
                         contacts: Mapping[str, int] | None = None, team: str | None = None) -> None:
        """Replace a team's value of local ``day`` (``team_value``) in the company's
        figures, ``old`` (the one applied before; None: none) by ``new``, and move its
        contacts with each customer of ``contacts`` by the count given (the new
        ``team_contacts`` less the one applied before): as applying the activities and
        complaints of the difference would, for an engine whose role has
        ``company_from_team_values``. With ``team``: a rep partition's value of that team's
        day, in the team's figures (a role with ``team_from_rep_values``)."""
        contacts = contacts or {}
        if old is None and new is None:
            if contacts:
                raise ValueError("apply_team_value: contacts without a value (every contact comes with its activity)")
            return
        scope_key = ("company", COMPANY) if team is None else ("team", team)
        month = day[:7]
        labels = (day, month, L.quarter_of_month(month), month[:4])
        scopes = self.buckets.scopes
        buckets = scopes.setdefault(scope_key, {})
        kept = buckets.get(month)
        covered = scope_key in self._covered_scopes
        before = {customer: kept.contacts_of(customer) if kept is not None else 0 for customer in contacts} \
            if covered else {}
        for label in (day, month):
            bucket = buckets.get(label)
            if bucket is None:
                bucket = buckets[label] = Bucket()
                if label == day:
                    bisect.insort(self._days.setdefault(scope_key, []), day)
            if new is not None:
                bucket.add(new, +1)
            for customer, n in contacts.items():
                bucket.add_contacts(customer, n)
            if old is not None:
                bucket.add(old, -1)
            if bucket.contributions == 0:
                self._bucket_emptied(scope_key, buckets, label, labels)
        for sums in self._trailing.get(scope_key, {}).values():
            if new is not None:
                sums.add(day, new, +1)
            for customer, n in contacts.items():
                sums.add_contacts(day, customer, n)
            if old is not None:
                sums.add(day, old, -1)
        if before:
            wins = self._scope_wins.get(scope_key, {})
            for customer, was in before.items():
                now = was + contacts[customer]
                if (was >= 2) != (now >= 2):
                    self._covered.contacted(scope_key, month, now >= 2, wins.get(customer))
        if not buckets:
            del scopes[scope_key]
            self._trailing.pop(scope_key, None)
        if new is not None:
            known = self.known.get(scope_key)
            if known is None:
                known = self.known[scope_key] = L.LabelSet()
            known.update(labels[1:])
        if team is not None and self._team_days_changed is not None:  # a team partition sending the company values
            self._team_days_changed.setdefault((team, day), set()).update(contacts)
        self._touch_contribution(*scope_key, month, coverage=False)

    def _contacts_of(self, scope_key: tuple[str, str], customer: str, month: str) -> int:
        """The contacts with ``customer`` in a scope's month."""
        bucket = self.buckets.scopes.get(scope_key, {}).get(month)
        return bucket.contacts_of(customer) if bucket is not None else 0

    def _close_times_with(self, held: Held | None, ts: datetime, sign: int) -> Held | None:
        """``close_times_with``, the very tuple of the scope before (a fact's rep, then its
        team) when this scope held the very same one: a customer won by one rep only has
        one tuple of close times for the rep, its team and the company."""
        last = self._last_close_times
        if last is not None and last[0] is held and last[1] is ts and last[2] == sign:
            return last[3]
        out = close_times_with(held, ts, sign)
        self._last_close_times = (held, ts, sign, out)
        return out

    def _bucket_emptied(self, scope_key: tuple[str, str], buckets: dict[str, Bucket], label: str,
                        labels: tuple[str, str, str, str]) -> None:
        """The bucket of ``label`` (a day or a month of ``labels``) of a scope holds no
        contribution any more: drop it, and the day from the scope's days, or forget the
        month (``_forget_month``)."""
        day, month, quarter, year = labels
        del buckets[label]
        if label == day:
            days = self._days[scope_key]
            del days[bisect.bisect_left(days, day)]
        else:
            self._forget_month(scope_key[0], scope_key[1], buckets, month, quarter, year)

    def _forget_month(self, scope: str, id: str, buckets: dict[str, Bucket], month: str, quarter: str,
                      year: str) -> None:
        """A month's bucket emptied: the month lost its last fact, and so did its quarter and
        year once none of their months has a bucket (``_forget``)."""
        self._forget((scope, id, month))
        if not any(m in buckets for m in L.month_labels(quarter)):
            self._forget((scope, id, quarter))
            if not any(m in buckets for m in L.month_labels(year)):
                self._forget((scope, id, year))

    def _tally_contribution(self, tally: RepTally, c: Contribution, sign: int) -> None:
        """A rep contribution of an engine without rep buckets: counted in its month,
        quarter and year (a period exists while it holds one), its revenue in the month."""
        _, month, quarter, year = c.labels
        revenue = next((v for f, v in c.delta if f == "revenue"), None)
        for label in tally.apply(c.id, (month, quarter, year), revenue, sign):  # type: ignore[arg-type]  # a revenue delta holds money_units
            self._forget(("rep", c.id, label))
        if sign > 0:
            known = self.known.get(("rep", c.id))
            if known is None:
                known = self.known[("rep", c.id)] = L.LabelSet()
            known.update((month, quarter, year))

    def add_rep_month(self, rep_id: str, month: str, summed: Bucket) -> None:
        """Add a bucket of a rep's activities of one month, summed beforehand, to the rep's
        month bucket (its quarter and year read it): the what-if's bulk load (core/whatif_loader.py),
        the same calendar figures as applying each activity. Unlike ``apply`` it makes no
        day bucket (trailing windows do not see these activities), marks nothing dirty and
        notes no pay change; a bucket with a won deal, or an engine whose trailing windows
        were rendered, is refused (ValueError)."""
        scope_key = ("rep", rep_id)
        if summed.won or summed.contributions <= 0 or scope_key in self._trailing:
            raise ValueError("add_rep_month takes a non-empty bucket of activities, before any trailing window")
        labels = (month, L.quarter_of_month(month), month[:4])
        self._derived.month_changed(rep_id, month)
        buckets = self.buckets.scopes.get(scope_key)
        if buckets is None:
            buckets = self.buckets.scopes[scope_key] = {}
        bucket = buckets.get(month)
        if bucket is None:
            bucket = buckets[month] = Bucket()
        bucket.add(summed, +1)
        known = self.known.get(scope_key)
        if known is None:
            known = self.known[scope_key] = L.LabelSet()
        known.update(labels)

    def rep_month_revenue(self, rep_id: str, month: str) -> Decimal:
        """Revenue credited to a rep in a month."""
        return self._revenue("rep", rep_id, month)

    def has_figures(self, rep_id: str, month: str) -> bool:
        """True when a rep has any fact credited in the month (deal, complaint or activity)."""
        self._refuse_rep_figures(rep_id, month)
        return ("rep", rep_id, month) in self.buckets

    def won_deals(self, rep_id: str, month: str) -> list[KeptDeal]:
        """The won deals credited to a rep with closed_at in the month, by deal id."""
        out = []
        facts = self._rep_facts.get(rep_id)
        for deal in facts.deals if facts is not None else ():
            if deal.stage == "won" and deal.closed_at is not None and \
                    self.calendar.month_label(deal.closed_at) == month:
                out.append(deal)
        return sorted(out, key=lambda d: d.deal_id)

    def has_activity(self, event_id: str) -> bool:
        """Whether the activity with this event id was applied."""
        return event_key(event_id) in self.activities

    def rep_activities(self, rep_id: str) -> list[ActivityFact]:
        """What is kept of the rep's activities, in the order they were applied."""
        facts = self._rep_facts.get(rep_id)
        return list(facts.activities.facts()) if facts is not None else []

    def customer_won_deal_ids(self, customer: str) -> list[str]:
        """The ids of the customer's currently won deals (any rep), sorted."""
        return sorted(deal.deal_id for deal in self._customer_wins.get(customer, ()))

    def take_payroll_changes(self) -> dict[tuple[str, str], PayChange]:
        """Changes since the last call that may alter pay, by (rep_id, month)."""
        out, self.payroll_changes = self.payroll_changes, {}
        return out

    # --------------------------------------------------------------- dirty
    def _touch_contribution(self, scope: str, id: str, month: str, coverage: bool) -> None:
        """Mark the scorecards a contribution can change (``labels.touched_by``) and the
        scope's trailing windows; none of a scope the role does not render (a rep
        partition's team days, kept for its values)."""
        if self.role.marks and scope in self.role.scopes:
            self.dirty.mark_contribution(scope, id, month, coverage)

    def _touch_customer(self, customer: str) -> None:
        """A customer's wins changed: repeat rates of its other won deals' periods may move."""
        if not self.role.marks:
            return
        for deal in self._customer_wins.get(customer, ()):
            for c in self._deal_contributions(deal):
                _, month, quarter, year = c.labels
                self.dirty.update(((c.scope, c.id, month), (c.scope, c.id, quarter), (c.scope, c.id, year)))

    def _forget(self, key: ScorecardKey) -> None:
        """A calendar key lost its last fact: it stops existing unless a target names it.
        Existence thus depends on the current facts only, not on the order they came in."""
        scope, id, label = key
        if key in self._target_keys:
            return
        labels = self.known.get((scope, id))
        if labels is None or label not in labels:
            return
        labels.discard(label)
        self.vanished.add(key)
        if not labels:
            self.vanished.update((scope, id, window) for window in TRAILING_DAYS)

    def exists(self, scope: str, id: str, label: str) -> bool:
        """Whether a scorecard key exists: a fact or a target in a calendar period, any
        calendar key for a trailing window."""
        labels = self.known.get((scope, id))
        return labels is not None and bool(labels) and (label in labels or label in TRAILING_DAYS)

    def _touch_known(self, scope: str, id: str, wanted: Any) -> None:
        if not self.role.marks:
            return
        for label in self.known.get((scope, id), ()):
            if wanted(label):
                self.dirty.add((scope, id, label))
        self.dirty.update((scope, id, window) for window in TRAILING_DAYS)

    def touch_clock(self) -> None:
        """Mark every scorecard whose clock-dependent KPIs move with ``as_of``: the periods
        containing the clock, those containing the day before (so a month that just ended is
        rendered once more, final pace and forecast included) and every period the clock
        passed since the last call, and the trailing windows, for every scope. The team of
        a rep with open pipeline deals whose roster entry came into force meanwhile gets its
        forecasts again (contract §13 credits the team at ``as_of``)."""
        as_of = self.clock()
        if as_of is None:
            return
        since, self._clock_touched = self._clock_touched, as_of
        current = set(self.calendar.labels_containing(as_of)[1:])
        current |= set(self.calendar.labels_containing(as_of - timedelta(days=1))[1:])
        if since is not None and since < as_of:
            current |= self._labels_between(since, as_of)
            for rep_id in self.pipeline.reps() if self.owns is None else ():
                entries = self.roster.reps.get(rep_id)
                if entries is not None and any(since < e.effective_at <= as_of for e in entries.entries):
                    for team in self.roster.teams_ever(rep_id):
                        self._touch_known("team", team, lambda label: True)
                    self._touch_known("company", COMPANY, lambda label: True)
        for (scope, id), labels in self.known.items():
            for label in labels & current:
                self.dirty.add((scope, id, label))
            if labels:
                self.dirty.update((scope, id, window) for window in TRAILING_DAYS)

    def _labels_between(self, start: datetime, end: datetime) -> set[str]:
        """The month, quarter and year labels of every month from ``start``'s to ``end``'s."""
        month = self.calendar.month_label(start)
        last = self.calendar.month_label(end)
        out: set[str] = set()
        while month <= last:
            out.update((month, L.quarter_of_month(month), month[:4]))
            month = L.shift(month, 1)
        return out

    def take_dirty(self, months_only: bool = False, held: Container[ScorecardKey] = ()) -> list[ScorecardKey]:
        """The scorecards that may have changed since the last call: existing ones, and those
        that stopped existing (``render`` gives None for them); months first, then quarters,
        years and trailing windows, each by scope (rep, team, company) and id. With
        ``months_only`` the other dirty keys stay marked for a later call; so do the keys
        in ``held``."""
        keeps = self.role.keeps
        out: list[ScorecardKey] = []
        vanished_later: set[ScorecardKey] = set()
        for key in self.vanished:
            if keeps(key[0], key[1]) and not self.exists(*key):
                if key in held:
                    vanished_later.add(key)
                else:
                    out.append(key)
        self.vanished = vanished_later
        dirty = self.dirty
        dirty.keep(self._take_existing(dirty.months, held, out),
                   None if months_only else self._take_existing(dirty.longer, held, out))
        return sorted(set(out), key=flush_order)

    def _take_existing(self, keys: set[ScorecardKey], held: Container[ScorecardKey],
                       out: list[ScorecardKey]) -> set[ScorecardKey]:
        """Append the existing keys this role keeps (``EngineRole.keeps``) to ``out``, except
        those ``held``, which are returned (to stay marked); marks of no scorecard are dropped."""
        keeps, later = self.role.keeps, set()
        for key in keys:
            scope, id, label = key
            known = self.known.get((scope, id)) if keeps(scope, id) else None
            if not known or not (label in known or label in TRAILING_DAYS):
                continue
            if key in held:
                later.add(key)
            else:
                out.append(key)
        return later

    def month_ready(self, held: Collection[ScorecardKey]) -> bool:
        """Whether an existing dirty month scorecard (or a vanished one) of this role is not
        in ``held``. Marks no call would ever hand out (no such scorecard, another role's
        scope) are dropped on the way."""
        keeps = self.role.keeps
        if any(keeps(key[0], key[1]) and L.is_month(key[2]) and key not in held
               for key in self.vanished):
            return True
        found, dropped = False, []
        # the held months left out first, in one C-level pass: on time every dirty month
        # is usually held, and this runs after every message
        waiting = self.dirty.months.difference(held) if held else self.dirty.months
        for key in waiting:
            scope, id, label = key
            known = self.known.get((scope, id)) if keeps(scope, id) else None
            if not known or label not in known:
                dropped.append(key)
            else:
                found = True
                break
        if dropped:
            self.dirty.drop_months(dropped)
        return found

    def give_back(self, keys: Iterable[ScorecardKey]) -> None:
        """Keys taken by ``take_dirty`` that could not be published: the next
        ``take_dirty`` returns them again (a vanished key stays a withdrawal)."""
        for key in keys:
            (self.dirty if self.exists(*key) else self.vanished).add(key)

    def begin_rebuild(self) -> EngineRole:
        """Apply the facts that follow the cheap way of a rebuild, until ``end_rebuild``
        (given the role returned): nothing is marked to render again (every key is, at
        the end) and customers' acquisitions are worked out once each, at the end, not at
        every deal. Nothing read meanwhile depends on acquisitions (a history split reads
        revenue only)."""
        role = self.role
        self.role = dataclasses.replace(role, marks=False)
        self._acquiring = set()
        return role

    def end_rebuild(self, role: EngineRole) -> None:
        """Credit the acquisitions of the customers whose wins moved since
        ``begin_rebuild``, take ``role`` back and mark every existing scorecard it keeps
        (``EngineRole.keeps``): a superset of what applying the same facts one by one would have marked
        (``take_dirty`` hands out only existing keys; vanished ones are kept apart as ever).
        The state is the one ``apply`` gives: an acquisition depends on the current wins,
        deals and roster only, and each customer whose acquisition ``apply`` would have
        worked out again is worked out here, on the final facts."""
        acquiring, self._acquiring = self._acquiring, None
        for customer in sorted(acquiring or ()):
            self._update_acquisition(customer)
        self.role = role
        if not role.marks:
            return
        keeps, dirty = role.keeps, self.dirty
        for (scope, id), labels in self.known.items():
            if labels and keeps(scope, id):
                dirty.update((scope, id, label) for label in labels)
                dirty.update((scope, id, window) for window in TRAILING_DAYS)

    def all_keys(self) -> list[ScorecardKey]:
        """Every existing scorecard key (calendar periods and trailing windows)."""
        out: list[ScorecardKey] = []
        for (scope, id), labels in self.known.items():
            if labels:
                out.extend((scope, id, label) for label in labels)
                out.extend((scope, id, window) for window in TRAILING_DAYS)
        out.sort()
        return out

    # -------------------------------------------------------------- queries
    def advance_clock(self, ts: datetime) -> None:
        """Move the event clock to ``ts`` if later: a rep partition follows the clock of
        the whole organisation, not only the facts of its own reps (contract §4)."""
        if self.as_of is None or ts > self.as_of:
            self.as_of = ts

    def clock(self) -> datetime | None:
        """The ``as_of`` instant: the wall clock when set, else the latest event time (no
        later than ``values_clock`` when that is set)."""
        clock, held = self.wall_clock or self.as_of, self.values_clock
        return held if held is not None and clock is not None and held < clock else clock

    def is_final(self, label: str) -> bool:
        """True once every month of a calendar period is closed (and, with ``values_closed``,
        closed in every team partition's values too)."""
        if label in TRAILING_DAYS:
            return False
        held = self.values_closed
        return all(m in self.closed_months and (held is None or m in held) for m in L.months_of(label))

    def _final_months(self) -> set[str]:
        held = self.values_closed
        return set(self.closed_months) if held is None else self.closed_months & held

    def confirm_closed(self, closed: frozenset[str] | None) -> None:
        """Take the months every team partition's values hold closed (``values_closed``): the
        periods this makes final, or no longer final, are rendered again."""
        if closed == self.values_closed:
            return
        before = self._final_months()
        self.values_closed = closed
        moved = before ^ self._final_months()
        affected = {label for m in moved for label in (m, L.quarter_of_month(m), m[:4])}
        if affected:
            for scope, id in list(self.known):
                self._touch_known(scope, id, lambda label: label in affected)

    def period(self, label: str) -> Period | None:
        """The Period of a label (trailing windows relative to the clock; None without one)."""
        if label in TRAILING_DAYS:
            as_of = self.clock()
            return self.calendar.trailing(label, as_of) if as_of is not None else None
        return self.calendar.parse(label)

    def _day_span(self, period: Period) -> Span:
        """The first and last local day of ``period``."""
        cal = self.calendar
        return cal.local_date(period.start).isoformat(), cal.local_date(period.end - ONE_MICROSECOND).isoformat()

    def _trailing_spans(self, period: Period) -> tuple[Span, Span, Span]:
        """The day spans of a trailing window, the window before it and the window a year
        earlier (contract §4)."""
        key = (period.label, period.start)
        spans = self._spans.get(key)
        if spans is None:
            if len(self._spans) >= 8:
                self._spans.clear()
            cal = self.calendar
            spans = self._spans[key] = (
                self._day_span(period), self._day_span(cal.previous(period)), self._day_span(cal.year_earlier(period))
            )
        return spans

    def _window(self, scope: str, id: str, period: Period) -> tuple[Bucket, Decimal, Decimal]:
        """A trailing window's aggregates, the previous window's revenue and the revenue
        of the window a year earlier, from the scope's running sums (core/windows.py)."""
        scope_key = (scope, id)
        buckets = self.buckets.scopes.get(scope_key)
        if buckets is None:
            return EMPTY, Decimal(0), Decimal(0)
        trailing = self._trailing.get(scope_key)
        if trailing is None:
            trailing = self._trailing[scope_key] = {}
        sums = trailing.get(period.label)
        if sums is None:
            sums = trailing[period.label] = TrailingSums()
        return sums.move(self._trailing_spans(period), self._days[scope_key], buckets)

    def _calendar_bucket(self, scope: str, id: str, label: str) -> Bucket:
        """The bucket of a calendar period (EMPTY without one); a quarter's or a year's is
        the sum of its months' (none is kept: every contribution to it is one to a month)."""
        buckets = self.buckets.scopes.get((scope, id))
        if buckets is None:
            return EMPTY
        if L.is_month(label):
            return buckets.get(label, EMPTY)
        months = [bucket for month in L.month_labels(label) if (bucket := buckets.get(month)) is not None]
        return Bucket.summed(months) if months else EMPTY

    def _refuse_rep_figures(self, rep_id: str, label: str) -> None:
        """Raise ``RepFiguresNotKept`` on an engine without rep buckets (its rep figures would
        read as zero, not fail)."""
        if self.rep_tally is not None:
            raise RepFiguresNotKept(
                f"this engine keeps no rep figures: rep {rep_id} {label} is rendered by its partition")

    def _revenue(self, scope: str, id: str, label: str) -> Decimal:
        if self.rep_tally is not None and scope == "rep":
            return self.rep_tally.revenue(id, label)
        buckets = self.buckets.scopes.get((scope, id))
        if buckets is None:
            return Decimal(0)
        if L.is_month(label):
            b = buckets.get(label)
            return b.revenue if b is not None else Decimal(0)
        units = exponent = 0  # a quarter's or a year's: its months' (``_calendar_bucket``)
        for month in L.month_labels(label):
            b = buckets.get(month)
            if b is not None:
                units, exponent = add_scaled(units, exponent, *b.revenue_units)
        return from_scaled(units, exponent)

    # A scan per rewon customer on every render (20 % of the worker's CPU went to rendering
    # in the profile): a plain loop that stops at the first hit, no any(genexpr); the bounds
    # are expressed in the timestamps' own fixed offset (``bounds_in``: comparing across
    # tzinfos was most of its time). Coverage scans once per scope and period end
    # (``_coverage``).
    def _repeat_customers(self, bucket: Bucket, start: datetime) -> int:
        lo, hi = start - YEAR, start
        zone: tzinfo | None = NO_ZONE
        zlo, zhi = lo, hi
        rewon, won = self._rewon_customers, bucket.won_customers
        if not rewon or not won:
            return 0
        # a customer won once in the period has no other win: only the rewon ones can count
        candidates = [c for c in rewon if c in won] if len(rewon) < len(won) else [c for c in won if c in rewon]
        wins = self._customer_wins
        count = 0
        for customer in candidates:
            for deal in wins[customer]:
                ts: datetime = deal.closed_at  # type: ignore[assignment]  # a won deal is closed
                if ts.tzinfo is not zone:
                    zone = ts.tzinfo
                    zlo, zhi = bounds_in(lo, hi, zone)
                if zlo <= ts < zhi:
                    count += 1
                    break
        return count

    def _coverage(self, scope: str, id: str, period: Period, bucket: Bucket) -> tuple[int, int]:
        """(book, covered) of ``contact_coverage``. The first time per scope and period end a
        scan of the scope's wins; after it the book kept by ``BookCounts``, and the covered
        found from whichever is smaller, the period's customers contacted twice or more or
        the customers the scope won."""
        lo, hi = period.end - YEAR, period.end
        scope_key = (scope, id)
        wins = self._scope_wins.get(scope_key, {})
        contacts = bucket.contacts
        book = self._books.get(scope_key, hi)
        if book is None:
            book, covered = scan_coverage(wins, contacts, lo, hi)
            self._books.put(scope_key, hi, book)
        elif not book:
            return 0, 0
        else:
            kept = self._covered.get(scope_key, period.label)
            if kept is not None:
                return book, kept
            covered = count_covered(wins, contacts, lo, hi)
        # kept from the first render that finds a large book (it may have grown since the first)
        if scope != "rep" and book >= KEEP_COVERED_FROM:
            self._covered.put(scope_key, period.label, hi, covered)
        return book, covered

    def month_commission(self, rep_id: str, month: str) -> Decimal:
        """The rep's commission for one month under their plan (rounded to cents)."""
        return self.commission_of(rep_id, month)[4].amount

    def commission_of(self, rep_id: str, month: str) -> MonthPay:
        """A rep's month as the plan pays it: team at the month's end, plan, revenue,
        revenue target and the commission, its gates read on the month's KPIs (§11);
        kept until a fact of the month, a target, a share or the roster moves."""
        self._refuse_rep_figures(rep_id, month)
        plans = self.commission_plans
        pay = self._derived.pay(plans, rep_id, month)
        if pay is None:
            period = self.calendar.parse(month)
            entry = self.roster.entry_before(rep_id, period.end)
            team_id = entry.team_id if entry else UNASSIGNED
            plan = plans.plan_for(rep_id, team_id)
            target = self.rep_target(rep_id, month)
            revenue = self._revenue("rep", rep_id, month)
            result = compute_commission(
                plan, revenue, target, lambda: bucket_kpis(self.buckets.get(("rep", rep_id, month), EMPTY)))
            pay = (team_id, plan, revenue, target, result)
            self._derived.put_pay(plans, rep_id, month, pay)
        return pay

    def fullest_memo(self) -> int:
        """Entries of the engine's fullest memo (revenue targets, rep months' commissions,
        resolved targets: each bounded at ``memo_limit``)."""
        return max(self._derived.fullest(), self.targets.memo_held())

    def member_ids(self, scope: str, id: str, end: datetime) -> list[str]:
        """The reps active at ``end`` in the team (every team for the company)."""
        members = self.roster.members_at_end(end)
        if scope == "company":
            return [rep for reps in members.values() for rep in reps]
        return list(members.get(id, ()))

    def _members(self, scope: str, id: str, end: datetime) -> int:
        members = self.roster.members_at_end(end)
        if scope == "company":
            return sum(len(reps) for reps in members.values())
        return len(members.get(id, ()))

    def _ramp(self, scope: str, id: str, period: Period, month: str) -> list[Decimal]:
        hire_month = L.shift(month, -2)
        hires = self.roster.hires_at_end(period.end, hire_month, self.calendar.month_label)
        reps = [r for reps in hires.values() for r in reps] if scope == "company" else hires.get(id, [])
        ratios = []
        for rep in reps:
            base = self._revenue("rep", rep, hire_month)
            if base:
                ratios.append(self._revenue("rep", rep, month) / base)
        return ratios

    def inputs(self, scope: str, id: str, label: str) -> tuple[Period, KpiInputs, Decimal | None] | None:
        """The KPI inputs of one scorecard, and its new-customers target (None without a clock);
        a rep's of an engine without rep buckets is refused (``RepFiguresNotKept``)."""
        if scope == "rep":
            self._refuse_rep_figures(id, label)
        period = self.period(label)
        if period is None:
            return None
        cal = self.calendar
        if label in TRAILING_DAYS:
            bucket, prev, yoy = self._window(scope, id, period)
            target = market = nc_target = None
        else:
            bucket = self._calendar_bucket(scope, id, label)
            prev = self._revenue(scope, id, L.shift(label, -1))
            yoy = self._revenue(scope, id, L.year_earlier(label))
            target = self.revenue_target(scope, id, label)
            market = self.targets.resolve_own(scope, id, label, "market_size") if scope != "rep" else None
            nc_target = self.targets.resolve_own(scope, id, label, "new_customers")
        is_month = period.kind == "month"
        forecast = None
        if label not in TRAILING_DAYS:
            forecast = self._forecast(scope, id, period, bucket.revenue)
        commission, band = self._plan_inputs(scope, id, label, period)
        factor = tenure = headcount_start = headcount_end = departures = None
        ramp = None
        if scope == "rep":
            entry = self.roster.entry_before(id, period.end)
            factor = entry.territory_factor if entry else DEFAULT_FACTOR
            if entry is not None:
                tenure = whole_months_between(
                    entry.hired_at.astimezone(cal.zone), period.end.astimezone(cal.zone)
                )
        else:
            headcount_end = self._members(scope, id, period.end)
            headcount_start = self._members(scope, id, period.start)
            departures = self.roster.departures(id if scope == "team" else None, period.start, period.end)
            if is_month:
                ramp = self._ramp(scope, id, period, label)
        review_score = self_rating = coverage = engagement = None
        if label not in TRAILING_DAYS:
            months = L.months_of(label)
            if scope == "rep":
                scored = self.reviews.review_score(id, months)
                review_score, self_rating = scored.score, scored.self_rating
            else:
                members = self.member_ids(scope, id, period.end)
                coverage = review_coverage(self.reviews.manager_reviewed(members, months), len(members))
                engagement = self.reviews.engagement([id] if scope == "team" else None, months)[1]
        inputs = KpiInputs(
            review_score=review_score, self_rating=self_rating, review_coverage=coverage, team_engagement=engagement,
            scope=scope, kind=period.kind, bucket=bucket, prev_revenue=prev, yoy_revenue=yoy, target=target,
            market_size=market, territory_factor=factor, elapsed=elapsed(period, self.clock()),
            repeat_customers=self._repeat_customers(bucket, period.start),
            coverage=self._coverage(scope, id, period, bucket) if is_month else None,
            headcount_start=headcount_start, headcount_end=headcount_end, departures=departures,
            tenure_months=tenure, ramp_ratios=ramp, commission=commission,
            forecast_revenue=forecast, next_band=band,
        )
        return period, inputs, nc_target

    def _plan_inputs(self, scope: str, id: str, label: str, period: Period) -> tuple[Decimal | None, NextBand | None]:
        """The KPI inputs the commission plans decide (the rest of ``inputs`` does not read
        them): a rep's commission over a calendar period, the band a rep's month enters next."""
        if scope != "rep" or label in TRAILING_DAYS:
            return None, None
        commission = sum((self.month_commission(id, m) for m in L.months_of(label)), Decimal(0))
        return commission, self.next_band_of(id, label) if period.kind == "month" else None

    def _forecast(self, scope: str, id: str, period: Period, revenue: Decimal) -> Decimal | None:
        """The period's ``forecast_revenue`` (contract §13; None before the clock): revenue
        plus the weighted pipeline credited to the scope, its team taken at ``as_of``."""
        as_of = self.clock()
        if as_of is None:
            return None
        window = forecast_window(period.start, period.end, as_of)
        if window is None:
            return forecast_revenue(revenue, None)
        if scope == "company":
            return forecast_revenue(revenue, self.pipeline.weighted_all(*window, self.stage_probabilities))
        reps = [id] if scope == "rep" else self._pipeline_members(as_of).get(id, [])
        return forecast_revenue(revenue, self.pipeline.weighted(reps, *window, self.stage_probabilities))

    def _pipeline_members(self, as_of: datetime) -> dict[str, list[str]]:
        """team -> the reps with open pipeline deals whose roster entry at ``as_of`` names it."""
        cached = self._pipeline_teams
        if cached is not None and cached[0] == as_of:
            return cached[1]
        teams: dict[str, list[str]] = {}
        for rep in self.pipeline.reps():
            teams.setdefault(self.roster.team_at(rep, as_of), []).append(rep)
        self._pipeline_teams = (as_of, teams)
        return teams

    def forecast_of(self, scope: str, id: str, label: str) -> Decimal | None:
        """A calendar period's ``forecast_revenue``, whether or not its scorecard exists."""
        return self._forecast(scope, id, self.calendar.parse(label), self._revenue(scope, id, label))

    def next_band_of(self, rep_id: str, month: str) -> NextBand | None:
        """The commission band the rep's month enters next under the rep's plan (contract §13)."""
        period = self.calendar.parse(month)
        entry = self.roster.entry_before(rep_id, period.end)
        plan = self.commission_plans.plan_for(rep_id, entry.team_id if entry else UNASSIGNED)
        return next_band(plan, self._revenue("rep", rep_id, month), self.rep_target(rep_id, month))
    def score(self, scope: str, values: dict[str, Any], period: Period, inputs: KpiInputs,
              nc_target: Decimal | None) -> ScoreResult:
        """The weighted score of one scorecard under its scope's plan (contract §6, §12); a
        per-member goal counts the headcount at the period's end (one for a rep)."""
        members = 1 if scope == "rep" else inputs.headcount_end
        return evaluate(self.plans.for_scope(scope), values, L.months_in(period.kind),
                        {"new_customers": nc_target}, members)

    def scored(self, scope: str, id: str, label: str) -> tuple[Period, dict[str, Any], ScoreResult] | None:
        """The exact KPI values and the score of one key under this engine's plans; None when
        the key does not exist (or, for a trailing window, without a clock)."""
        results = self.scored_under((), scope, id, label)
        return None if results is None else results[0]

    def scored_under(self, views: Sequence[ScorecardEngine], scope: str, id: str,
                     label: str) -> list[tuple[Period, dict[str, Any], ScoreResult]] | None:
        """``scored`` of one key under this engine's plans, then under each view's
        (``with_plans`` of this engine): the same as each one's ``scored``, the inputs the
        plans do not decide worked out once. None when the key does not exist."""
        if not self.exists(scope, id, label):
            return None
        computed = self.inputs(scope, id, label)
        if computed is None:
            return None
        period, inputs, nc_target = computed
        out = []
        for engine in (self, *views):
            if engine is not self:
                commission, band = engine._plan_inputs(scope, id, label, period)
                inputs = dataclasses.replace(inputs, commission=commission, next_band=band)
            values = compute_kpis(inputs)
            out.append((period, values, engine.score(scope, values, period, inputs, nc_target)))
        return out

    def with_plans(self, scorecard_plans: ScopedPlans, commission_plans: PlanSet) -> ScorecardEngine:
        """The same facts read under other plans (contract §13, what-if): a shallow copy that
        shares every fact and aggregate with this engine. Read calendar keys from it; apply
        facts to this engine only."""
        view = copy.copy(self)
        view.plans, view.commission_plans = scorecard_plans, commission_plans
        return view

    def render(self, scope: str, id: str, label: str) -> dict[str, Any] | None:
        """The scorecard content of one key (without revision, event_id and emitted_at);
        None when the key does not exist."""
        evaluated = self.scored(scope, id, label)
        if evaluated is None:
            return None
        period, values, result = evaluated
        team_id = manager_id = None
        if scope == "rep":
            entry = self.roster.entry_before(id, period.end)
            team_id = entry.team_id if entry else UNASSIGNED
            manager_id = entry.manager_id if entry else None
        as_of = self.clock()
        return {
            "type": "scorecard",
            "schema_version": 1,
            "scope": scope,
            "id": id,
            "period": label,
            "period_start": format_timestamp(period.start),
            "period_end": format_timestamp(period.end),
            "team_id": team_id,
            "manager_id": manager_id,
            "as_of": format_timestamp(as_of) if as_of is not None else None,
            "final": self.is_final(label),
            "kpis": format_kpis(values),
            "score": ratio(result.score),
            "components": [
                {
                    "kpi": c.kpi,
                    "dimension": c.dimension,
                    "weight": plan_ratio(Decimal(c.weight)),
                    "goal": ratio(c.goal) if c.goal is not None else None,
                    "direction": c.direction,
                    "value": ratio(Decimal(c.value)) if c.value is not None else None,
                    "achievement": ratio(c.achievement),
                }
                for c in result.components
            ],
        }


#: The engine's applier of each input record class (contract §3, §12).
_APPLIERS: dict[type, Callable[[ScorecardEngine, Any], Outcome]] = {
    DealEvent: ScorecardEngine._apply_deal,
    ComplaintEvent: ScorecardEngine._apply_complaint,
    ActivityEvent: ScorecardEngine._apply_activity,
    RosterEvent: ScorecardEngine._apply_roster,
    TargetEvent: ScorecardEngine._apply_target,
    ClosePeriodEvent: ScorecardEngine._apply_close,
    ReviewEvent: ScorecardEngine._apply_review,
    EngagementEvent: ScorecardEngine._apply_engagement,
}
