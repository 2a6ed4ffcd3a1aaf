"""Who may open, resolve, withdraw and read a dispute (contract §10; docs/access-control.md).

Pure rules over an authenticated ``core.access.Principal`` and what a dispute says about
itself (``DisputeParties``); the web handlers (``streams.dispute_api``) ask them before
publishing or answering.

==========  =====================  ======================  ==========================  ====================
role        opens                  resolves                withdraws                   reads and lists
==========  =====================  ======================  ==========================  ====================
rep         for themselves only    never                   their own                   their own
manager     for reps whose         disputes of their       the ones they opened        their teams', and
            current team is one    teams (the rep's team                               the ones they opened
            of theirs              when it was opened)
payroll     no                     any                     no (it opens none)          all
admin       for any rep            no (an operator,        the ones they opened        all
                                   not a decider)
==========  =====================  ======================  ==========================  ====================

Whatever the role, nobody resolves their own dispute, and the rep a dispute is about may
read and withdraw it: a token is the rep when it is a rep token for them, when its holder's
``rep_id`` (a manager who also sells) is theirs, or when it is named after them. The
caller's id, written as ``opened_by``, ``resolved_by`` or ``withdrawn_by``, is ``actor_id``:
a rep token's rep id, any other token's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .access import Principal, is_id


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rule's answer: allowed, or refused with a one-line reason for the 403."""

    allowed: bool
    reason: str = ""


ALLOWED = Verdict(True)


def _refused(reason: str) -> Verdict:
    return Verdict(False, reason)


@dataclass(frozen=True, slots=True)
class DisputeParties:
    """Who a dispute concerns: its rep, the rep's team when it was opened (that team's manager
    decides, contract §10) and who opened it."""

    rep_id: str
    team_id: str | None
    opened_by: str | None

    @classmethod
    def of_event(cls, dispute: Mapping[str, Any]) -> DisputeParties:
        """The parties of a ``dispute`` event (``sales.appeals``, ``Dispute.to_event``): the
        opener is the ``by`` of the first history entry."""
        history = dispute.get("history") or ()
        opened_by = history[0].get("by") if history else None
        return cls(str(dispute["rep_id"]), dispute.get("team_id"), opened_by)


def actor_id(principal: Principal) -> str | None:
    """The id the caller signs appeal events with: a rep token's rep id, any other token's
    name; None when that name is not an id of the contract (such a token cannot sign)."""
    if principal.role == "rep":
        return principal.scope[0] if principal.scope else None
    return principal.name if is_id(principal.name) else None


def is_the_rep(principal: Principal, rep_id: str) -> bool:
    """Whether the caller is the rep ``rep_id``: their rep token, a token whose holder's
    ``rep_id`` it is, or a token named after them."""
    if principal.role == "rep":
        return principal.scope[:1] == (rep_id,)
    return rep_id in (principal.rep_id, principal.name)


def may_sign(principal: Principal) -> Verdict:
    """Whether the caller has an id to sign appeal events with (``actor_id``)."""
    if actor_id(principal) is None:
        return _refused(f"token {principal.name!r} cannot sign appeal events: its name is not an id "
                        "(1-64 of A-Z a-z 0-9 . _ : -)")
    return ALLOWED


def may_open(principal: Principal, rep_id: str, rep_team: str | None) -> Verdict:
    """Whether the caller may open a dispute for ``rep_id``, whose current team is ``rep_team``
    (None for a rep the roster does not know)."""
    signs = may_sign(principal)
    if not signs.allowed:
        return signs
    if principal.role == "admin" or is_the_rep(principal, rep_id):
        return ALLOWED
    if principal.role == "rep":
        return _refused("a rep opens disputes for themselves only")
    if principal.role == "manager":
        if rep_team is not None and rep_team in principal.scope:
            return ALLOWED
        return _refused("a manager opens disputes for the reps of their own teams only")
    return _refused(f"role {principal.role} does not open disputes (the rep or their manager does)")


def may_resolve(principal: Principal, parties: DisputeParties) -> Verdict:
    """Whether the caller may decide the dispute: the manager of the rep's team when it was
    opened, or payroll; never the rep themselves, whatever else their token may do."""
    signs = may_sign(principal)
    if not signs.allowed:
        return signs
    if is_the_rep(principal, parties.rep_id):
        return _refused("nobody decides their own dispute")
    if principal.role == "payroll":
        return ALLOWED
    if principal.role == "manager":
        if parties.team_id is not None and parties.team_id in principal.scope:
            return ALLOWED
        return _refused("only the manager of the rep's team (when the dispute was opened) or payroll decides")
    return _refused(f"role {principal.role} does not decide disputes (the rep's manager or payroll does)")


def may_withdraw(principal: Principal, parties: DisputeParties) -> Verdict:
    """Whether the caller may withdraw the dispute: the rep it is for, or whoever opened it
    (a manager who filed it for the rep); a decider cannot make a rep's appeal disappear."""
    signs = may_sign(principal)
    if not signs.allowed:
        return signs
    if is_the_rep(principal, parties.rep_id) or actor_id(principal) == parties.opened_by:
        return ALLOWED
    return _refused("only the rep or whoever opened the dispute withdraws it")


def may_read(principal: Principal, parties: DisputeParties) -> Verdict:
    """Whether the caller may read the dispute: payroll and admin all; a manager their teams'
    (the team when it was opened); anyone the disputes they are the rep of or opened."""
    if principal.role in ("payroll", "admin") or is_the_rep(principal, parties.rep_id):
        return ALLOWED
    if principal.role == "manager" and parties.team_id is not None and parties.team_id in principal.scope:
        return ALLOWED
    if parties.opened_by is not None and actor_id(principal) == parties.opened_by:
        return ALLOWED
    return _refused("this token may not read this dispute")


def may_list(principal: Principal, rep_id: str | None) -> Verdict:
    """Whether the caller may ask for the disputes of ``rep_id`` (None: every rep); the answer
    then holds only the disputes ``may_read`` allows. A rep asking for another rep is refused
    before any lookup, known rep or not."""
    if principal.role == "rep" and rep_id is not None and not is_the_rep(principal, rep_id):
        return _refused("a rep lists their own disputes only")
    return ALLOWED
