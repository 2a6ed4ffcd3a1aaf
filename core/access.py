"""Who may read what on the web API (pure policy; docs/access-control.md).

A tokens file lists bearer tokens by their SHA-256 only, each with a role and a scope:

==========  ==============================  ==============================================
role        scope                           may read
==========  ==============================  ==============================================
admin       (none)                          everything, including unknown/internal routes
payroll     (none)                          ``/api/payroll/{period}``
manager     one or more team ids            scorecards and explain of those teams and of
                                            reps whose current team is one of them; the
                                            company scorecard (not its explain); leaderboards
rep         exactly one rep id              that rep's scorecards and explain; leaderboards
==========  ==============================  ==============================================

The appeals routes (kind ``disputes``), the browser sign-in (kind ``session``) and ``/api/me``
(kind ``me``) are open to every role at this level; who may open, resolve, withdraw or read
which dispute is decided per dispute by ``core.dispute_access``, and whose scorecard
``/me`` shows by ``me_subject`` and ``may_view_rep``.

Decision on company scorecards: a manager may read the company scorecard (the yardstick
for their teams) but not the company explain (it lists every customer served); a rep may
read neither. Leaderboards (page, boards list, stream, ``/api/leaderboard``) are readable
by admin, manager and rep; payroll reads payroll only.

``authenticate`` hashes the presented token and compares it with every entry using
``hmac.compare_digest``; ``authorize`` decides one request against a ``Resource``.

A browser may carry the token in the sign-in cookie instead of the ``Authorization``
header; a write it sends must then also carry ``csrf_token(token)`` in the
``X-Scorecard-CSRF`` header (``csrf_matches``), which a cross-site form cannot set.
The rules of the appeals API (who opens, resolves, withdraws and reads a dispute) are in
``core.dispute_access``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROLES = ("admin", "payroll", "manager", "rep")
#: Request kinds of the web API; ``internal`` is any route not listed (admin only).
KINDS = ("page", "boards", "stream", "leaderboard", "scorecard", "explain", "payroll", "awards", "disputes",
         "session", "me", "internal")
#: Kinds the public-leaderboard setting opens to requests without a token.
PUBLIC_KINDS = frozenset({"page", "boards", "stream", "leaderboard"})
#: The fields of a leaderboard row shown without a token: name, team, rank, its percentile
#: (contract §11; rank and row count are public already), chosen metric.
PUBLIC_ROW_FIELDS = ("rank", "name", "team_id", "value", "top_percent", "top_decile")

_BOARD_KINDS = frozenset({"page", "boards", "stream", "leaderboard"})
#: Kinds admin, manager and rep read whole, like a leaderboard's full rows (never public):
#: the decided awards (contract §11), winners and bonuses of the whole organisation.
_SHARED_KINDS = _BOARD_KINDS | {"awards"}
#: Kinds every role may request; the handler decides the rest (``core.dispute_access``, and
#: for ``me`` ``may_view_rep`` on the rep asked for).
_EVERY_ROLE_KINDS = frozenset({"disputes", "session", "me"})
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
#: An id of the contract (common.schema.json ``id``): a token's ``rep_id``, an appeal's signer.
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}\Z")
#: The ``WWW-Authenticate`` challenge of every 401.
REALM = 'Bearer realm="sales-scorecard"'
#: The message the CSRF token is the HMAC of (keyed with the bearer token).
_CSRF_MESSAGE = b"sales-scorecard/csrf/v1"


class TokenFileError(ValueError):
    """The tokens file cannot be read or an entry is malformed (one-line message)."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the token's name, role and scope.

    ``rep_id`` is set on a non-rep token whose holder is also a rep (a manager who sells):
    the appeals rules use it so that nobody decides their own dispute.
    """

    name: str
    role: str
    scope: tuple[str, ...] = ()
    rep_id: str | None = None


@dataclass(frozen=True)
class TokenEntry:
    """One line of the tokens file: a principal and the SHA-256 (hex) of its token."""

    principal: Principal
    sha256: str


@dataclass(frozen=True)
class Resource:
    """What a request reads.

    ``scope``/``id`` name a scorecard (``rep``/``team``/``company``); ``rep_team`` is the
    current team of the rep when ``scope == "rep"`` (from the engine's roster), else None.
    """

    kind: str
    scope: str | None = None
    id: str | None = None
    rep_team: str | None = None


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token, as stored in the tokens file."""
    return hashlib.sha256(token.encode()).hexdigest()


# -- tokens file ------------------------------------------------------------
def parse_tokens(text: str) -> list[TokenEntry]:
    """Entries of a tokens file: JSON lines (one object a line) or YAML (a list, or ``tokens:``)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    raw: Any
    if lines and all(ln.startswith("{") for ln in lines):
        raw = []
        for number, line in enumerate(lines, 1):
            try:
                raw.append(json.loads(line))
            except ValueError as exc:
                raise TokenFileError(f"entry {number} is not valid JSON: {exc}") from None
    else:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TokenFileError(f"not valid YAML: {str(exc).splitlines()[0]}") from None
        if raw is None:
            raw = []
        if isinstance(raw, dict):
            raw = raw.get("tokens", None)
        if not isinstance(raw, list):
            raise TokenFileError("expected a list of entries (or a 'tokens:' list)")
    entries = [_entry(item, number) for number, item in enumerate(raw, 1)]
    for attr in ("name", "sha256"):
        seen: set[str] = set()
        for e in entries:
            value = e.principal.name if attr == "name" else e.sha256
            if value in seen:
                shown = value if attr == "name" else "(a token hash)"
                raise TokenFileError(f"duplicate {attr} {shown}")
            seen.add(value)
    return entries


def _entry(item: Any, number: int) -> TokenEntry:
    where = f"entry {number}"
    if not isinstance(item, dict):
        raise TokenFileError(f"{where}: expected a mapping with name, sha256, role, scope")
    unknown = set(item) - {"name", "sha256", "role", "scope", "rep_id"}
    if unknown:
        raise TokenFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TokenFileError(f"{where}: name must be a non-empty string")
    where = f"entry {number} ({name})"
    digest = item.get("sha256")
    if not isinstance(digest, str) or not _SHA256_HEX.match(digest.lower()):
        raise TokenFileError(f"{where}: sha256 must be 64 hex digits (the token's SHA-256, not the token)")
    role = item.get("role")
    if role not in ROLES:
        raise TokenFileError(f"{where}: role must be one of {', '.join(ROLES)}, got {role!r}")
    scope = check_scope(role, item.get("scope"), where)
    rep_id = check_rep_id(role, item.get("rep_id"), where)
    return TokenEntry(Principal(name, role, scope, rep_id), digest.lower())


def check_scope(role: str, scope: Any, where: str = "scope") -> tuple[str, ...]:
    """The scope of a role as a tuple of ids; TokenFileError when it does not fit the role."""
    if scope is None or scope == "" or scope == []:
        values: tuple[str, ...] = ()
    elif isinstance(scope, str):
        values = (scope,)
    elif isinstance(scope, list) and all(isinstance(s, str) and s for s in scope):
        values = tuple(scope)
    else:
        raise TokenFileError(f"{where}: scope must be an id or a list of ids")
    if role in ("admin", "payroll") and values:
        raise TokenFileError(f"{where}: role {role} takes no scope")
    if role == "manager" and not values:
        raise TokenFileError(f"{where}: role manager needs one or more team ids as scope")
    if role == "rep" and len(values) != 1:
        raise TokenFileError(f"{where}: role rep needs exactly one rep id as scope")
    return values


def check_rep_id(role: str, rep_id: Any, where: str = "rep_id") -> str | None:
    """The holder's own rep id of a non-rep token (None when absent); TokenFileError when it is
    not an id or the role is ``rep`` (a rep token's scope already is its rep id)."""
    if rep_id is None or rep_id == "":
        return None
    if role == "rep":
        raise TokenFileError(f"{where}: role rep takes no rep_id (its scope is the rep id)")
    if not is_id(rep_id):
        raise TokenFileError(f"{where}: rep_id must be an id (1-64 of A-Z a-z 0-9 . _ : -)")
    return rep_id


def is_id(value: object) -> bool:
    """Whether ``value`` is an id of the contract: 1-64 characters of ``[A-Za-z0-9._:-]``."""
    return isinstance(value, str) and _ID.match(value) is not None


def load_tokens(path: str) -> list[TokenEntry]:
    """Entries of the tokens file at ``path`` (TokenFileError names the file)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise TokenFileError(f"cannot read tokens file {path}: {exc.strerror}") from None
    try:
        return parse_tokens(text)
    except TokenFileError as exc:
        raise TokenFileError(f"tokens file {path}: {exc}") from None


def entry_to_json(entry: TokenEntry) -> dict[str, Any]:
    """One tokens-file object (the JSON-lines form written by ``scorecard tokens add``)."""
    p = entry.principal
    scope: Any = list(p.scope) if p.role == "manager" else (p.scope[0] if p.scope else None)
    out: dict[str, Any] = {"name": p.name, "sha256": entry.sha256, "role": p.role}
    if scope is not None:
        out["scope"] = scope
    if p.rep_id is not None:
        out["rep_id"] = p.rep_id
    return out


# -- decisions --------------------------------------------------------------
def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def authenticate(header: str | None, tokens: list[TokenEntry]) -> Principal | None:
    """The principal whose token the ``Authorization`` header carries, else None."""
    token = bearer_token(header)
    return None if token is None else authenticate_token(token, tokens)


def authenticate_token(token: str, tokens: list[TokenEntry]) -> Principal | None:
    """The principal of a token (from the header or the sign-in cookie), else None.

    Every entry is compared (constant time per comparison, no early exit).
    """
    digest = hash_token(token).encode()
    found = None
    for entry in tokens:
        if hmac.compare_digest(digest, entry.sha256.encode()):
            found = entry.principal
    return found


def may_request(principal: Principal, kind: str) -> bool:
    """Whether the role may make requests of this kind at all (checked before forwarding)."""
    if principal.role == "admin" or kind in _EVERY_ROLE_KINDS:
        return True
    if principal.role == "payroll":
        return kind == "payroll"
    return kind in _SHARED_KINDS or kind in ("scorecard", "explain")


def authorize(principal: Principal, resource: Resource) -> bool:
    """Whether ``principal`` may read ``resource`` (the full decision, with the rep's team)."""
    if not may_request(principal, resource.kind):
        return False
    if resource.kind in _EVERY_ROLE_KINDS:
        return True  # decided by the handler: per dispute (core.dispute_access), per rep (may_view_rep)
    if principal.role in ("admin", "payroll") or resource.kind in _SHARED_KINDS:
        return True
    # scorecard or explain; role manager or rep
    if principal.role == "rep":
        return resource.scope == "rep" and resource.id == principal.scope[0]
    teams = principal.scope
    if resource.scope == "team":
        return resource.id in teams
    if resource.scope == "rep":
        return resource.rep_team is not None and resource.rep_team in teams
    if resource.scope == "company":
        return resource.kind == "scorecard"
    return False


# -- My scorecard (/me) -----------------------------------------------------
def own_rep(principal: Principal) -> str | None:
    """The rep the caller is: a rep token's scope, else the token's ``rep_id`` (a manager who
    also sells); None for a token that is no rep."""
    return principal.scope[0] if principal.role == "rep" else principal.rep_id


def me_subject(principal: Principal | None, requested: str | None) -> str | None:
    """Whose scorecard ``/me`` shows: the rep asked for (``/me?rep=ID``), else the caller's own;
    None when neither (no rep asked, and auth off or a token that is no rep)."""
    if requested:
        return requested
    return None if principal is None else own_rep(principal)


def may_view_rep(principal: Principal | None, rep_id: str, rep_team: str | None) -> bool:
    """Whether ``/me`` may show this rep to the caller: exactly when the caller may read the
    rep's scorecards (a rep only their own, a manager the reps whose current team is one of
    theirs, admin anyone, payroll nobody). ``principal`` None: auth is off, every rep."""
    return principal is None or authorize(principal, Resource("scorecard", "rep", rep_id, rep_team))


# -- browser sessions: cookie and CSRF ---------------------------------------
def csrf_token(token: str) -> str:
    """The anti-CSRF value of a signed-in browser: HMAC-SHA256 of a fixed message keyed with
    the bearer token its cookie holds (hex). Only who knows the token can compute it."""
    return hmac.new(token.encode(), _CSRF_MESSAGE, hashlib.sha256).hexdigest()


def csrf_matches(token: str, header: str | None) -> bool:
    """Whether an ``X-Scorecard-CSRF`` header value is the CSRF token of ``token`` (constant time)."""
    if not header:
        return False
    return hmac.compare_digest(csrf_token(token).encode(), header.strip().encode())


def public_row(row: dict[str, Any]) -> dict[str, Any]:
    """A leaderboard row reduced to what an office screen shows without a token."""
    return {k: row.get(k) for k in PUBLIC_ROW_FIELDS}
