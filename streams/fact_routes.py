"""Which partitions of the rep stage each fact goes to (the org stage's routing).

The rep stage is keyed by rep: partition ``partition_of(rep_id)`` owns a rep's
scorecards, alerts and payroll. A rep partition needs every fact that can change its
reps' figures (the KPIs of contract §5):

- a rep's activities, roster entries, rep targets and reviews (contract §12; an
  engagement answer goes to no rep partition: only team and company figures read it); a
  review whose later version names another subject goes to every subject's partition
  (``_reps``);
- every version of a deal or complaint ever credited to one of its reps, so a
  reassignment retracts from the old rep's partition as well as crediting the new one;
- of every deal of a customer that one of its reps ever had a deal with, every won
  version and every version that replaces a won one, so the customer's acquisition (its
  earliest won deal, whoever won it) and its win history (repeat customers) are complete
  there; when a rep first deals with a customer, the customer's won deals so far are sent
  along (a catch-up). Other reps' versions that are not won and replace a version that
  was not won (an open deal moving through the pipeline, a lost or reversed deal opened
  again, a deal lost while open) change none of its reps' figures, so they are not sent:
  once every routed message has arrived, whatever such a partition holds of the deal is
  won exactly when the deal is, and then it holds the current version. A stored version
  routed again because a duplicate or stale version came (``repeated``) goes to every such
  partition: the message whose sends a crash lost comes again, and the version it owed a
  partition may since have been replaced by one that is not sent there. For the same
  reason it sends every customer's won deals to every rep of the deal again (the catch-up
  the lost message owed may have been carried by a version replaced since);
- every period close (all partitions), and the organisation's event clock;
- an appeal's adjustment (``appeal_adjustment``): the partition of its rep, whose ledger pays it;
- a rep's shares of split team targets (``split_target``, contract §12), computed by the
  org stage, which sees every member's roster, targets and revenue: the rep's partition.

The routing history is stored with the fact itself (``_reps``, ``_customers``,
``_catch_up`` and ``_replaces_won`` in the org stage's ``facts`` table), so a fact that
is applied again after a crash (a duplicate or a stale version) routes the stored version
to every partition any earlier version went to, and nothing a crash interrupted is lost.
Sending a fact twice is harmless: each rep partition gates versions and duplicates like
the whole engine does.

A deal version that moves the deal to another rep travels with the version it replaces
(``_previous``): the new rep's partition may never have seen the deal, and the payroll
adjustment must still say ``reassignment`` (``RepPartitionStage`` applies the previous
version first).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from kafka.partitioner.default import murmur2

from sales_scorecard.schemas.fact_types import FACT_TYPES

Fact = dict[str, Any]
#: whether a deal version replaces a won one; a deal stored without it (before versions
#: carried it) is routed as if it did
REPLACES_WON = "_replaces_won"
#: the partitions of the team stage a roster entry caught its rep's facts up to
#: (``streams.team_routes``)
TEAM_CATCH_UP = "_team_catch_up"
#: the annotations the org stage keeps with a fact (never forwarded)
ANNOTATIONS = frozenset(("_reps", "_customers", "_catch_up", REPLACES_WON, TEAM_CATCH_UP))
#: the version a reassigned deal replaces (kept and forwarded)
PREVIOUS = "_previous"


#: Reps whose partition ``partition_of`` keeps: kafka-python's murmur2 is pure Python
#: (about 2.5 µs a call), and the org stage routes every fact by its rep.
PARTITIONS_KEPT = 1 << 16


@functools.lru_cache(maxsize=PARTITIONS_KEPT)
def partition_of(rep_id: str, partitions: int) -> int:
    """The rep stage partition of a rep: Kafka's default partitioner on the rep id, the
    one Faust's router uses for a table keyed by rep id (web requests go there)."""
    return (murmur2(rep_id.encode()) & 0x7FFFFFFF) % partitions


def catch_ups(value: Fact, repeated: bool) -> dict[str, list[str]]:
    """A stored deal version's catch-ups: customer -> the reps owed its won deals so far.
    Routed again (``repeated``), every rep of the deal is owed every customer's: the
    version that carried a catch-up may have been replaced, within the message whose sends
    a crash lost, by one that carries none."""
    catch_up: dict[str, list[str]] = value.get("_catch_up") or {}
    if not repeated:
        return catch_up
    reps = value.get("_reps") or [value["rep_id"]]
    return {customer: sorted(set(catch_up.get(customer, ())) | set(reps))
            for customer in value.get("_customers") or [value["customer_id"]]}


def forwarded(value: Fact) -> Fact:
    """The fact as the rep stage gets it: without the org stage's annotations."""
    if ANNOTATIONS.isdisjoint(value):  # in C: a fact without any is most facts
        return value
    return {k: v for k, v in value.items() if k not in ANNOTATIONS}


class FactRoutes:
    """Annotates deals and complaints with their routing history and sends every fact to
    the rep partitions that need it (see the module docstring)."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        #: customer -> every rep ever credited a version of one of its deals
        self.interest: dict[str, set[str]] = {}

    def partition(self, rep_id: str) -> int:
        """The rep stage partition of ``rep_id``."""
        return partition_of(rep_id, self.partitions)

    # ------------------------------------------------------------------ state
    def load(self, value: Fact) -> None:
        """Take a stored fact into the customer interest (rebuild after an assignment)."""
        if value["type"] == "deal":
            self._interest_in(value.get("_customers") or [value["customer_id"]],
                              value.get("_reps") or [value["rep_id"]])

    def dealing_with(self, customers: Iterable[str]) -> set[str]:
        """Every rep ever credited a version of a deal of one of ``customers``."""
        out: set[str] = set()
        for customer in customers:
            out |= self.interest.get(customer, set())
        return out

    def _interest_in(self, customers: Iterable[str], reps: Iterable[str]) -> dict[str, list[str]]:
        """Record that ``reps`` deal with ``customers``; returns the pairs that are new."""
        new: dict[str, list[str]] = {}
        reps = list(reps)
        for customer in customers:
            known = self.interest.setdefault(customer, set())
            for rep in reps:
                if rep not in known:
                    known.add(rep)
                    new.setdefault(customer, []).append(rep)
        return new

    def annotate(self, payload: Fact, stored: Fact | None) -> Fact:
        """The value the org stage stores for a newly applied fact: a deal or complaint
        carries every rep (and, for deals, customer) any of its versions was credited to;
        a deal carries whether the version it replaces was won; a deal that makes a rep
        deal with a customer for the first time carries the catch-up it owes that rep."""
        kind = payload["type"]
        if kind == "review":
            # a later version may name another subject: it goes to every subject's partition
            subjects = set(stored.get("_reps") or [stored["subject_id"]]) if stored else set()
            subjects.add(payload["subject_id"])
            return {**payload, "_reps": sorted(subjects)} if len(subjects) > 1 else payload
        if kind not in ("deal", "complaint"):
            return payload
        reps = set(stored.get("_reps") or [stored["rep_id"]]) if stored else set()
        reps.add(payload["rep_id"])
        value = {**payload, "_reps": sorted(reps)}
        if kind == "deal":
            if stored is not None and stored["rep_id"] != payload["rep_id"]:
                value[PREVIOUS] = {k: v for k, v in forwarded(stored).items() if k != PREVIOUS}
            value[REPLACES_WON] = stored is not None and stored["stage"] == "won"
            customers = set(stored.get("_customers") or [stored["customer_id"]]) if stored else set()
            customers.add(payload["customer_id"])
            value["_customers"] = sorted(customers)
            catch_up = self._interest_in(value["_customers"], value["_reps"])
            if catch_up:
                value["_catch_up"] = {c: sorted(reps) for c, reps in catch_up.items()}
        return value

    # ------------------------------------------------------------------ routing
    def route(self, value: Fact, out: dict[int, list[Fact]], won_deals: Callable[[str], Iterable[Fact]],
              repeated: bool = False) -> None:
        """Add ``value`` (as stored, annotations included) to the batch of every rep
        partition that needs it; ``won_deals(customer)`` gives a customer's currently won
        deals as stored, for the catch-up; ``repeated``: ``value`` is routed again because
        a duplicate or stale version of it came (a deal then goes to every partition
        dealing with its customers, whether or not it replaces a win)."""
        kind = value["type"]
        fact = forwarded(value)
        parts: set[int]
        if kind == "deal":
            reps = set(value.get("_reps") or [value["rep_id"]])
            if repeated or value["stage"] == "won" or value.get(REPLACES_WON, True):
                reps |= self.dealing_with(value.get("_customers") or [value["customer_id"]])
            parts = {self.partition(rep) for rep in reps}
            for customer, catching_up in catch_ups(value, repeated).items():
                targets = {self.partition(rep) for rep in catching_up}
                for won in won_deals(customer):
                    if won["deal_id"] != value["deal_id"]:
                        for p in targets:
                            out.setdefault(p, []).append(forwarded(won))
        elif kind == "complaint":
            parts = {self.partition(rep) for rep in value.get("_reps") or [value["rep_id"]]}
        elif kind == "review":
            parts = {self.partition(rep) for rep in value.get("_reps") or [value["subject_id"]]}
        elif (fact_type := FACT_TYPES.get(kind)) is not None and fact_type.rep_field is not None:
            # activity, roster, review, appeal adjustment, split target
            parts = {self.partition(value[fact_type.rep_field])}
        elif fact_type is not None and fact_type.org_only:
            parts = set()  # engagement answers: team and company figures only (contract §12)
        elif kind == "target":
            parts = {self.partition(value["id"])} if value["scope"] == "rep" else set()
        elif kind == "close_period":
            parts = set(range(self.partitions))
        else:
            raise ValueError(f"no route for fact type {kind!r}")
        for p in sorted(parts):
            out.setdefault(p, []).append(fact)
