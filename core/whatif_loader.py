"""The what-if's load of stored facts into a rep engine (contract §13), the cheap way.

``scorecard whatif`` applies every fact of the worker's ``facts`` table (millions: a
year of 5,000 reps is 3.2 million, 80 % of them activities) to an engine of the rep
stage's role, then reads rep-month figures only. ``StoredFactLoader`` gives that engine
the same rep-month figures as ``ScorecardEngine.apply`` of each fact's record, at a
fraction of the cost:

- the facts are read with ``record_from_stored`` (they were checked before they were
  stored, so their timestamps are not checked again);
- a deal is applied once, in its latest version (``finish``): the outcome of each version
  (applied, duplicate, stale) is decided as it comes, as ``apply`` decides it, but the
  versions it replaces are never applied and retracted again;
- an activity never changes and counts only in its own period (contract §5): it is not
  turned into a record nor kept, only counted for its rep and month (``BucketSum``, plain
  counters, where ``apply`` updates four buckets, day to year, each with its dirty marks);
  the sums go into the engine at ``finish`` (``ScorecardEngine.add_rep_month``). The
  event clock still moves over every activity (contract §4). Given the months a what-if
  reads, the activities of other months are not counted at all: a rep-month's KPIs read
  its own month's activities only (contract §5).

What the engine is then not fit for: trailing windows (no day buckets of the activities),
rep-months outside the months given, publishing and payroll (the what-if's engine marks
nothing and collects no pay change, ``rep_engine``). The what-if reads none of them.
"""

from __future__ import annotations

from collections.abc import Container
from sys import intern
from typing import Any

from sales_scorecard.schemas.records import DealEvent, record_from_stored

from .aggregates import BucketSum
from .engine import Outcome, ScorecardEngine, activity_delta, activity_figures
from .periods import parse_stored_timestamp


class StoredFactLoader:
    """Applies stored facts (the dicts of the ``facts`` table) to a rep-stage engine; call
    ``finish`` after the last one, before reading the engine. With ``months`` only the
    rep-months of those months are fit to read (their figures are exact)."""

    def __init__(self, engine: ScorecardEngine, months: Container[str] | None = None) -> None:
        if engine.owns is None:
            raise ValueError("the loader fills a rep-stage engine (rep_partition), not a whole one")
        self.engine = engine
        self._owns = engine.owns
        #: the months whose activities are counted (None: all)
        self._counted = months
        #: event ids of the activities applied (an activity is applied once)
        self._activity_ids: set[str] = set()
        #: (rep, month) -> the activities applied since the last ``finish``, summed
        self._months: dict[tuple[str, str], BucketSum] = {}
        #: deal_id -> its latest version since the last ``finish``, not applied yet
        self._deals: dict[str, DealEvent] = {}

    def apply(self, fact: dict[str, Any]) -> Outcome:
        """Apply one stored fact; KeyError, TypeError or ValueError when it cannot be read
        (nothing applied then)."""
        kind = fact.get("type")
        if kind == "activity":
            return self._activity(fact)
        record = record_from_stored(fact)
        if isinstance(record, DealEvent):
            return self._deal(record)
        return self.engine.apply(record)

    def _deal(self, ev: DealEvent) -> Outcome:
        """The outcome ``ScorecardEngine.apply`` would give the version; the version kept for
        ``finish`` when it is applied."""
        self.engine.advance_clock(ev.occurred_at)
        old = self._deals.get(ev.deal_id) or self.engine.deals.get(ev.deal_id)
        if old is not None:
            if old.event_id == ev.event_id:
                return Outcome.DUPLICATE
            if ev.version <= old.version:
                return Outcome.STALE
        self._deals[ev.deal_id] = ev
        return Outcome.APPLIED

    def _activity(self, fact: dict[str, Any]) -> Outcome:
        get = fact.get
        event_id, rep_id, kind, occurred_at = get("event_id"), get("rep_id"), get("kind"), get("occurred_at")
        if event_id is None or rep_id is None or kind is None or occurred_at is None:
            raise KeyError("an activity needs event_id, rep_id, kind and occurred_at")
        ts = parse_stored_timestamp(occurred_at, kept=False)
        effective = get("effective")
        figures = activity_figures(kind, True if effective is None else effective, get("customer_id"),
                                   get("campaign_id"), get("duration_minutes"), get("score"))
        engine = self.engine
        engine.advance_clock(ts)
        ids = self._activity_ids
        if event_id in ids or engine.has_activity(event_id):
            return Outcome.DUPLICATE
        ids.add(event_id)
        month = engine.calendar.month_label(ts)
        if self._owns(rep_id) and (self._counted is None or month in self._counted):
            key = (intern(rep_id), month)
            summed = self._months.get(key)
            if summed is None:
                summed = self._months[key] = BucketSum()
            summed.add(activity_delta(*figures))
        return Outcome.APPLIED

    def finish(self) -> None:
        """Apply the latest version of each deal and add the activities summed so far to
        the engine (by rep, then month)."""
        deals, self._deals = self._deals, {}
        for ev in deals.values():
            self.engine.apply(ev)
        months, self._months = self._months, {}
        for (rep_id, month), summed in sorted(months.items()):
            self.engine.add_rep_month(rep_id, month, summed.bucket())
