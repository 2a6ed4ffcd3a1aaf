"""The registry of input fact types: one entry per input ``type``.

Each entry says which record class holds the type, which input topic carries it, how
the record is keyed on that topic, under which key the aggregation stage keeps the
applied fact, and where it goes when the engine is rebuilt from those facts. Every
place that used to branch on the type (producers, the fact table, the rebuild) reads
this table instead.

One type is no input: ``appeal_adjustment``, the payroll adjustment an upheld appeal
orders (``core.disputes.AdjustmentRequest``), which the dispute stage sends on
``sales.facts`` so that the stage owning the payroll ledger keeps it with its facts and
hands it to the ledger again after a rebuild (contract §10). It has no input topic and
goes to the ledger, not to the engine. Nor is ``split_target``: a rep's shares of split
team targets (contract §12), computed by the org stage and sent to the rep's partition
of the rep stage, which applies them to its engine (``ScorecardEngine.apply_split_shares``).
Nor is ``team_fed``, a mark a team partition keeps with its facts once the org stage has
sent it every fact it needs (``streams.team_stage``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .records import RECORD_TYPES

Event = dict[str, Any]


@dataclass(frozen=True)
class FactType:
    """One input fact type."""

    name: str  #: the input ``type`` value
    topic: str | None  #: logical name of the input topic that carries it; None: sent by a stage
    input_key: Callable[[Event], str]  #: the record key on that topic (contract §2)
    fact_key: Callable[[Event], str]  #: the key of the applied fact in the aggregation's fact table
    #: Rebuild order: roster and targets first, so team attribution is right on the first
    #: try and a rebuild creates no transient keys (such as team "unassigned").
    rebuild_order: int
    #: applied by the payroll ledger (an appeal's adjustment), not by the engine
    ledger: bool = False
    #: computed by the org stage from other facts and applied by the engine as such
    #: (a rep's split targets, ``ScorecardEngine.apply_split_shares``)
    derived: bool = False
    #: the field naming the one rep whose rep stage partition needs the fact, for the
    #: types routed that simply (streams/fact_routes.py); None: routed by a rule of its own
    rep_field: str | None = None
    #: only team and company figures read it: no rep partition gets it
    org_only: bool = False
    #: fields no output may show, not even a dead letter (an engagement answer, contract §12)
    private: tuple[str, ...] = ()
    #: a mark a stage keeps with its facts, applied by no engine (``team_fed``)
    marker: bool = False

    @property
    def record(self) -> type:
        """The typed record class (schemas/records.py)."""
        return RECORD_TYPES[self.name]


#: The fact that carries an appeal's adjustment to the payroll ledger.
APPEAL_ADJUSTMENT = "appeal_adjustment"
#: The fact that carries a rep's shares of split team targets to its rep partition
#: (contract §12): ``{"type": "split_target", "rep_id", "shares": {period: money}}``,
#: every share the rep has, replacing what the partition held.
SPLIT_TARGET = "split_target"
#: The last fact of the org stage's answer to a team partition that asked for every fact
#: it needs (``streams.team_stage``): ``{"type": "team_fed", "partition": p}``, kept with
#: the partition's facts so that it never asks again.
TEAM_FED = "team_fed"


def _target_key(e: Event) -> str:
    return f"{e['scope']}:{e['id']}:{e['period']}"


#: The rebuild order of the facts that come in bulk (deals, complaints, activities): a
#: rebuild streams them from the table instead of holding them all.
BULK_REBUILD_ORDER = 2


def _review_key(e: Event) -> str:
    return f"{e['subject_id']}:{e['period']}"


def _engagement_key(e: Event) -> str:
    return f"{e['team_id']}:{e['period']}"


FACT_TYPES: dict[str, FactType] = {
    t.name: t
    for t in (
        FactType("roster", "sales.roster", lambda e: str(e["rep_id"]),
                 lambda e: "roster:" + e["event_id"], 0, rep_field="rep_id"),
        FactType("target", "sales.targets", _target_key, lambda e: "target:" + _target_key(e), 1),
        FactType("deal", "sales.deals", lambda e: str(e["deal_id"]), lambda e: "deal:" + e["deal_id"], 2),
        FactType("complaint", "sales.complaints", lambda e: str(e["complaint_id"]),
                 lambda e: "cmp:" + e["complaint_id"], 2),
        FactType("activity", "sales.activities", lambda e: str(e["rep_id"]),
                 lambda e: "act:" + e["event_id"], 2, rep_field="rep_id"),
        # Reviews and engagement answers (contract §12): the latest per review id, and per
        # respondent of a team and month, is the one kept.
        FactType("review", "sales.reviews", _review_key, lambda e: "review:" + e["review_id"], 2,
                 rep_field="subject_id"),
        FactType("engagement", "sales.reviews", _engagement_key,
                 lambda e: f"eng:{e['team_id']}:{e['period']}:{e['respondent_id']}", 2, org_only=True,
                 private=("respondent_id", "rating")),
        FactType("close_period", "sales.control", lambda e: str(e["period"]),
                 lambda e: "close:" + e["period"], 3),
        # After the close: the ledger gets it once the paid states are loaded.
        FactType(APPEAL_ADJUSTMENT, None, lambda e: str(e["dispute_id"]),
                 lambda e: "appeal:" + e["dispute_id"], 4, ledger=True, rep_field="rep_id"),
        FactType(SPLIT_TARGET, None, lambda e: str(e["rep_id"]), lambda e: "split:" + e["rep_id"], 1,
                 derived=True, rep_field="rep_id"),
        FactType(TEAM_FED, None, lambda e: str(e["partition"]), lambda e: "fed", 0, marker=True),
    )
}


def fact_type(event: Event) -> FactType:
    """The registry entry of an event's ``type``; KeyError names an unknown type."""
    kind = event.get("type")
    try:
        return FACT_TYPES[kind]  # type: ignore[index]  # a non-str type is unknown too
    except KeyError:
        raise KeyError(f"unknown input type {kind!r}") from None
