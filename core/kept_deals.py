"""What the engine keeps of a deal: its latest applied version, only the fields read back.

A worker keeps every deal's latest version (the version gate, retractions, pay reasons,
acquisitions, repeat customers, explanations and payroll line items read it back), so
one is kept small: repeated strings interned, the event id as its bytes, the amount as
an integer of its smallest unit (``money_units``: exact, it reads back as the very
``Decimal`` given), the sales cycle as microseconds instead of the creation time, and no
field nothing reads (type, schema version, currency, occurred_at, the dispute a version
settles, the pipeline fields: an open deal's are in ``Pipeline``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from sys import intern

from sales_scorecard.schemas.records import DealEvent

from .aggregates import money_units
from .money import from_scaled
from .periods import micros


def same_instant(value: datetime, *others: datetime | None) -> datetime:
    """``value``, or the first of ``others`` that is the very same timestamp (same instant,
    same tzinfo object, so it prints and converts identically): a kept record holds one
    object for timestamps its fields repeat (48 bytes each)."""
    for other in others:
        if other is not None and other.tzinfo is value.tzinfo and other == value:
            return other
    return value


class KeptDeal:
    """The latest applied version of one deal, as the engine keeps it, and the team it is
    credited to."""

    __slots__ = ("deal_id", "_event_key", "version", "rep_id", "customer_id", "stage", "units", "exponent",
                 "cycle_micros", "closed_at", "customer_tier", "team")

    def __init__(self, deal_id: str, event_id: str, version: int, rep_id: str, customer_id: str, stage: str,
                 units: int, exponent: int, cycle_micros: int, closed_at: datetime | None,
                 customer_tier: str | None) -> None:
        self.deal_id = deal_id
        #: the event id as its UTF-8 bytes (one to one; 16 bytes less than the str)
        self._event_key = event_id.encode("utf-8", "surrogatepass")
        self.version = version
        self.rep_id = rep_id
        self.customer_id = customer_id
        self.stage = stage
        #: the amount is ``units * 10 ** exponent`` (``money_units``)
        self.units = units
        self.exponent = exponent
        #: closed_at - created_at in microseconds (0 for a deal not closed)
        self.cycle_micros = cycle_micros
        self.closed_at = closed_at
        self.customer_tier = customer_tier
        #: the team the version is credited to (set by the engine: the rep's team at
        #: closed_at, moved by a roster change); None while it credits nothing
        self.team: str | None = None

    @classmethod
    def of(cls, ev: DealEvent, old: KeptDeal | None) -> KeptDeal:
        """The version ``ev`` as kept: strings interned, the id and an unchanged close time
        shared with the version before (``old``)."""
        units, exponent = money_units(ev.amount)
        closed_at = ev.closed_at
        cycle = 0
        if closed_at is not None:
            cycle = micros(closed_at - ev.created_at)
            if old is not None:
                closed_at = same_instant(closed_at, old.closed_at)
        return cls(ev.deal_id if old is None else old.deal_id, ev.event_id, ev.version, intern(ev.rep_id),
                   intern(ev.customer_id), intern(ev.stage), units, exponent, cycle, closed_at,
                   None if ev.customer_tier is None else intern(ev.customer_tier))

    @property
    def event_id(self) -> str:
        """The id of the event that gave this version (the version gate's duplicates)."""
        return self._event_key.decode("utf-8", "surrogatepass")

    @property
    def amount(self) -> Decimal:
        """The amount as given (the same Decimal: value and exponent)."""
        return from_scaled(self.units, self.exponent)

    @property
    def money(self) -> tuple[int, int]:
        """The amount as ``(units, exponent)`` (what a ``revenue`` delta carries)."""
        return self.units, self.exponent

    def __repr__(self) -> str:
        return (f"KeptDeal({self.deal_id!r}, v{self.version}, {self.stage}, rep={self.rep_id!r}, "
                f"customer={self.customer_id!r}, amount={self.amount}, closed_at={self.closed_at})")
