"""Who may open, resolve, withdraw and read a dispute (contract §10, docs/access-control.md):
every rule, allowed and refused, for every role."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sales_scorecard.core.access import Principal
from sales_scorecard.core.dispute_access import (
    DisputeParties,
    actor_id,
    is_the_rep,
    may_list,
    may_open,
    may_read,
    may_resolve,
    may_withdraw,
)
from sales_scorecard.core.disputes import DisputeBook, Placement
from sales_scorecard.schemas.records import DisputeOpenedEvent

RITA = Principal("rita", "rep", ("r1",))
ROB = Principal("rob", "rep", ("r2",))
MIA = Principal("mia", "manager", ("t1", "t3"))
MAX = Principal("max", "manager", ("t2",))
#: Lee is rep r1 in team t1 and also manages team t2 (a manager who sells).
LEE = Principal("lee", "manager", ("t2",), rep_id="r1")
FIN = Principal("fin", "payroll")
OPS = Principal("ops", "admin")
WHO = {"rita": RITA, "rob": ROB, "mia": MIA, "max": MAX, "lee": LEE, "fin": FIN, "ops": OPS}

#: (rep_id, rep_team now) -> who may open a dispute for that rep
OPEN_CASES = [
    (("r1", "t1"), {"rita", "mia", "lee", "ops"}),  # herself; her manager; Lee is r1; admin
    (("r2", "t1"), {"rob", "mia", "ops"}),  # Rita may not open for a teammate
    (("r4", "t2"), {"max", "lee", "ops"}),  # Lee manages t2
    (("r1", "t2"), {"rita", "max", "lee", "ops"}),  # r1 moved to t2: Mia no longer opens for her
    (("r9", None), {"ops"}),  # a rep the roster does not know: admin only (the stage dead-letters it)
]


@pytest.mark.parametrize("rep, allowed", OPEN_CASES, ids=[f"{r}-{t}" for (r, t), _ in OPEN_CASES])
def test_who_may_open(rep: tuple[str, str | None], allowed: set[str]) -> None:
    rep_id, team = rep
    for name, principal in WHO.items():
        verdict = may_open(principal, rep_id, team)
        assert verdict.allowed is (name in allowed), (name, rep)
        assert verdict.allowed or verdict.reason  # a refusal says why


def test_payroll_never_opens_and_says_who_does() -> None:
    verdict = may_open(FIN, "r1", "t1")
    assert not verdict.allowed and "rep or their manager" in verdict.reason


# parties: (rep_id, team when opened, opened_by)
D1 = DisputeParties("r1", "t1", "r1")  # Rita's, opened by herself
D2 = DisputeParties("r2", "t1", "mia")  # Rob's, opened by Mia for him
D4 = DisputeParties("r4", "t2", "r4")
D5 = DisputeParties("r1", "t2", "r1")  # r1's, opened while r1 sat in t2, the team Lee manages now
D6 = DisputeParties("r2", "t1", "ops")  # opened by admin

RESOLVE_CASES = [
    (D1, {"mia", "fin"}),  # never Rita; Lee is r1; admin does not decide
    (D2, {"mia", "fin"}),
    (D4, {"max", "lee", "fin"}),  # Lee manages t2 and may decide r4's dispute
    (D5, {"max", "fin"}),  # Lee manages t2 but is r1: never his own dispute
]


@pytest.mark.parametrize("parties, allowed", RESOLVE_CASES, ids=["D1", "D2", "D4", "D5"])
def test_who_may_resolve(parties: DisputeParties, allowed: set[str]) -> None:
    for name, principal in WHO.items():
        verdict = may_resolve(principal, parties)
        assert verdict.allowed is (name in allowed), (name, parties)
        assert verdict.allowed or verdict.reason


def test_the_rep_never_resolves_their_own_dispute_whatever_the_token() -> None:
    # Lee, manager of t1 and t2, and rep r1: the manager rule alone would let him decide.
    player_coach = Principal("lee", "manager", ("t1", "t2"), rep_id="r1")
    assert may_resolve(player_coach, D1) == may_resolve(player_coach, D5)
    assert not may_resolve(player_coach, D1).allowed
    assert may_resolve(player_coach, D1).reason == "nobody decides their own dispute"
    assert may_resolve(player_coach, D2).allowed  # Rob's dispute in his team: yes
    # A token named after the rep is the rep too, whatever its role.
    assert not may_resolve(Principal("r1", "manager", ("t1",)), D1).allowed
    assert not may_resolve(Principal("r1", "payroll"), D1).allowed
    assert may_resolve(Principal("r7", "payroll"), D1).allowed


def test_admin_does_not_decide() -> None:
    verdict = may_resolve(OPS, D2)
    assert not verdict.allowed and "manager or payroll" in verdict.reason


WITHDRAW_CASES = [
    (D1, {"rita", "lee"}),  # the rep (Lee is r1); not her manager, not payroll, not admin
    (D2, {"rob", "mia"}),  # the rep, or Mia who opened it for him
    (D6, {"rob", "ops"}),  # admin opened it
]


@pytest.mark.parametrize("parties, allowed", WITHDRAW_CASES, ids=["D1", "D2", "D6"])
def test_who_may_withdraw(parties: DisputeParties, allowed: set[str]) -> None:
    for name, principal in WHO.items():
        verdict = may_withdraw(principal, parties)
        assert verdict.allowed is (name in allowed), (name, parties)
        assert verdict.allowed or verdict.reason


READ_CASES = [
    (D1, {"rita", "mia", "lee", "fin", "ops"}),
    (D2, {"rob", "mia", "fin", "ops"}),
    (D4, {"max", "lee", "fin", "ops"}),
    (DisputeParties("r2", "t2", "mia"), {"rob", "max", "lee", "mia", "fin", "ops"}),  # Mia opened it
]


@pytest.mark.parametrize("parties, allowed", READ_CASES, ids=["D1", "D2", "D4", "opened-by-mia-in-t2"])
def test_who_may_read(parties: DisputeParties, allowed: set[str]) -> None:
    for name, principal in WHO.items():
        assert may_read(principal, parties).allowed is (name in allowed), (name, parties)


@pytest.mark.parametrize("principal, rep, allowed", [
    (RITA, None, True), (RITA, "r1", True), (RITA, "r2", False), (RITA, "r9", False),
    (MIA, None, True), (MIA, "r4", True),  # filtered by may_read afterwards
    (FIN, "r4", True), (OPS, None, True), (LEE, "r1", True),
])
def test_who_may_list(principal: Principal, rep: str | None, allowed: bool) -> None:
    assert may_list(principal, rep).allowed is allowed


def test_actor_id_is_the_rep_id_of_a_rep_and_the_name_of_anyone_else() -> None:
    assert actor_id(RITA) == "r1"
    assert actor_id(MIA) == "mia"
    assert actor_id(LEE) == "lee"
    assert actor_id(FIN) == "fin"
    unsigned = Principal("Ops team", "admin")  # a name that is not an id of the contract
    assert actor_id(unsigned) is None
    verdict = may_open(unsigned, "r1", "t1")
    assert not verdict.allowed and "not an id" in verdict.reason
    assert not may_resolve(Principal("Fin team", "payroll"), D1).allowed
    assert may_read(unsigned, D1).allowed  # reading signs nothing


def test_is_the_rep() -> None:
    assert is_the_rep(RITA, "r1") and not is_the_rep(RITA, "r2")
    assert is_the_rep(LEE, "r1") and not is_the_rep(LEE, "r2")
    assert is_the_rep(Principal("r2", "manager", ("t1",)), "r2")
    assert not is_the_rep(MIA, "r1")


def test_parties_of_a_dispute_event() -> None:
    book = DisputeBook(lambda rep, at: Placement("t1", "m1"))
    opened = DisputeOpenedEvent(event_id="e1", type="dispute_opened", occurred_at=datetime(2026, 8, 3, tzinfo=UTC),
                                dispute_id="d1", rep_id="r2", period="2026-07", subject_kind="commission",
                                claim="The July bonus is missing", opened_by="mia")
    book.apply(opened)
    dispute = book.get("d1")
    assert dispute is not None
    event = dispute.to_event("2026-08-03T00:00:00.000Z")
    assert DisputeParties.of_event(event) == DisputeParties("r2", "t1", "mia")
    assert DisputeParties.of_event({"rep_id": "r2", "team_id": None, "history": []}) == DisputeParties("r2", None,
                                                                                                        None)
