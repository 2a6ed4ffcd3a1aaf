"""Which partitions of the team stage each fact goes to.

The team stage is keyed by team: partition ``partition_of(team_id)`` renders the team's
scorecards (``core.engine.team_partition``). A team's figures read its members' facts
as the effective-dated roster attributes them, and of every member what no team is
credited with: the month revenue (the new-hire ramp), reviews (review coverage), open
pipeline deals (the forecast credits the team the rep is in at ``as_of``), own targets
(member-summed targets) and roster entries (headcount, departures); contract §5, §12,
§13. A late roster entry moves a rep's history from one team to another. So a partition
gets:

- every fact of every rep ever in one of its teams (by the roster entries routed so
  far): deals and complaints any version of which was credited to the rep, activities,
  roster entries, rep targets, reviews and the rep's shares of split team targets;
- when a roster entry puts a rep in a team of a partition that had no team of the rep,
  the rep's facts so far (a catch-up: ``facts_of_rep``, the facts ``reps_named`` names
  the rep in) and the won deals of the
  customers they deal with. The entry carries the partitions it caught up
  (``_team_catch_up``, stored with it), so an entry routed again after a crash sends the
  catch-up again;
- of every deal of a customer that one of its reps ever dealt with, the won versions and
  those that replace a won one, as for the rep stage (``streams.fact_routes``: a
  customer's acquisition and win history are cross-rep);
- its teams' targets and engagement answers, and every period close.

The ``unassigned`` team (a rep's facts before its first roster entry) is no partition's:
every rep is in it until its first entry, so its partition would get nearly every fact.
Its figures stay with a stage that sees every fact.

Routing depends only on the facts stored before, whatever order they came in, so the
state is rebuilt from them (``load``) after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sales_scorecard.core.roster import UNASSIGNED
from sales_scorecard.schemas.fact_types import FACT_TYPES

from .fact_routes import PREVIOUS, REPLACES_WON, TEAM_CATCH_UP, Fact, FactRoutes, catch_ups, forwarded, partition_of


def team_forwarded(value: Fact) -> Fact:
    """The fact as the team stage gets it: no routing annotation, no replaced version
    (a team's figures read only the current one)."""
    fact = forwarded(value)
    return {k: v for k, v in fact.items() if k != PREVIOUS} if PREVIOUS in fact else fact


def _nothing(_: str) -> tuple[Fact, ...]:
    return ()


def reps_named(value: Fact) -> list[str]:
    """The reps a stored fact is one of, as a catch-up sends them: every rep any version of
    a deal, complaint or review was credited to (or about), an activity's, roster entry's
    and rep target's rep."""
    kind = value["type"]
    if kind in ("deal", "complaint", "review"):
        return list(value.get("_reps") or [value["subject_id" if kind == "review" else "rep_id"]])
    if kind == "target":
        return [value["id"]] if value["scope"] == "rep" else []
    fact_type = FACT_TYPES[kind]
    if fact_type.rep_field is None or fact_type.ledger:
        return []
    return [value[fact_type.rep_field]]


class TeamRoutes:
    """Sends every fact to the team-stage partitions that need it (see the module
    docstring); who deals with which customer is read from ``customers``, the rep
    stage's routes, which keep it."""

    def __init__(self, partitions: int, customers: FactRoutes) -> None:
        self.partitions = partitions
        self.customers = customers
        #: rep -> the partitions of every team (but ``unassigned``) the rep was ever in
        self._partitions_of: dict[str, frozenset[int]] = {}

    def partition(self, team_id: str) -> int | None:
        """The team-stage partition of a team (None: ``unassigned``, no partition's)."""
        return None if team_id == UNASSIGNED else partition_of(team_id, self.partitions)

    def of_rep(self, rep_id: str) -> frozenset[int]:
        """The partitions of every team the rep was ever in."""
        return self._partitions_of.get(rep_id, frozenset())

    # ------------------------------------------------------------------ state
    def load(self, value: Fact) -> None:
        """Take a stored roster entry into the rep's teams (rebuild after an assignment)."""
        if value["type"] == "roster":
            self._join(value["rep_id"], value["team_id"])

    def _join(self, rep_id: str, team_id: str) -> frozenset[int]:
        """Add a team to the rep's; returns the partitions that are new for the rep."""
        partition = self.partition(team_id)
        held = self.of_rep(rep_id)
        if partition is None or partition in held:
            return frozenset()
        self._partitions_of[rep_id] = held | {partition}
        return frozenset({partition})

    def annotate(self, value: Fact) -> Fact:
        """The value stored for a newly applied roster entry that puts its rep in a team
        of a partition new for the rep: the entry carries that partition, which the rep's
        facts so far are owed; other facts are returned as they are."""
        if value["type"] != "roster":
            return value
        new = self._join(value["rep_id"], value["team_id"])
        return {**value, TEAM_CATCH_UP: sorted(new)} if new else value

    # ------------------------------------------------------------------ routing
    def route(self, value: Fact, out: dict[int, list[Fact]], won_deals: Callable[[str], Iterable[Fact]],
              facts_of_rep: Callable[[str], Iterable[Fact]], repeated: bool = False) -> None:
        """Add ``value`` (as stored, annotations included) to the batch of every team-stage
        partition that needs it. ``won_deals(customer)``: a customer's currently won deals
        as stored; ``facts_of_rep(rep)``: every stored fact naming the rep (see the module
        docstring), for a catch-up; ``repeated``: ``value`` is routed again because a
        duplicate or stale version of it came."""
        kind = value["type"]
        parts: set[int] = set()
        if kind == "deal":
            reps = set(value.get("_reps") or [value["rep_id"]])
            customers = value.get("_customers") or [value["customer_id"]]
            if repeated or value["stage"] == "won" or value.get(REPLACES_WON, True):
                reps |= self.customers.dealing_with(customers)
            for rep in reps:
                parts |= self.of_rep(rep)
            for customer, catching_up in catch_ups(value, repeated).items():
                targets: set[int] = set()
                for rep in catching_up:
                    targets |= self.of_rep(rep)
                if targets:
                    self._send_won(customer, targets, out, won_deals, but=value["deal_id"])
        elif kind in ("complaint", "review"):  # every rep any version named
            for rep in value.get("_reps") or [value["rep_id" if kind == "complaint" else "subject_id"]]:
                parts |= self.of_rep(rep)
        elif kind == "roster":
            caught_up = value.get(TEAM_CATCH_UP)
            if caught_up:
                self._catch_up(value["rep_id"], set(caught_up), out, won_deals, facts_of_rep)
            parts = set(self.of_rep(value["rep_id"]))
        elif kind == "target":
            if value["scope"] == "rep":
                parts = set(self.of_rep(value["id"]))
            elif value["scope"] == "team" and (team := self.partition(value["id"])) is not None:
                parts = {team}
        elif kind == "engagement":
            team = self.partition(value["team_id"])
            parts = set() if team is None else {team}
        elif kind == "close_period":
            parts = set(range(self.partitions))
        elif (fact_type := FACT_TYPES.get(kind)) is not None and fact_type.ledger:
            parts = set()  # an appeal's adjustment: payroll only (contract §10)
        elif fact_type is not None and fact_type.rep_field is not None:
            parts = set(self.of_rep(value[fact_type.rep_field]))  # activity, review, split target
        else:
            raise ValueError(f"no team route for fact type {kind!r}")
        if parts:
            fact = team_forwarded(value)
            for p in sorted(parts):
                out.setdefault(p, []).append(fact)

    def bootstrap(self, values: Iterable[Fact], wanted: set[int], out: dict[int, list[Fact]]) -> None:
        """Add to the batches of the partitions in ``wanted`` every one of the stored facts
        ``values`` each needs: a partition not fed yet (its first start, or a
        deployment that starts running the team stage) gets everything routing each fact
        again would send it. Catch-ups are left out: the walk sends their facts anyway."""
        for value in values:
            routed: dict[int, list[Fact]] = {}
            if "_catch_up" in value or TEAM_CATCH_UP in value:
                value = {k: v for k, v in value.items() if k not in ("_catch_up", TEAM_CATCH_UP)}
            self.route(value, routed, _nothing, _nothing, repeated=True)
            for partition in wanted & routed.keys():
                out.setdefault(partition, []).extend(routed[partition])

    def _send_won(self, customer: str, targets: set[int], out: dict[int, list[Fact]],
                  won_deals: Callable[[str], Iterable[Fact]], but: str | None = None) -> None:
        """A customer's won deals (but ``but``) to each of ``targets``."""
        for won in won_deals(customer):
            if won["deal_id"] != but:
                fact = team_forwarded(won)
                for p in sorted(targets):
                    out.setdefault(p, []).append(fact)

    def _catch_up(self, rep_id: str, targets: set[int], out: dict[int, list[Fact]],
                  won_deals: Callable[[str], Iterable[Fact]], facts_of_rep: Callable[[str], Iterable[Fact]]) -> None:
        """The rep's facts so far, and the won deals of every customer of its deals, to
        each of ``targets``."""
        customers: set[str] = set()
        for value in facts_of_rep(rep_id):
            if value["type"] == "deal":
                customers.update(value.get("_customers") or [value["customer_id"]])
            fact = team_forwarded(value)
            for p in sorted(targets):
                out.setdefault(p, []).append(fact)
        for customer in sorted(customers):
            self._send_won(customer, targets, out, won_deals)
