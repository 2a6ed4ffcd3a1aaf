"""The access policy: tokens file parsing, authentication and every role × resource."""

from __future__ import annotations

import json

import pytest

from sales_scorecard.core.access import (
    PUBLIC_ROW_FIELDS,
    Principal,
    Resource,
    TokenEntry,
    TokenFileError,
    authenticate,
    authenticate_token,
    authorize,
    bearer_token,
    csrf_matches,
    csrf_token,
    entry_to_json,
    hash_token,
    load_tokens,
    may_request,
    may_view_rep,
    me_subject,
    own_rep,
    parse_tokens,
    public_row,
)

ADMIN = Principal("ops", "admin")
PAYROLL = Principal("finance", "payroll")
MANAGER = Principal("mia", "manager", ("t1", "t3"))
REP = Principal("rita", "rep", ("r1",))


def entries() -> list[TokenEntry]:
    return [TokenEntry(p, hash_token(f"secret-{p.name}")) for p in (ADMIN, PAYROLL, MANAGER, REP)]


# -- parsing ----------------------------------------------------------------
def test_parse_yaml_list_and_tokens_key() -> None:
    text = f"""
- name: ops
  sha256: {hash_token("a")}
  role: admin
- name: mia
  sha256: {hash_token("b").upper()}
  role: manager
  scope: [t1, t3]
- name: rita
  sha256: {hash_token("c")}
  role: rep
  scope: r1
"""
    parsed = parse_tokens(text)
    assert [e.principal for e in parsed] == [Principal("ops", "admin"), Principal("mia", "manager", ("t1", "t3")),
                                            Principal("rita", "rep", ("r1",))]
    assert parsed[1].sha256 == hash_token("b")  # normalised to lower case
    wrapped = parse_tokens("tokens:\n" + "\n".join("  " + ln for ln in text.strip().splitlines()))
    assert wrapped == parsed


def test_parse_json_lines_round_trips_entry_to_json() -> None:
    text = "\n".join(json.dumps(entry_to_json(e)) for e in entries()) + "\n# a comment\n"
    assert parse_tokens(text) == entries()


def test_a_manager_who_sells_carries_their_rep_id() -> None:
    text = f"- {{name: lee, sha256: {hash_token('x')}, role: manager, scope: [t2], rep_id: r1}}\n"
    (entry,) = parse_tokens(text)
    assert entry.principal == Principal("lee", "manager", ("t2",), rep_id="r1")
    assert entry_to_json(entry) == {"name": "lee", "sha256": hash_token("x"), "role": "manager", "scope": ["t2"],
                                    "rep_id": "r1"}
    assert parse_tokens(json.dumps(entry_to_json(entry))) == [entry]
    assert "rep_id" not in entry_to_json(entries()[2])  # absent unless set


def test_empty_file_has_no_tokens() -> None:
    assert parse_tokens("") == []
    assert parse_tokens("# nothing yet\n") == []


@pytest.mark.parametrize("text, message", [
    ('{"name": "x", "sha256": "abc", "role": "admin"}', "64 hex digits"),
    ('{"name": "x", "sha256": "' + "0" * 64 + '", "role": "boss"}', "role must be one of"),
    ('{"name": "", "sha256": "' + "0" * 64 + '", "role": "admin"}', "name must be"),
    ('{"name": "x", "sha256": "' + "0" * 64 + '", "role": "rep"}', "exactly one rep id"),
    ('{"name": "x", "sha256": "' + "0" * 64 + '", "role": "rep", "scope": ["r1", "r2"]}', "exactly one rep id"),
    ('{"name": "x", "sha256": "' + "0" * 64 + '", "role": "manager"}', "team ids"),
    ('{"name": "x", "sha256": "' + "0" * 64 + '", "role": "admin", "scope": "t1"}', "takes no scope"),
    ('{"name": "x", "sha256": "' + "0" * 64 + '", "role": "admin", "token": "s3cret"}', "unknown field"),
    ('{"name": "x", "sha256": "' + "0" * 64 + '", "role": "rep", "scope": "r1", "rep_id": "r1"}', "takes no rep_id"),
    ('{"name": "x", "sha256": "' + "0" * 64 + '", "role": "manager", "scope": "t1", "rep_id": "r 1"}',
     "rep_id must be an id"),
    ('{"name": "x", "sha256": "' + "0" * 64 + '", "role": "manager", "scope": "t1", "rep_id": 7}',
     "rep_id must be an id"),
    ('{"name": "x", "sha256": "' + "0" * 64 + '", "role": "admin"}\n'
     '{"name": "x", "sha256": "' + "1" * 64 + '", "role": "admin"}', "duplicate name x"),
    ('{"name": "x", "sha256": "' + "0" * 64 + '", "role": "admin"}\n'
     '{"name": "y", "sha256": "' + "0" * 64 + '", "role": "admin"}', "duplicate sha256"),
    ("{not json", "not valid JSON"),
    ("name: x\nrole: admin\n", "expected a list"),
    ("- [unclosed", "not valid YAML"),
])
def test_malformed_entries_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(TokenFileError) as exc:
        parse_tokens(text)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_load_tokens_names_the_file(tmp_path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(TokenFileError, match="cannot read tokens file .*missing.yaml"):
        load_tokens(str(missing))
    bad = tmp_path / "bad.yaml"
    bad.write_text("- name: x\n  role: admin\n")
    with pytest.raises(TokenFileError, match=r"bad.yaml: entry 1 \(x\): sha256"):
        load_tokens(str(bad))


# -- authentication ---------------------------------------------------------
@pytest.mark.parametrize("header, token", [
    ("Bearer abc", "abc"), ("bearer abc", "abc"), ("  Bearer   abc ", "abc"),
    (None, None), ("", None), ("Basic abc", None), ("Bearer", None), ("Bearer a b", None), ("abc", None),
])
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_authenticate_finds_the_principal_of_a_known_token_only() -> None:
    tokens = entries()
    for p in (ADMIN, PAYROLL, MANAGER, REP):
        assert authenticate(f"Bearer secret-{p.name}", tokens) == p
    assert authenticate("Bearer secret-nobody", tokens) is None
    assert authenticate(f"Bearer {hash_token('secret-ops')}", tokens) is None  # the hash is not a token
    assert authenticate(None, tokens) is None
    assert authenticate("Basic secret-ops", tokens) is None
    assert authenticate("Bearer secret-ops", []) is None


def test_authenticate_token_is_the_header_rule_without_the_header() -> None:
    tokens = entries()
    assert authenticate_token("secret-rita", tokens) == REP
    assert authenticate_token("secret-nobody", tokens) is None
    assert authenticate_token(hash_token("secret-rita"), tokens) is None


def test_csrf_token_is_keyed_by_the_token_and_checked_exactly() -> None:
    # HMAC-SHA256(key=token, "sales-scorecard/csrf/v1"), hex: stable, and differs per token.
    import hashlib
    import hmac

    expected = hmac.new(b"secret-rita", b"sales-scorecard/csrf/v1", hashlib.sha256).hexdigest()
    assert csrf_token("secret-rita") == expected and len(expected) == 64
    assert csrf_token("secret-rob") != expected
    assert csrf_matches("secret-rita", expected)
    assert csrf_matches("secret-rita", f" {expected} ")
    assert not csrf_matches("secret-rita", csrf_token("secret-rob"))
    assert not csrf_matches("secret-rita", None) and not csrf_matches("secret-rita", "")
    assert not csrf_matches("secret-rita", hash_token("secret-rita"))  # the token's hash is not its CSRF value


# -- authorization: every role × resource ----------------------------------
#: (resource, admin, payroll, manager of t1+t3, rep r1)
CASES = [
    (Resource("page"), True, False, True, True),
    (Resource("boards"), True, False, True, True),
    (Resource("stream"), True, False, True, True),
    (Resource("leaderboard"), True, False, True, True),
    (Resource("payroll"), True, True, False, False),
    (Resource("internal"), True, False, False, False),
    (Resource("awards"), True, False, True, True),  # like a leaderboard's full rows; not the payroll role
    (Resource("scorecard", "rep", "r1", "t1"), True, False, True, True),
    (Resource("explain", "rep", "r1", "t1"), True, False, True, True),
    (Resource("scorecard", "rep", "r2", "t1"), True, False, True, False),
    (Resource("explain", "rep", "r2", "t1"), True, False, True, False),
    (Resource("scorecard", "rep", "r3", "t3"), True, False, True, False),
    (Resource("scorecard", "rep", "r4", "t2"), True, False, False, False),
    (Resource("explain", "rep", "r4", "t2"), True, False, False, False),
    (Resource("scorecard", "rep", "r1", "t2"), True, False, False, True),  # r1 moved to t2
    (Resource("scorecard", "rep", "r9", None), True, False, False, False),  # unknown rep
    (Resource("scorecard", "team", "t1"), True, False, True, False),
    (Resource("explain", "team", "t3"), True, False, True, False),
    (Resource("scorecard", "team", "t2"), True, False, False, False),
    (Resource("explain", "team", "t2"), True, False, False, False),
    (Resource("scorecard", "company", "all"), True, False, True, False),
    (Resource("explain", "company", "all"), True, False, False, False),
    (Resource("scorecard", "galaxy", "t1"), True, False, False, False),
]


@pytest.mark.parametrize("resource, admin, payroll, manager, rep", CASES,
                         ids=[f"{r.kind}-{r.scope}-{r.id}-{r.rep_team}" for r, *_ in CASES])
def test_authorize_role_by_resource(resource: Resource, admin: bool, payroll: bool, manager: bool, rep: bool) -> None:
    assert authorize(ADMIN, resource) is admin
    assert authorize(PAYROLL, resource) is payroll
    assert authorize(MANAGER, resource) is manager
    assert authorize(REP, resource) is rep


def test_a_manager_of_other_teams_and_another_rep_are_refused() -> None:
    other_manager = Principal("max", "manager", ("t2",))
    assert authorize(other_manager, Resource("scorecard", "rep", "r4", "t2"))
    assert not authorize(other_manager, Resource("scorecard", "team", "t1"))
    other_rep = Principal("rob", "rep", ("r2",))
    assert not authorize(other_rep, Resource("explain", "rep", "r1", "t1"))
    assert authorize(other_rep, Resource("explain", "rep", "r2", "t1"))


@pytest.mark.parametrize("kind", ["page", "boards", "stream", "leaderboard", "scorecard", "explain", "payroll",
                                  "internal"])
def test_may_request_is_the_coarse_form_of_authorize(kind: str) -> None:
    # Whatever authorize allows for some resource of a kind, may_request allows for the kind.
    for principal in (ADMIN, PAYROLL, MANAGER, REP):
        allowed_somewhere = any(authorize(principal, r) for r, *_ in CASES if r.kind == kind)
        assert may_request(principal, kind) is allowed_somewhere


@pytest.mark.parametrize("kind", ["disputes", "session", "me"])
def test_every_role_may_request_the_appeals_and_the_sign_in(kind: str) -> None:
    # The decision per dispute is core.dispute_access's; here the middleware only lets them through.
    for principal in (ADMIN, PAYROLL, MANAGER, REP):
        assert may_request(principal, kind) and authorize(principal, Resource(kind))


def test_public_row_keeps_exactly_name_team_rank_percentile_and_value() -> None:
    row = {"rank": 2, "rep_id": "r7", "name": "Li Wei", "team_id": "t1", "value": "1200.00",
           "revenue": "1200.00", "attainment": 0.8, "score": 71.5, "top_percent": 18.2, "top_decile": True}
    assert public_row(row) == {"rank": 2, "name": "Li Wei", "team_id": "t1", "value": "1200.00",
                               "top_percent": 18.2, "top_decile": True}
    assert tuple(public_row(row)) == PUBLIC_ROW_FIELDS


def test_tokens_add_stores_the_rep_id_of_a_manager_who_sells(tmp_path) -> None:
    # `scorecard tokens add --rep-id` in-process (the subprocess runs are in tests/e2e).
    from click.testing import CliRunner

    from sales_scorecard.cli.tokens import command

    path = tmp_path / "tokens.jsonl"
    runner = CliRunner()
    added = runner.invoke(command, ["add", "--name", "lee", "--role", "manager", "--scope", "t2", "--rep-id", "r1",
                                    "--file", str(path)])
    assert added.exit_code == 0, added.output
    (entry,) = load_tokens(str(path))
    assert entry.principal == Principal("lee", "manager", ("t2",), rep_id="r1")
    listed = runner.invoke(command, ["list", "--file", str(path)])
    assert listed.output.splitlines() == ["lee\tmanager\tt2\trep_id=r1"]
    refused = runner.invoke(command, ["add", "--name", "rita", "--role", "rep", "--scope", "r1", "--rep-id", "r1",
                                      "--file", str(path)])
    assert refused.exit_code == 2 and "--rep-id: role rep takes no rep_id" in refused.output


# -- My scorecard (/me) -------------------------------------------------------
SELLING_MANAGER = Principal("lee", "manager", ("t2",), rep_id="r7")


def test_own_rep_is_a_rep_tokens_scope_or_the_rep_id_of_one_who_sells() -> None:
    assert own_rep(REP) == "r1"
    assert own_rep(SELLING_MANAGER) == "r7"
    assert own_rep(MANAGER) is None and own_rep(ADMIN) is None and own_rep(PAYROLL) is None


@pytest.mark.parametrize(("principal", "requested", "shown"), [
    (REP, None, "r1"),                   # a rep's /me is their own
    (REP, "r2", "r2"),                   # asked for another: that one (may_view_rep refuses it)
    (SELLING_MANAGER, None, "r7"),       # a manager who sells: their own numbers first
    (SELLING_MANAGER, "r4", "r4"),
    (MANAGER, None, None),               # no rep of their own: they pick a member
    (MANAGER, "r2", "r2"),
    (ADMIN, None, None), (PAYROLL, None, None),
    (None, None, None), (None, "r3", "r3"),  # auth off: /me?rep=ID
    (REP, "", "r1"),                     # an empty ?rep= is no choice
])
def test_me_subject_is_the_rep_asked_for_else_the_callers_own(principal: Principal | None, requested: str | None,
                                                              shown: str | None) -> None:
    assert me_subject(principal, requested) == shown


@pytest.mark.parametrize(("principal", "rep", "team", "allowed"), [
    (REP, "r1", "t1", True),
    (REP, "r1", None, True),             # their own even without a roster entry
    (REP, "r2", "t1", False),            # a teammate: 403
    (MANAGER, "r2", "t1", True),         # a member of one of their teams
    (MANAGER, "r3", "t3", True),
    (MANAGER, "r4", "t2", False),        # another team's rep
    (MANAGER, "r9", None, False),        # unknown rep: refused like any other (no probing)
    (SELLING_MANAGER, "r7", "t9", False),  # their own rep id in another team: not through /me
    (ADMIN, "r4", "t2", True), (ADMIN, "r9", None, True),
    (PAYROLL, "r1", "t1", False),        # payroll reads payroll only
    (None, "r4", "t2", True),            # auth off: loopback only, like every other route
])
def test_may_view_rep_follows_the_scorecard_rule(principal: Principal | None, rep: str, team: str | None,
                                                 allowed: bool) -> None:
    assert may_view_rep(principal, rep, team) is allowed
    if principal is not None:
        assert allowed is authorize(principal, Resource("scorecard", "rep", rep, team))
