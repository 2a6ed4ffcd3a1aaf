"""The appeals web API (contract §10, docs/web-api.md), free of Faust and aiohttp.

``DisputeApi`` answers the four routes of the appeals, plus withdraw, as ``Answer``s
(status, JSON body, headers); ``streams.dispute_web`` adapts them to aiohttp. What it needs
is injected, so a unit test drives it with a dict and a list:

- ``publish(key, value)``: a coroutine that sends one record to ``sales.disputes`` (key the
  ``dispute_id``, value the event's JSON bytes) and returns once the broker has it;
- ``disputes``: a read-only mapping ``dispute_id -> dispute event`` (the ``dispute`` record of
  ``sales.appeals``, ``core.disputes.Dispute.to_event``), e.g. a table over that topic;
- ``team_of(rep_id)``: the rep's current team (the roster at the engine clock), None when unknown.

A POST builds the input event from the body and the caller: the server sets ``event_id``,
``type``, ``occurred_at``, ``dispute_id`` (a new one, or the path's) and the ``*_by`` field
(``core.dispute_access.actor_id``); a body that sets one of them is refused. The event is
checked with ``DisputeValidator``, published, and answered 202 with the id: the dispute's
state is served once the dispute stage has processed the event. Checks, first failure wins:

    open:              401 caller → 400 body → 403 role → 503 send not confirmed → 202
    resolve, withdraw: 401 caller → 404 id → 403 role → 409 already final → 400 body → 503 → 202
    read one:          401 caller → 404 id → 403 role → 200
    list:              401 caller → 400 filters → 403 (a rep asking for another rep) → 200

A resolve or withdraw of an id not served yet is 404 (the role rule needs the dispute's rep
and team). 409 uses the served state, which can only lag: a final state never changes.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from sales_scorecard.core.access import REALM, Principal, is_id
from sales_scorecard.core.dispute_access import (
    DisputeParties,
    Verdict,
    actor_id,
    may_list,
    may_open,
    may_read,
    may_resolve,
    may_sign,
    may_withdraw,
)
from sales_scorecard.core.disputes import DisputeState
from sales_scorecard.core.periods import format_timestamp
from sales_scorecard.schemas.contracts import DISPUTES_TOPIC
from sales_scorecard.schemas.validation import Accepted, DisputeValidator

log = logging.getLogger(__name__)

#: Sends one record to ``sales.disputes``: (key = dispute_id, value = the event's JSON bytes).
Publish = Callable[[str, bytes], Awaitable[None]]
#: The rep's current team, None for a rep the roster does not know.
TeamOf = Callable[[str], str | None]

#: Fields a caller writes, per input type; the server sets every other field of the event.
BODY_FIELDS: dict[str, tuple[str, ...]] = {
    "dispute_opened": ("rep_id", "period", "subject_kind", "subject_ref", "claim"),
    "dispute_resolved": ("decision", "resolution", "adjustment_amount"),
    "dispute_withdrawn": (),
}
#: The field naming the caller, per input type.
SIGNER_FIELD = {"dispute_opened": "opened_by", "dispute_resolved": "resolved_by", "dispute_withdrawn": "withdrawn_by"}
STATES = tuple(state.value for state in DisputeState)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a handler answers: the HTTP status, the JSON body and any extra headers."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


def _error(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    return Answer(status, {"error": message}, headers)


UNAUTHENTICATED = _error(401, "authentication required: send Authorization: Bearer <token>",
                         (("WWW-Authenticate", REALM),))


def _forbidden(verdict: Verdict) -> Answer:
    return _error(403, verdict.reason)


def new_dispute_id() -> str:
    """A fresh, unguessable dispute id (``dsp-`` and 20 hex digits)."""
    return "dsp-" + secrets.token_hex(10)


def new_event_id() -> str:
    """A fresh event id for an input event sent by the web API."""
    return f"web-{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class _Body:
    """A request body reduced to the caller's fields, or the 400 that says why not."""

    fields: dict[str, Any]
    problem: str | None = None


def _parse_body(raw: bytes, kind: str) -> _Body:
    """The caller's fields of a JSON-object body (an empty body is ``{}`` for withdraw only)."""
    allowed = BODY_FIELDS[kind]
    if not raw.strip():
        if allowed:
            return _Body({}, "the body must be a JSON object with " + ", ".join(allowed))
        return _Body({})
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _Body({}, "the body is not JSON")
    if not isinstance(decoded, dict):
        return _Body({}, "the body must be a JSON object")
    server_set = sorted(set(decoded) & {"event_id", "type", "schema_version", "occurred_at", "dispute_id",
                                        *SIGNER_FIELD.values()})
    if server_set:
        return _Body({}, f"{', '.join(server_set)}: set by the server (from the path, the clock and your token); "
                         "leave out")
    unknown = sorted(set(decoded) - set(allowed))
    if unknown:
        expected = ", ".join(allowed) if allowed else "no fields"
        return _Body({}, f"unknown field(s) {', '.join(unknown)}; expected {expected}")
    return _Body(decoded)


class DisputeApi:
    """The handlers of ``/api/disputes``: open, resolve, withdraw, read one, list."""

    def __init__(self, publish: Publish, disputes: Mapping[str, Mapping[str, Any]], team_of: TeamOf,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 dispute_ids: Callable[[], str] = new_dispute_id,
                 event_ids: Callable[[], str] = new_event_id) -> None:
        self.publish = publish
        self.disputes = disputes
        self.team_of = team_of
        self.clock = clock
        self.dispute_ids = dispute_ids
        self.event_ids = event_ids
        self.validator = DisputeValidator()

    # ------------------------------------------------------------------ writes
    async def open(self, principal: Principal | None, body: bytes) -> Answer:
        """``POST /api/disputes``: open a dispute for a rep (a rep for themselves, a manager for
        a rep of their teams, admin for anyone)."""
        if principal is None:
            return UNAUTHENTICATED
        return await self._send(principal, "dispute_opened", self.dispute_ids(), body, check=self._may_open)

    async def resolve(self, principal: Principal | None, dispute_id: str, body: bytes) -> Answer:
        """``POST /api/disputes/{id}/resolve``: decide (the rep's manager or payroll, never the rep)."""
        return await self._change(principal, "dispute_resolved", dispute_id, body, may_resolve)

    async def withdraw(self, principal: Principal | None, dispute_id: str, body: bytes) -> Answer:
        """``POST /api/disputes/{id}/withdraw``: take back an open dispute (the rep, or who opened it)."""
        return await self._change(principal, "dispute_withdrawn", dispute_id, body, may_withdraw)

    def _may_open(self, principal: Principal, event: dict[str, Any]) -> Verdict:
        rep_id = event["rep_id"]
        return may_open(principal, rep_id, self.team_of(rep_id))

    async def _change(self, principal: Principal | None, kind: str, dispute_id: str, body: bytes,
                      rule: Callable[[Principal, DisputeParties], Verdict]) -> Answer:
        if principal is None:
            return UNAUTHENTICATED
        served = self._served(principal, dispute_id, rule)
        if isinstance(served, Answer):
            return served
        if served.get("state") != DisputeState.OPEN.value:
            return _error(409, f"dispute {dispute_id} is already {served.get('state')}: only an open dispute "
                               "is resolved or withdrawn")
        return await self._send(principal, kind, dispute_id, body, check=None)

    async def _send(self, principal: Principal, kind: str, dispute_id: str, body: bytes,
                    check: Callable[[Principal, dict[str, Any]], Verdict] | None) -> Answer:
        parsed = _parse_body(body, kind)
        if parsed.problem is not None:
            return _error(400, parsed.problem)
        signs = may_sign(principal)  # open's rule comes after the body, which names the rep
        if not signs.allowed:
            return _forbidden(signs)
        event_id = self.event_ids()
        event = {"event_id": event_id, "type": kind, "schema_version": 1,
                 "occurred_at": format_timestamp(self.clock()), "dispute_id": dispute_id, **parsed.fields,
                 SIGNER_FIELD[kind]: actor_id(principal)}
        value = orjson.dumps(event)
        checked = self.validator.validate(DISPUTES_TOPIC, value)
        if not isinstance(checked, Accepted):
            return _error(400, checked.detail.splitlines()[0])
        if check is not None:
            verdict = check(principal, checked.event)
            if not verdict.allowed:
                return _forbidden(verdict)
        try:
            await self.publish(dispute_id, value)
        except Exception:  # any send failure: the caller checks the dispute, then retries
            log.exception("disputes: could not publish %s of dispute %s", kind, dispute_id)
            return _error(503, f"the event for dispute {dispute_id} was not confirmed by the broker: check "
                               f"GET /api/disputes/{dispute_id} in a moment, then try again")
        return Answer(202, {"dispute_id": dispute_id, "event_id": event_id, "status": "accepted"},
                      (("Location", f"/api/disputes/{dispute_id}"),))

    # ------------------------------------------------------------------ reads
    def get(self, principal: Principal | None, dispute_id: str) -> Answer:
        """``GET /api/disputes/{id}``: the dispute's latest state (its ``dispute`` event)."""
        if principal is None:
            return UNAUTHENTICATED
        served = self._served(principal, dispute_id, may_read)
        return served if isinstance(served, Answer) else Answer(200, dict(served))

    def _served(self, principal: Principal, dispute_id: str,
                rule: Callable[[Principal, DisputeParties], Verdict]) -> Answer | Mapping[str, Any]:
        """The served dispute if ``rule`` lets the caller at it, else the refusal (404, 403)."""
        served = self.disputes.get(dispute_id)
        if served is None:
            return _not_found(dispute_id)
        verdict = rule(principal, DisputeParties.of_event(served))
        return served if verdict.allowed else _forbidden(verdict)

    def list(self, principal: Principal | None, rep: str | None = None, state: str | None = None) -> Answer:
        """``GET /api/disputes?rep=&state=``: the disputes the caller may read, filtered by rep and
        state, oldest first (by ``opened_at``, then id)."""
        if principal is None:
            return UNAUTHENTICATED
        if rep is not None and not is_id(rep):
            return _error(400, f"rep must be a rep id, got {rep!r}")
        if state is not None and state not in STATES:
            return _error(400, f"state must be one of {', '.join(STATES)}, got {state!r}")
        verdict = may_list(principal, rep)
        if not verdict.allowed:
            return _forbidden(verdict)
        found = [dict(d) for d in self.disputes.values()
                 if (rep is None or d.get("rep_id") == rep) and (state is None or d.get("state") == state)
                 and may_read(principal, DisputeParties.of_event(d)).allowed]
        found.sort(key=lambda d: (str(d.get("opened_at")), str(d.get("dispute_id"))))
        return Answer(200, {"disputes": found, "count": len(found)})


def _not_found(dispute_id: str) -> Answer:
    return _error(404, f"no dispute {dispute_id} (a new dispute is served once it has been processed)")
