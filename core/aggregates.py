"""Additive KPI aggregates per (scope, id, period) and the contributions that feed them.

A fact (a deal version, a complaint, an activity, a customer's acquisition) is turned
into contributions; applying a contribution with sign +1 adds it to the buckets of the
day, month, quarter and year containing its business time, sign -1 removes it again.
Multisets (``Counter``) keep distinct counts exact under retraction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

SEVERITIES = ("low", "medium", "high", "critical")
ACTIVITY_KINDS = ("call", "visit", "meeting", "email", "demo", "campaign", "training", "survey")
TIERS = ("A", "B", "C", "none")


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one fact adds to one scope at one business instant.

    ``labels`` are the (day, month, quarter, year) labels of ``ts``; ``delta`` holds
    only the fields the fact sets (see ``Bucket.apply``).
    """

    scope: str
    id: str
    ts: datetime
    labels: tuple[str, str, str, str]
    delta: tuple[tuple[str, object], ...]


def _counter_add(counter: Counter, key: object, sign: int) -> None:
    n = counter[key] + sign
    if n:
        counter[key] = n
    else:
        del counter[key]


#: The shared empty Counter of buckets that have not counted a kind yet; never mutated.
_NOTHING: Counter = Counter()
#: Bucket fields that are Counters.
COUNTERS = ("new_by_tier", "won_customers", "contacts", "by_severity", "activities", "campaigns")


class Bucket:
    """Additive aggregates of one scope over one period."""

    __slots__ = (
        "contributions", "revenue", "won", "lost", "cycle_micros", "new_customers", "new_by_tier",
        "won_customers", "contacts", "complaints", "by_severity", "resolved", "resolution_micros",
        "survey_sum", "survey_count", "activities", "effective_contacts", "campaigns", "training_minutes",
    )

    def __init__(self) -> None:
        self.contributions = 0
        self.revenue = Decimal(0)
        self.won = 0
        self.lost = 0
        self.cycle_micros = 0
        self.new_customers = 0
        self.complaints = 0
        self.resolved = 0
        self.resolution_micros = 0
        self.survey_sum = 0
        self.survey_count = 0
        self.effective_contacts = 0
        self.training_minutes = 0
        # Most buckets count only a few kinds of things: they share one empty Counter
        # until they count something (six empty Counters were ~0.5 KiB per bucket).
        self.new_by_tier = self.won_customers = self.contacts = _NOTHING
        self.by_severity = self.activities = self.campaigns = _NOTHING

    def _counter(self, name: str) -> Counter:
        """The bucket's own Counter ``name``, created on first use."""
        counter = getattr(self, name)
        if counter is _NOTHING:
            counter = Counter()
            setattr(self, name, counter)
        return counter

    def apply(self, delta: tuple[tuple[str, Any], ...], sign: int) -> None:
        """Add (sign +1) or remove (sign -1) one contribution."""
        self.contributions += sign
        for field, value in delta:
            if field == "revenue":
                self.revenue += value * sign
            elif field == "won":
                self.won += sign
            elif field == "lost":
                self.lost += sign
            elif field == "cycle":
                self.cycle_micros += value * sign
            elif field == "won_customer":
                _counter_add(self._counter("won_customers"), value, sign)
            elif field == "new_tier":
                self.new_customers += sign
                _counter_add(self._counter("new_by_tier"), value, sign)
            elif field == "complaint":
                self.complaints += sign
                _counter_add(self._counter("by_severity"), value, sign)
            elif field == "resolution":
                self.resolved += sign
                self.resolution_micros += value * sign
            elif field == "activity":
                _counter_add(self._counter("activities"), value, sign)
            elif field == "contact":
                self.effective_contacts += sign
                _counter_add(self._counter("contacts"), value, sign)
            elif field == "campaign":
                _counter_add(self._counter("campaigns"), value, sign)
            elif field == "training":
                self.training_minutes += value * sign
            elif field == "survey":
                self.survey_sum += value * sign
                self.survey_count += sign
            else:  # pragma: no cover - a programming error, not input
                raise KeyError(field)

    @classmethod
    def merged(cls, buckets: list[Bucket]) -> Bucket:
        """One bucket holding the sum of several (trailing windows over day buckets)."""
        out = cls()
        for name in COUNTERS:
            setattr(out, name, Counter())
        for b in buckets:
            out.contributions += b.contributions
            out.revenue += b.revenue
            out.won += b.won
            out.lost += b.lost
            out.cycle_micros += b.cycle_micros
            out.new_customers += b.new_customers
            out.new_by_tier.update(b.new_by_tier)
            out.won_customers.update(b.won_customers)
            out.contacts.update(b.contacts)
            out.complaints += b.complaints
            out.by_severity.update(b.by_severity)
            out.resolved += b.resolved
            out.resolution_micros += b.resolution_micros
            out.survey_sum += b.survey_sum
            out.survey_count += b.survey_count
            out.activities.update(b.activities)
            out.effective_contacts += b.effective_contacts
            out.campaigns.update(b.campaigns)
            out.training_minutes += b.training_minutes
        return out


EMPTY = Bucket()
