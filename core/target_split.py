"""The top-down split of a team's revenue target (目标分解, contract §12).

A team ``target`` event may carry ``split``: ``"equal"``, ``{"weights": {rep_id: w}}`` or
``"history"``. The team's target stays the event's amount. The members active at the
period's end without a revenue target of their own (given, or derived from their own
quarter, months or year, contract §3) share what the others' own targets leave, never
below 0. The pool is that rest rounded down to cents; each share is the pool times the
member's weight over the sharing members' total weight, rounded down to cents, and the
cents left go one each to the sharing members in ascending rep id order.

Decisions (contract §12): weights of members who do not share (not active at the end,
or with a target of their own) are ignored and the rest renormalised over the sharing
members; a sharing member absent from the weights has weight 0; when every sharing
member's weight is 0 (all-zero history, or weights naming none of them) the split is
equal. ``history`` weighs each member by their own revenue (rep scope, any team) over
the three months before the period's first month.

``TargetSplits`` keeps every split's shares, one team and period at a time, and says
which (rep, period) shares a recomputation changed. ``ShareBook`` reads them as a
target book of the rep scope, so a rep's month derives from its split quarter or year
exactly as an own target would (contract §3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Any

from . import labels as L
from .targets import TargetBook

CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class EqualSplit:
    """Every sharing member weighs 1."""

    needs_history = False

    def weights(self, sharing: Sequence[str], history: Mapping[str, Decimal]) -> dict[str, Decimal]:
        """The weight of each sharing member."""
        return dict.fromkeys(sharing, Decimal(1))

    def to_json(self) -> Any:
        """The ``split`` field as it arrived."""
        return "equal"


@dataclass(frozen=True, slots=True)
class HistorySplit:
    """Each sharing member weighs their revenue over the three months before the period."""

    needs_history = True

    def weights(self, sharing: Sequence[str], history: Mapping[str, Decimal]) -> dict[str, Decimal]:
        """The weight of each sharing member."""
        return {rep: history.get(rep, ZERO) for rep in sharing}

    def to_json(self) -> Any:
        """The ``split`` field as it arrived."""
        return "history"


@dataclass(frozen=True, slots=True)
class WeightedSplit:
    """Given weights; a sharing member the weights do not name weighs 0."""

    given: tuple[tuple[str, Decimal], ...]

    needs_history = False

    def weights(self, sharing: Sequence[str], history: Mapping[str, Decimal]) -> dict[str, Decimal]:
        """The weight of each sharing member."""
        given = dict(self.given)
        return {rep: given.get(rep, ZERO) for rep in sharing}

    def to_json(self) -> Any:
        """The ``split`` field as it arrived (weights as decimal strings)."""
        return {"weights": {rep: str(w) for rep, w in self.given}}


SplitRule = EqualSplit | HistorySplit | WeightedSplit

#: the named rules (the string forms of ``split``)
NAMED_RULES: dict[str, SplitRule] = {"equal": EqualSplit(), "history": HistorySplit()}


def parse_split(value: Any) -> SplitRule | None:
    """The rule of a validated ``split`` field (None when absent)."""
    if value is None:
        return None
    if isinstance(value, str):
        return NAMED_RULES[value]
    weights = value["weights"]
    return WeightedSplit(tuple(sorted((rep, Decimal(str(w))) for rep, w in weights.items())))


def history_months(period: str) -> list[str]:
    """The three months before a period's first month, oldest first."""
    first = L.months_of(period)[0]
    return [L.shift(first, -n) for n in (3, 2, 1)]


def divide(pool: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """``pool`` (whole cents) shared by weight: each share rounded down to cents, the cents
    left one each in ascending rep id order; equal when the weights sum to 0."""
    reps = sorted(weights)
    if not reps:
        return {}
    total = sum((weights[r] for r in reps), ZERO)
    exact = {r: Fraction(weights[r]) / Fraction(total) for r in reps} if total > 0 else \
        {r: Fraction(1, len(reps)) for r in reps}
    cents = int(pool / CENT)
    floors = {r: math.floor(cents * exact[r]) for r in reps}
    left = cents - sum(floors.values())
    for r in reps[:left]:
        floors[r] += 1
    return {r: Decimal(floors[r]) * CENT for r in reps}


def split_shares(amount: Decimal, rule: SplitRule, members: Sequence[str], own: Mapping[str, Decimal | None],
                 history: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The shares of the members without an own target (``own[rep]`` None) of a team
    target ``amount``: what the others' own targets leave, never below 0, by ``rule``."""
    sharing = sorted(rep for rep in members if own.get(rep) is None)
    taken = sum((v for v in own.values() if v is not None), ZERO)
    rest = max(ZERO, amount - taken)
    pool = rest.quantize(CENT, rounding=ROUND_FLOOR)
    return divide(pool, rule.weights(sharing, history))


class ShareBook(TargetBook):
    """The split shares read as rep-scope targets, derived like given ones (contract §3)."""

    def __init__(self, shares: Mapping[tuple[str, str], Decimal]) -> None:
        super().__init__()
        self._shares = shares

    def given(self, scope: str, id: str, period: str, field: str) -> Decimal | None:
        """A rep's split share of exactly ``period`` (revenue only)."""
        if scope != "rep" or field != "revenue":
            return None
        return self._shares.get((id, period))


class TargetSplits:
    """The shares of every split team target, by team and period and by rep and period."""

    def __init__(self) -> None:
        #: (team_id, period) -> rule, for team targets whose latest event carries a split
        self.rules: dict[tuple[str, str], SplitRule] = {}
        #: (team_id, period) -> rep_id -> share
        self._by_team: dict[tuple[str, str], dict[str, Decimal]] = {}
        #: (rep_id, period) -> share (a rep is active in one team at a period's end)
        self.shares: dict[tuple[str, str], Decimal] = {}
        #: rep_id -> period -> share (the same shares by rep)
        self._by_rep: dict[str, dict[str, Decimal]] = {}
        self.book = ShareBook(self.shares)

    def set_rule(self, team: str, period: str, rule: SplitRule | None) -> None:
        """The latest team target of (team, period) carries ``rule`` (None: no split)."""
        if rule is None:
            self.rules.pop((team, period), None)
        else:
            self.rules[(team, period)] = rule

    def put_team(self, team: str, period: str, shares: Mapping[str, Decimal]) -> set[tuple[str, str]]:
        """Replace the shares of one team target; the (rep, period) pairs whose share changed.
        A rep this target no longer names keeps the share another team's target of the
        period gives it (while teams are split again one by one after a transfer, a rep
        can be named by two)."""
        old = self._by_team.pop((team, period), {})
        if shares:
            self._by_team[(team, period)] = dict(shares)
        changed = set()
        for rep in old.keys() | shares.keys():
            share = shares[rep] if rep in shares else self._named_elsewhere(rep, period)
            if self.shares.get((rep, period)) != share:
                changed.add((rep, period))
                self._set(rep, period, share)
        return changed

    def _named_elsewhere(self, rep: str, period: str) -> Decimal | None:
        """The rep's share in another team's target of ``period`` (None: none names it)."""
        for (_, named_period), shares in self._by_team.items():
            if named_period == period and rep in shares:
                return shares[rep]
        return None

    def put_rep(self, rep: str, shares: Mapping[str, Decimal]) -> set[tuple[str, str]]:
        """Replace every share of one rep (as the org stage computed them); what changed."""
        old = self.of_rep(rep)
        changed = set()
        for period in old.keys() | shares.keys():
            if old.get(period) != shares.get(period):
                changed.add((rep, period))
                self._set(rep, period, shares.get(period))
        return changed

    def _set(self, rep: str, period: str, share: Decimal | None) -> None:
        self.book.changed()
        by_rep = self._by_rep.setdefault(rep, {})
        if share is None:
            self.shares.pop((rep, period), None)
            by_rep.pop(period, None)
            if not by_rep:
                del self._by_rep[rep]
        else:
            self.shares[(rep, period)] = by_rep[period] = share

    def of_rep(self, rep: str) -> dict[str, Decimal]:
        """Period -> share of one rep."""
        return dict(self._by_rep.get(rep, {}))

    def reps(self) -> set[str]:
        """Every rep with a share."""
        return set(self._by_rep)

    def resolve(self, rep: str, period: str) -> Decimal | None:
        """A rep's revenue target from the split shares, derived across periods (contract §3)."""
        if not self.shares:
            return None
        return self.book.resolve_own("rep", rep, period, "revenue")
