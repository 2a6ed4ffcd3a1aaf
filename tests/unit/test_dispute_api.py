"""The appeals web API without a web server or a broker (contract §10, docs/web-api.md):
``DisputeApi`` over a dict of served disputes and a list standing in for ``sales.disputes``.

``Desk.process`` plays the dispute stage: it validates what was published, applies it to a
``DisputeBook`` and serves the new state, so a test can POST, process and GET.
Rita is rep r1 and Rob rep r2, both in team t1 (manager Mia, roster manager id m-1); Rex is
rep r4 in team t2 (Max). The clock stands at 2026-08-03 09:00 UTC.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from sales_scorecard.core.access import Principal
from sales_scorecard.core.disputes import Applied, DisputeBook, Placement
from sales_scorecard.schemas.contracts import DISPUTES_TOPIC
from sales_scorecard.schemas.records import dispute_record_from_event
from sales_scorecard.schemas.validation import Accepted, DisputeValidator
from sales_scorecard.streams.dispute_api import Answer, DisputeApi

RITA = Principal("rita", "rep", ("r1",))
ROB = Principal("rob", "rep", ("r2",))
MIA = Principal("mia", "manager", ("t1",))
MAX = Principal("max", "manager", ("t2",))
FIN = Principal("fin", "payroll")
OPS = Principal("ops", "admin")
TEAMS = {"r1": "t1", "r2": "t1", "r4": "t2"}
NOW = datetime(2026, 8, 3, 9, 0, tzinfo=UTC)
OPEN_BODY = {"rep_id": "r1", "period": "2026-07", "subject_kind": "deal", "subject_ref": "D7-000123",
             "claim": "I closed D7-000123 on 14 July; it is credited to r2."}


def run(coro: Coroutine[Any, Any, Answer]) -> Answer:
    return asyncio.run(coro)


def body(value: Any) -> bytes:
    return orjson.dumps(value)


class Desk:
    """The API with its injected parts: the published records, the served view and a book
    that turns the one into the other (the dispute stage's job)."""

    def __init__(self, fail_publish: bool = False) -> None:
        self.published: list[tuple[str, bytes]] = []
        self.served: dict[str, dict[str, Any]] = {}
        self.book = DisputeBook(lambda rep, at: Placement(TEAMS[rep], "m-1") if rep in TEAMS else None)
        self.fail_publish = fail_publish
        self.processed = 0
        ids = (f"dsp-{n}" for n in itertools.count(1))
        events = (f"web-{n}" for n in itertools.count(1))

        async def publish(key: str, value: bytes) -> None:
            if self.fail_publish:
                raise ConnectionError("broker gone")
            self.published.append((key, value))

        self.api = DisputeApi(publish, self.served, TEAMS.get, clock=lambda: NOW,
                              dispute_ids=lambda: next(ids), event_ids=lambda: next(events))

    def process(self) -> None:
        """Apply what was published since the last call, as the dispute stage would."""
        validator = DisputeValidator()
        for key, value in self.published[self.processed:]:
            checked = validator.validate(DISPUTES_TOPIC, value)
            assert isinstance(checked, Accepted), checked
            outcome = self.book.apply(dispute_record_from_event(checked.event))
            assert isinstance(outcome, Applied), outcome
            assert key == outcome.dispute.dispute_id
            self.served[key] = outcome.dispute.to_event("2026-08-03T09:00:00.100Z")
        self.processed = len(self.published)

    def opened(self, by: Principal = RITA, **fields: Any) -> str:
        """Open a dispute through the API and process it; its id."""
        answer = run(self.api.open(by, body({**OPEN_BODY, **fields})))
        assert answer.status == 202, answer
        self.process()
        return answer.body["dispute_id"]

    def last_event(self) -> dict[str, Any]:
        return orjson.loads(self.published[-1][1])


# -- open -------------------------------------------------------------------------------
def test_a_rep_opens_a_dispute_for_herself() -> None:
    desk = Desk()
    answer = run(desk.api.open(RITA, body(OPEN_BODY)))
    assert answer == Answer(202, {"dispute_id": "dsp-1", "event_id": "web-1", "status": "accepted"},
                            (("Location", "/api/disputes/dsp-1"),))
    assert [key for key, _ in desk.published] == ["dsp-1"]
    assert desk.last_event() == {"event_id": "web-1", "type": "dispute_opened", "schema_version": 1,
                                 "occurred_at": "2026-08-03T09:00:00.000Z", "dispute_id": "dsp-1", **OPEN_BODY,
                                 "opened_by": "r1"}
    desk.process()
    served = desk.api.get(RITA, "dsp-1")
    assert served.status == 200
    assert (served.body["state"], served.body["rep_id"], served.body["team_id"]) == ("open", "r1", "t1")
    assert [(h["type"], h["by"]) for h in served.body["history"]] == [("dispute_opened", "r1")]


@pytest.mark.parametrize("who, rep, status, by", [
    (MIA, "r2", 202, "mia"),  # a manager for a rep of her team
    (OPS, "r4", 202, "ops"),  # admin for anyone
    (OPS, "r9", 202, "ops"),  # even a rep the roster does not know (the stage dead-letters it)
    (ROB, "r1", 403, None),  # a rep for someone else
    (MAX, "r1", 403, None),  # a manager of another team
    (MIA, "r9", 403, None),  # a manager, an unknown rep
    (FIN, "r1", 403, None),  # payroll decides, it does not open
])
def test_who_may_open_through_the_api(who: Principal, rep: str, status: int, by: str | None) -> None:
    desk = Desk()
    answer = run(desk.api.open(who, body({**OPEN_BODY, "rep_id": rep})))
    assert answer.status == status, answer
    if status == 202:
        assert desk.last_event()["opened_by"] == by and desk.last_event()["rep_id"] == rep
    else:
        assert set(answer.body) == {"error"} and answer.body["error"] and desk.published == []


def test_no_caller_is_401_with_the_challenge() -> None:
    desk = Desk()
    for answer in (run(desk.api.open(None, body(OPEN_BODY))), run(desk.api.resolve(None, "dsp-1", b"{}")),
                   run(desk.api.withdraw(None, "dsp-1", b"")), desk.api.get(None, "dsp-1"), desk.api.list(None)):
        assert answer.status == 401
        assert dict(answer.headers) == {"WWW-Authenticate": 'Bearer realm="sales-scorecard"'}
    assert desk.published == []


@pytest.mark.parametrize("raw, message", [
    (b"", "the body must be a JSON object with rep_id, period, subject_kind, subject_ref, claim"),
    (b"{not json", "the body is not JSON"),
    (b"[1, 2]", "the body must be a JSON object"),
    (body({**OPEN_BODY, "opened_by": "r2"}), "opened_by: set by the server"),
    (body({**OPEN_BODY, "event_id": "mine", "dispute_id": "d1"}), "dispute_id, event_id: set by the server"),
    (body({**OPEN_BODY, "subject": "deal"}), "unknown field(s) subject; expected rep_id, period"),
    (body({k: v for k, v in OPEN_BODY.items() if k != "claim"}), "$.claim: required field is missing"),
    (body({**OPEN_BODY, "claim": "   "}), "$.claim"),
    (body({**OPEN_BODY, "claim": "x" * 2001}), "$.claim"),
    (body({**OPEN_BODY, "period": "2026-13"}), "$.period"),
    (body({**OPEN_BODY, "subject_kind": "mood"}), "$.subject_kind"),
    (body({**OPEN_BODY, "subject_ref": None}), "subject_ref"),  # a deal dispute names the deal
    (body({**OPEN_BODY, "rep_id": "r 1"}), "$.rep_id"),
])
def test_an_invalid_body_is_a_one_line_400_and_publishes_nothing(raw: bytes, message: str) -> None:
    desk = Desk()
    answer = run(desk.api.open(RITA, raw))
    assert answer.status == 400, answer
    assert message in answer.body["error"] and "\n" not in answer.body["error"]
    assert desk.published == []


def test_a_subject_ref_is_optional_for_a_commission_dispute() -> None:
    desk = Desk()
    fields = {"rep_id": "r1", "period": "2026-07", "subject_kind": "commission", "claim": "The July rate is 3%."}
    assert run(desk.api.open(RITA, body(fields))).status == 202
    assert "subject_ref" not in desk.last_event()


def test_a_failed_publish_is_503_naming_the_dispute_to_check() -> None:
    desk = Desk(fail_publish=True)
    answer = run(desk.api.open(RITA, body(OPEN_BODY)))
    assert answer == Answer(503, {"error": "the event for dispute dsp-1 was not confirmed by the broker: check "
                                           "GET /api/disputes/dsp-1 in a moment, then try again"})


# -- resolve and withdraw ------------------------------------------------------------------
@pytest.mark.parametrize("who, status", [
    (MIA, 202), (FIN, 202),  # the rep's manager, payroll
    (RITA, 403), (ROB, 403), (MAX, 403), (OPS, 403),  # the rep, another rep, another team's manager, admin
    (Principal("lee", "manager", ("t1",), rep_id="r1"), 403),  # Mia's team, but Lee is r1 himself
])
def test_who_may_resolve_through_the_api(who: Principal, status: int) -> None:
    desk = Desk()
    dispute_id = desk.opened()
    answer = run(desk.api.resolve(who, dispute_id, body({"decision": "upheld", "resolution": "Re-credited to r1.",
                                                         "adjustment_amount": "1200.50"})))
    assert answer.status == status, answer
    assert len(desk.published) == (2 if status == 202 else 1)
    if status == 202:
        assert desk.last_event() == {"event_id": "web-2", "type": "dispute_resolved", "schema_version": 1,
                                     "occurred_at": "2026-08-03T09:00:00.000Z", "dispute_id": dispute_id,
                                     "decision": "upheld", "resolution": "Re-credited to r1.",
                                     "adjustment_amount": "1200.50", "resolved_by": who.name}
        desk.process()
        served = desk.api.get(RITA, dispute_id).body
        assert (served["state"], served["decision"], served["adjustment_amount"]) == ("resolved", "upheld", "1200.50")
        assert served["adjustment_ids"] == [f"adj:appeal:{dispute_id}"]


def test_resolve_checks_the_id_then_the_role_then_the_state_then_the_body() -> None:
    desk = Desk()
    assert run(desk.api.resolve(MIA, "dsp-404", b"")).status == 404
    dispute_id = desk.opened()
    assert run(desk.api.resolve(RITA, dispute_id, b"not json")).status == 403  # the role before the body
    bad = run(desk.api.resolve(MIA, dispute_id, body({"decision": "rejected", "resolution": "No.",
                                                      "adjustment_amount": "10.00"})))
    assert bad.status == 400 and "adjustment_amount" in bad.body["error"]  # a rejection never pays
    number = run(desk.api.resolve(MIA, dispute_id, body({"decision": "upheld", "resolution": "Yes.",
                                                         "adjustment_amount": 10.5})))
    assert number.status == 400 and "money must be a decimal string" in number.body["error"]
    signer = run(desk.api.resolve(MIA, dispute_id, body({"decision": "upheld", "resolution": "Yes.",
                                                         "resolved_by": "fin"})))
    assert signer.status == 400 and "resolved_by: set by the server" in signer.body["error"]
    negative = run(desk.api.resolve(FIN, dispute_id, body({"decision": "partially_upheld", "resolution": "Overpaid.",
                                                           "adjustment_amount": "-120.00"})))
    assert negative.status == 202
    desk.process()
    again = run(desk.api.resolve(MIA, dispute_id, body({"decision": "rejected", "resolution": "No."})))
    assert again.status == 409 and "already resolved" in again.body["error"]
    withdrawn = run(desk.api.withdraw(RITA, dispute_id, b""))
    assert withdrawn.status == 409
    assert len(desk.published) == 2  # the opening and the one decision


@pytest.mark.parametrize("who, opener, status", [
    (RITA, RITA, 202),  # the rep withdraws her own
    (MIA, MIA, 202),  # the manager who filed it for her
    (RITA, MIA, 202),  # the rep, though her manager filed it
    (MIA, RITA, 403),  # her manager, who did not file it, decides instead
    (FIN, RITA, 403), (OPS, RITA, 403), (ROB, RITA, 403),
])
def test_who_may_withdraw_through_the_api(who: Principal, opener: Principal, status: int) -> None:
    desk = Desk()
    dispute_id = desk.opened(by=opener)
    answer = run(desk.api.withdraw(who, dispute_id, b"{}"))
    assert answer.status == status, answer
    if status == 202:
        assert desk.last_event()["withdrawn_by"] == (who.scope[0] if who.role == "rep" else who.name)
        desk.process()
        assert desk.api.get(RITA, dispute_id).body["state"] == "withdrawn"


def test_withdraw_takes_no_fields() -> None:
    desk = Desk()
    dispute_id = desk.opened()
    answer = run(desk.api.withdraw(RITA, dispute_id, body({"reason": "sorted it out"})))
    assert answer.status == 400 and answer.body["error"] == "unknown field(s) reason; expected no fields"


# -- read ----------------------------------------------------------------------------------
def test_read_one() -> None:
    desk = Desk()
    dispute_id = desk.opened()
    assert desk.api.get(RITA, "dsp-404").status == 404
    assert "served once it has been processed" in desk.api.get(RITA, "dsp-404").body["error"]
    for who, status in ((RITA, 200), (MIA, 200), (FIN, 200), (OPS, 200), (ROB, 403), (MAX, 403)):
        assert desk.api.get(who, dispute_id).status == status, who
    assert desk.api.get(RITA, dispute_id).body == desk.served[dispute_id]


def test_list_filters_by_rep_state_and_what_the_caller_may_read() -> None:
    desk = Desk()
    first = desk.opened(RITA)
    second = desk.opened(ROB, rep_id="r2")
    third = desk.opened(OPS, rep_id="r4")
    assert run(desk.api.withdraw(ROB, second, b"")).status == 202
    desk.process()

    def ids(answer: Answer) -> list[str]:
        assert answer.status == 200, answer
        assert answer.body["count"] == len(answer.body["disputes"])
        return [d["dispute_id"] for d in answer.body["disputes"]]

    assert ids(desk.api.list(FIN)) == [first, second, third]
    assert ids(desk.api.list(OPS, state="open")) == [first, third]
    assert ids(desk.api.list(MIA)) == [first, second]
    assert ids(desk.api.list(MIA, rep="r4")) == []  # another team's rep: nothing, not an error
    assert ids(desk.api.list(MAX)) == [third]
    assert ids(desk.api.list(RITA)) == [first]
    assert ids(desk.api.list(RITA, rep="r1", state="withdrawn")) == []
    assert ids(desk.api.list(ROB, state="withdrawn")) == [second]
    assert desk.api.list(RITA, rep="r2").status == 403  # asked before any lookup
    assert desk.api.list(RITA, rep="r9").status == 403
    assert desk.api.list(FIN, state="closed").body == {"error": "state must be one of open, resolved, withdrawn, "
                                                                "got 'closed'"}
    assert desk.api.list(FIN, rep="r 1").status == 400
