"""Additive KPI aggregates per (scope, id, period) and the contributions that feed them.

A fact (a deal version, a complaint, an activity, a customer's acquisition) is turned
into contributions; applying a contribution with sign +1 adds it to the buckets of the
day and the month containing its business time, sign -1 removes it again.
Multisets keep distinct counts exact under retraction.

A worker holds a few buckets per rep and period (and a day bucket per active day), so
a bucket is kept small: revenue is an integer number of units of ``10 ** exponent``
(exact; it reads back as the very ``Decimal`` a running sum of the amounts would be),
each multiset is packed (``Tally``) until it grows large, and the aggregates few buckets
count (lost deals, complaints, surveys, ...) live in a side record made on first use.
Contributions themselves are not kept (core/engine.py derives them again to retract).
No bucket of a quarter or a year is kept: every contribution to one is a contribution
to one of its months, so its figures are its months' buckets summed when it is read
(``Bucket.summed``; core/engine.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal
from types import MappingProxyType
from typing import Any, TypeVar, cast, overload

from .money import add_scaled, from_scaled

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


#: What a bucket reads for a kind it has not counted: an empty read-only mapping.
_NOTHING: Mapping[str, int] = MappingProxyType({})
#: Exact integer arithmetic for ``money_units`` (no rounding below 60 digits).
_EXACT = Context(prec=60)
#: A packed multiset holds at most this many distinct keys before it becomes a Counter.
PACKED_KEYS = 16

#: A multiset of strings, packed by size: None (empty); a str (that key, counted once);
#: a flat tuple ``(key, count, key, count, ...)``; a Counter once it has more than
#: ``PACKED_KEYS`` keys. Most buckets count one or a few customers and kinds: a Counter
#: of one key costs ~230 bytes, the packed forms 0 (the key is shared) or ~16 per key.
Tally = None | str | tuple[str | int, ...] | Counter[str]


def _tally_add(tally: Tally, key: str, sign: int) -> Tally:
    """``tally`` with ``sign`` added to the count of ``key`` (a Counter is changed in place)."""
    if isinstance(tally, Counter):
        n = tally.get(key, 0) + sign
        if n:
            tally[key] = n
        else:
            del tally[key]
        return tally
    if tally is None:
        return key if sign == 1 else (key, sign)
    if isinstance(tally, str):
        if tally == key:
            n = 1 + sign
            return None if n == 0 else (key, n)
        return (tally, 1, key, sign)
    # A flat tuple: keys are strings and counts ints, so ``index`` finds only a key.
    try:
        i = tally.index(key)
    except ValueError:
        if len(tally) >= 2 * PACKED_KEYS:
            counter: Counter[str] = Counter(_tally_view(tally))
            counter[key] = sign
            return counter
        return (*tally, key, sign)
    n = cast(int, tally[i + 1]) + sign
    rest = (*tally[:i + 1], n, *tally[i + 2:]) if n else tally[:i] + tally[i + 2:]
    if len(rest) == 2 and rest[1] == 1:
        return cast(str, rest[0])
    return rest or None


def _tally_total(tally: Tally) -> int:
    """The sum of the multiset's counts."""
    if tally is None:
        return 0
    if isinstance(tally, str):
        return 1
    if isinstance(tally, tuple):
        return sum(cast(tuple[int, ...], tally[1::2]))
    return sum(tally.values())


def _tally_count(tally: Tally, key: str) -> int:
    """The count of ``key`` in the multiset (0: not in it)."""
    if tally is None:
        return 0
    if isinstance(tally, str):
        return 1 if tally == key else 0
    if isinstance(tally, tuple):
        try:
            return cast(int, tally[tally.index(key) + 1])  # keys are strings and counts ints
        except ValueError:
            return 0
    return tally.get(key, 0)


def _tally_view(tally: Tally) -> Mapping[str, int]:
    """The multiset as a read-only mapping key -> count (built for packed forms)."""
    if tally is None:
        return _NOTHING
    if isinstance(tally, Counter):
        return tally
    if isinstance(tally, str):
        return {tally: 1}
    return dict(zip(cast(tuple[str, ...], tally[::2]), cast(tuple[int, ...], tally[1::2]), strict=True))


def _tally_into(counter: Counter[str], tally: Tally) -> None:
    """Add a multiset's counts to ``counter``."""
    if tally is None:
        return
    if isinstance(tally, str):
        counter[tally] += 1
    elif isinstance(tally, tuple):
        for i in range(0, len(tally), 2):
            counter[cast(str, tally[i])] += cast(int, tally[i + 1])
    else:
        counter.update(tally)


def _tally_packed(counter: Mapping[str, int]) -> Tally:
    """The multiset of ``counter`` in the form ``_tally_add`` would have made (the Counter
    itself, or one made of the counts, once it has more than ``PACKED_KEYS`` keys)."""
    if len(counter) > PACKED_KEYS:
        return counter if isinstance(counter, Counter) else Counter(counter)
    flat: list[str | int] = []
    for key, n in counter.items():
        if n:
            flat += (key, n)
    if not flat:
        return None
    if len(flat) == 2 and flat[1] == 1:
        return cast(str, flat[0])
    return tuple(flat)


def _tally_copy(tally: Tally) -> Tally:
    """A multiset no change to ``tally`` reaches (a Counter is changed in place; the packed
    forms are immutable and shared)."""
    return Counter(tally) if isinstance(tally, Counter) else tally


def _tally_added(tally: Tally, other: Tally, sign: int) -> Tally:
    """``tally`` with ``sign`` times every count of ``other`` added (a Counter is changed in place)."""
    if other is None:
        return tally
    if isinstance(other, str):
        return _tally_add(tally, other, sign)
    pairs = zip(cast(tuple[str, ...], other[::2]), cast(tuple[int, ...], other[1::2]), strict=True) \
        if isinstance(other, tuple) else other.items()
    if isinstance(tally, Counter):
        for key, n in pairs:
            n = tally.get(key, 0) + sign * n
            if n:
                tally[key] = n
            else:
                del tally[key]
        return tally
    for key, n in pairs:
        tally = _tally_add(tally, key, sign * n)
    return tally


def money_units(value: Decimal) -> tuple[int, int]:
    """(units, exponent) with ``value == units * 10 ** exponent`` exactly: how a
    ``revenue`` delta carries an amount (converted once per fact, added to many buckets)."""
    exponent = cast(int, value.as_tuple().exponent)  # an int for finite amounts
    return int(value.scaleb(-exponent, _EXACT)), exponent


class _Rare:
    """The aggregates most buckets never count (a day bucket sees a few calls, maybe a
    won deal): a bucket holds one only once it counts one of them. New customers are not
    among them (every first win of a customer is one: 120 bytes a bucket for a count and
    a tally), the bucket counts them itself (``Bucket.new_by_tier``)."""

    __slots__ = (
        "lost", "complaints", "resolved", "resolution_micros", "survey_sum", "survey_count",
        "training_minutes", "by_severity", "campaigns",
    )

    def __init__(self) -> None:
        self.lost = 0
        self.complaints = 0
        self.resolved = 0
        self.resolution_micros = 0
        self.survey_sum = 0
        self.survey_count = 0
        self.training_minutes = 0
        self.by_severity: Tally = None
        self.campaigns: Tally = None

    def add_counts(self, other: _Rare, sign: int = 1) -> None:
        """Add ``sign`` times the other's counts and sums (its multisets apart)."""
        self.lost += sign * other.lost
        self.complaints += sign * other.complaints
        self.resolved += sign * other.resolved
        self.resolution_micros += sign * other.resolution_micros
        self.survey_sum += sign * other.survey_sum
        self.survey_count += sign * other.survey_count
        self.training_minutes += sign * other.training_minutes


_NO_RARE = _Rare()  # read by buckets without one; never mutated
#: the rarer counts and sums a team value carries (``Bucket.value_json``; a value has no lost deal)
_VALUE_COUNTS = ("complaints", "resolved", "resolution_micros", "survey_sum", "survey_count", "training_minutes")
_VALUE_RARE = frozenset((*_VALUE_COUNTS, "by_severity", "campaigns"))


class Bucket:
    """Additive aggregates of one scope over one period.

    The multisets (``won_customers``, ``contacts``, ``activities``, ``by_severity``,
    ``new_by_tier``, ``campaigns``) read as mappings key -> count; treat them as read-only.
    """

    __slots__ = (
        "contributions", "_revenue_units", "_revenue_exponent", "won", "cycle_micros", "_won_customers",
        "_contacts", "_activities", "_new_by_tier", "_rare",
    )

    def __init__(self) -> None:
        self.contributions = 0
        # revenue == _revenue_units * 10 ** _revenue_exponent; the exponent is the smallest
        # of the amounts added so far, as in a sum of Decimals starting from Decimal(0).
        self._revenue_units = 0
        self._revenue_exponent = 0
        self.won = 0
        self.cycle_micros = 0
        self._won_customers: Tally = None
        self._contacts: Tally = None
        self._activities: Tally = None
        #: the customers acquired, by tier (``new_customers`` is its total)
        self._new_by_tier: Tally = None
        self._rare: _Rare | None = None

    @property
    def revenue(self) -> Decimal:
        """The exact sum of the amounts credited (the Decimal a running sum would hold)."""
        return from_scaled(self._revenue_units, self._revenue_exponent)

    @property
    def revenue_units(self) -> tuple[int, int]:
        """The revenue as ``(units, exponent)``, ``revenue == units * 10 ** exponent``."""
        return self._revenue_units, self._revenue_exponent

    @property
    def won_customers(self) -> Mapping[str, int]:
        return _tally_view(self._won_customers)

    @property
    def contacts(self) -> Mapping[str, int]:
        return _tally_view(self._contacts)

    def contacts_of(self, customer: str) -> int:
        """How many effective contacts with ``customer`` were counted."""
        tally = self._contacts
        if type(tally) is Counter:  # a large multiset: the kept scopes' (a team's, the company's)
            return tally.get(customer, 0)
        return _tally_count(tally, customer)

    @property
    def effective_contacts(self) -> int:
        """How many effective contacts were counted: the total of ``contacts`` (each
        counts once there; no count of its own is kept)."""
        return _tally_total(self._contacts)

    @property
    def activities(self) -> Mapping[str, int]:
        return _tally_view(self._activities)

    # -- the rarer aggregates -------------------------------------------------
    @property
    def lost(self) -> int:
        return (self._rare or _NO_RARE).lost

    @property
    def new_customers(self) -> int:
        """How many customers were acquired: the total of ``new_by_tier`` (each acquisition
        counts once there, a retraction takes it out)."""
        return _tally_total(self._new_by_tier)

    @property
    def new_by_tier(self) -> Mapping[str, int]:
        return _tally_view(self._new_by_tier)

    @property
    def complaints(self) -> int:
        return (self._rare or _NO_RARE).complaints

    @property
    def by_severity(self) -> Mapping[str, int]:
        return _tally_view((self._rare or _NO_RARE).by_severity)

    @property
    def resolved(self) -> int:
        return (self._rare or _NO_RARE).resolved

    @property
    def resolution_micros(self) -> int:
        return (self._rare or _NO_RARE).resolution_micros

    @property
    def survey_sum(self) -> int:
        return (self._rare or _NO_RARE).survey_sum

    @property
    def survey_count(self) -> int:
        return (self._rare or _NO_RARE).survey_count

    @property
    def training_minutes(self) -> int:
        return (self._rare or _NO_RARE).training_minutes

    @property
    def campaigns(self) -> Mapping[str, int]:
        return _tally_view((self._rare or _NO_RARE).campaigns)

    def add_contacts(self, customer: str, n: int) -> None:
        """Add ``n`` (negative: remove) contacts with ``customer``, outside any contribution."""
        if n:
            self._contacts = _tally_add(self._contacts, customer, n)

    def _rare_counts(self) -> _Rare:
        rare = self._rare
        if rare is None:
            rare = self._rare = _Rare()
        return rare

    def _add_revenue(self, units: int, exponent: int) -> None:
        self._revenue_units, self._revenue_exponent = add_scaled(
            self._revenue_units, self._revenue_exponent, units, exponent)

    def apply(self, delta: tuple[tuple[str, Any], ...], sign: int) -> None:
        """Add (sign +1) or remove (sign -1) one contribution (a ``revenue`` value is
        ``money_units(amount)``)."""
        self.contributions += sign
        for field, value in delta:
            # the fields of an activity first: most facts are activities
            if field == "activity":
                self._activities = _tally_add(self._activities, value, sign)
            elif field == "contact":
                self._contacts = _tally_add(self._contacts, value, sign)
            elif field == "revenue":
                units, exponent = value  # money_units(amount)
                self._add_revenue(units if sign > 0 else -units, exponent)
            elif field == "won":
                self.won += sign
            elif field == "cycle":  # the first cycle added is kept as given: its int shared, no copy
                cycle = self.cycle_micros
                self.cycle_micros = value if not cycle and sign > 0 else cycle + value * sign
            elif field == "won_customer":
                self._won_customers = _tally_add(self._won_customers, value, sign)
            elif field == "new_tier":
                self._new_by_tier = _tally_add(self._new_by_tier, value, sign)
            else:
                self._apply_rare(self._rare_counts(), field, value, sign)

    @staticmethod
    def _apply_rare(rare: _Rare, field: str, value: Any, sign: int) -> None:
        if field == "lost":
            rare.lost += sign
        elif field == "complaint":
            rare.complaints += sign
            rare.by_severity = _tally_add(rare.by_severity, value, sign)
        elif field == "resolution":
            rare.resolved += sign
            rare.resolution_micros += value * sign
        elif field == "campaign":
            rare.campaigns = _tally_add(rare.campaigns, value, sign)
        elif field == "training":
            rare.training_minutes += value * sign
        elif field == "survey":
            rare.survey_sum += value * sign
            rare.survey_count += sign
        else:  # pragma: no cover - a programming error, not input
            raise KeyError(field)

    def _add_counts(self, other: Bucket, sign: int) -> None:
        """Add ``sign`` times the other's counts and sums (its multisets and rarer aggregates apart)."""
        self.contributions += sign * other.contributions
        # the other's ints themselves when added to nothing (shared, not copied)
        self._add_revenue(other._revenue_units if sign > 0 else -other._revenue_units, other._revenue_exponent)
        self.won += sign * other.won
        cycle = self.cycle_micros
        self.cycle_micros = other.cycle_micros if not cycle and sign > 0 else cycle + sign * other.cycle_micros

    def add(self, other: Bucket, sign: int) -> None:
        """Add (sign +1) or remove (sign -1) everything ``other`` holds: a running sum of
        buckets (core/windows.py) moves by whole buckets."""
        self._add_counts(other, sign)
        self._won_customers = _tally_added(self._won_customers, other._won_customers, sign)
        self._contacts = _tally_added(self._contacts, other._contacts, sign)
        self._activities = _tally_added(self._activities, other._activities, sign)
        self._new_by_tier = _tally_added(self._new_by_tier, other._new_by_tier, sign)
        r = other._rare
        if r is None:
            return
        rare = self._rare_counts()
        rare.add_counts(r, sign)
        rare.by_severity = _tally_added(rare.by_severity, r.by_severity, sign)
        rare.campaigns = _tally_added(rare.campaigns, r.campaigns, sign)

    def activities_and_complaints(self) -> Bucket | None:
        """What activities and complaints contributed to this bucket but their contacts, as
        a bucket of its own (None: nothing): activity counts, campaigns, training, surveys,
        complaints and resolutions, one contribution per activity, complaint and resolution.
        No deal field."""
        rare = self._rare
        n = _tally_total(self._activities) + (rare.complaints + rare.resolved if rare is not None else 0)
        if not n:
            return None
        out = Bucket()
        out.contributions = n
        out._activities = _tally_copy(self._activities)
        if rare is not None and (rare.complaints or rare.resolved or rare.survey_count or rare.training_minutes
                                 or rare.campaigns is not None):
            part = out._rare = _Rare()
            part.add_counts(rare)
            part.lost = 0
            part.by_severity = _tally_copy(rare.by_severity)
            part.campaigns = _tally_copy(rare.campaigns)
        return out

    def value_json(self) -> dict[str, Any]:
        """A value of ``activities_and_complaints`` as JSON (the team stage's values to the
        company): its contributions, activity counts and rarer aggregates, zeros left out."""
        out: dict[str, Any] = {"n": self.contributions}
        if self._activities is not None:
            out["activities"] = dict(_tally_view(self._activities))
        rare = self._rare
        if rare is not None:
            for name in _VALUE_COUNTS:
                n = getattr(rare, name)
                if n:
                    out[name] = n
            for name in ("by_severity", "campaigns"):
                tally = getattr(rare, name)
                if tally is not None:
                    out[name] = dict(_tally_view(tally))
        return out

    @classmethod
    def from_value_json(cls, value: Mapping[str, Any]) -> Bucket:
        """The bucket ``value_json`` gave."""
        out = cls()
        out.contributions = value["n"]
        out._activities = _tally_packed(value.get("activities") or {})
        if any(name in value for name in _VALUE_RARE):
            rare = out._rare = _Rare()
            for name in _VALUE_COUNTS:
                setattr(rare, name, value.get(name, 0))
            rare.by_severity = _tally_packed(value.get("by_severity") or {})
            rare.campaigns = _tally_packed(value.get("campaigns") or {})
        return out

    @classmethod
    def summed(cls, buckets: list[Bucket]) -> Bucket:
        """The sum of several buckets, to read (a quarter's or a year's from its months):
        the figures of ``merged``, but a bucket alone, a multiset or the rarer aggregates
        only one of them holds are shared, not copied: read it, do not change it."""
        if len(buckets) == 1:
            return buckets[0]
        out = cls()
        for b in buckets:
            out._add_counts(b, 1)
        out._won_customers = _tally_sum([b._won_customers for b in buckets])
        out._contacts = _tally_sum([b._contacts for b in buckets])
        out._activities = _tally_sum([b._activities for b in buckets])
        out._new_by_tier = _tally_sum([b._new_by_tier for b in buckets])
        rares = [b._rare for b in buckets if b._rare is not None]
        if len(rares) == 1:
            out._rare = rares[0]
        elif rares:
            out._rare = rare = _Rare()
            for r in rares:
                rare.add_counts(r)
            rare.by_severity = _tally_sum([r.by_severity for r in rares])
            rare.campaigns = _tally_sum([r.campaigns for r in rares])
        return out

    @classmethod
    def merged(cls, buckets: list[Bucket]) -> Bucket:
        """One bucket holding the sum of several, built afresh (what a running sum of
        them equals; core/windows.py)."""
        out = cls()
        rare = _Rare()
        won_customers, contacts, activities = Counter(), Counter(), Counter()  # type: ignore[var-annotated]
        new_by_tier, by_severity, campaigns = Counter(), Counter(), Counter()  # type: ignore[var-annotated]
        for b in buckets:
            out._add_counts(b, 1)
            _tally_into(won_customers, b._won_customers)
            _tally_into(contacts, b._contacts)
            _tally_into(activities, b._activities)
            _tally_into(new_by_tier, b._new_by_tier)
            r = b._rare
            if r is not None:
                out._rare = rare  # only once one of them counts one (see _Rare)
                rare.add_counts(r)
                _tally_into(by_severity, r.by_severity)
                _tally_into(campaigns, r.campaigns)
        out._won_customers = _tally_packed(won_customers)
        out._contacts = _tally_packed(contacts)
        out._activities = _tally_packed(activities)
        out._new_by_tier = _tally_packed(new_by_tier)
        rare.by_severity = _tally_packed(by_severity)
        rare.campaigns = _tally_packed(campaigns)
        return out


def _tally_sum(tallies: list[Tally]) -> Tally:
    """The multiset holding every count of ``tallies`` (None: empty); one of them itself
    when the others are empty (shared: read it, do not change it)."""
    held = [tally for tally in tallies if tally is not None]
    if len(held) <= 1:
        return held[0] if held else None
    counts: dict[str, int] = {}  # a plain dict: a Counter's missing key costs a Python call
    get = counts.get
    for tally in held:
        if type(tally) is str:
            counts[tally] = get(tally, 0) + 1
            continue
        # a flat tuple (key, count, ...) or a Counter
        pairs: Iterable[tuple[Any, Any]] = zip(tally[::2], tally[1::2], strict=True) if type(tally) is tuple \
            else tally.items()  # type: ignore[union-attr]
        for key, n in pairs:
            counts[key] = get(key, 0) + n
    return _tally_packed(counts)


class BucketSum:
    """Many contributions of activities (``activity``, ``contact``, ``campaign``,
    ``training``, ``survey``), each added once, in plain counters, made into a ``Bucket``
    at the end: the bucket ``Bucket.apply`` of each would give, for a fraction of the
    cost when they are thousands (the what-if's load, core/whatif_loader.py)."""

    __slots__ = ("contributions", "activities", "contacts", "campaigns", "training_minutes", "survey_sum",
                 "survey_count")

    def __init__(self) -> None:
        self.contributions = 0
        self.activities: Counter[str] = Counter()
        self.contacts: Counter[str] = Counter()
        self.campaigns: Counter[str] = Counter()
        self.training_minutes = 0
        self.survey_sum = 0
        self.survey_count = 0

    def add(self, delta: tuple[tuple[str, Any], ...]) -> None:
        """Add one contribution (KeyError for a field no activity has: nothing added then)."""
        for field, _ in delta:
            if field not in _ACTIVITY_FIELDS:
                raise KeyError(field)
        self.contributions += 1
        for field, value in delta:
            if field == "activity":
                self.activities[value] += 1
            elif field == "contact":
                self.contacts[value] += 1
            elif field == "campaign":
                self.campaigns[value] += 1
            elif field == "training":
                self.training_minutes += value
            else:  # survey
                self.survey_sum += value
                self.survey_count += 1

    def bucket(self) -> Bucket:
        """The sum as a new bucket."""
        out = Bucket()
        out.contributions = self.contributions
        out._activities = _tally_packed(Counter(self.activities))
        out._contacts = _tally_packed(Counter(self.contacts))
        if self.campaigns or self.training_minutes or self.survey_count:
            rare = out._rare_counts()
            rare.campaigns = _tally_packed(Counter(self.campaigns))
            rare.training_minutes = self.training_minutes
            rare.survey_sum, rare.survey_count = self.survey_sum, self.survey_count
        return out


_ACTIVITY_FIELDS = frozenset({"activity", "contact", "campaign", "training", "survey"})

EMPTY = Bucket()

#: The key of a bucket: (scope, id, period label).
BucketKey = tuple[str, str, str]
_T = TypeVar("_T")


class BucketTable(Mapping[BucketKey, Bucket]):
    """Buckets by (scope, id, label), held as (scope, id) -> label -> Bucket.

    It reads like the flat dict it replaces; one dict per scope spares each bucket a key
    tuple and a slot of a dict of every bucket (~100 bytes). Writers use ``scopes``."""

    __slots__ = ("scopes",)

    def __init__(self) -> None:
        self.scopes: dict[tuple[str, str], dict[str, Bucket]] = {}

    def __getitem__(self, key: BucketKey) -> Bucket:
        scope, id, label = key
        return self.scopes[(scope, id)][label]

    @overload
    def get(self, key: BucketKey, /) -> Bucket | None: ...

    @overload
    def get(self, key: BucketKey, default: Bucket | _T, /) -> Bucket | _T: ...

    def get(self, key: BucketKey, default: object = None, /) -> object:
        scope, id, label = key
        labels = self.scopes.get((scope, id))
        return default if labels is None else labels.get(label, default)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 3:
            return False
        scope, id, label = key
        labels = self.scopes.get((scope, id))
        return labels is not None and label in labels

    def __iter__(self) -> Iterator[BucketKey]:
        for (scope, id), labels in self.scopes.items():
            for label in labels:
                yield scope, id, label

    def __len__(self) -> int:
        return sum(len(labels) for labels in self.scopes.values())
