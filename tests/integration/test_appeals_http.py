"""The appeals routes over HTTP against a running worker (docs/access-control.md#appeals):
every role rule answers 401, 403, 404, 409 or 202 as the table says, the POST reaches the
dispute stage (the state is served), and a write signed in by cookie needs the CSRF header."""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest

from sales_scorecard.core.access import hash_token
from sales_scorecard.streams.settings import Settings
from tests.factories import roster
from tests.integration.kafka_helpers import metric_sum, produce_events, wait_for

pytestmark = pytest.mark.integration

TOKENS = {"admin": "tok-admin-Ap1", "payroll": "tok-payroll-Ap2", "mia": "tok-mia-Ap3", "lee": "tok-lee-Ap4",
          "alice": "tok-alice-Ap5", "bob": "tok-bob-Ap6"}


def write_tokens(path: Path) -> Path:
    """Admin, payroll, mia (manager of t1), lee (manager of t2 who also sells as rep3), reps
    alice (rep1) and bob (rep2)."""
    path.write_text(f"""
tokens:
  - {{name: ops, sha256: {hash_token(TOKENS['admin'])}, role: admin}}
  - {{name: finance, sha256: {hash_token(TOKENS['payroll'])}, role: payroll}}
  - {{name: mia, sha256: {hash_token(TOKENS['mia'])}, role: manager, scope: [t1]}}
  - {{name: lee, sha256: {hash_token(TOKENS['lee'])}, role: manager, scope: [t2], rep_id: rep3}}
  - {{name: alice, sha256: {hash_token(TOKENS['alice'])}, role: rep, scope: rep1}}
  - {{name: bob, sha256: {hash_token(TOKENS['bob'])}, role: rep, scope: rep2}}
""")
    return path


class Client:
    """HTTP calls to one worker: (status, JSON body)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method: str, path: str, who: str | None = None, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else orjson.dumps(body))
        req.add_header("Content-Type", "application/json")
        if who is not None:
            req.add_header("Authorization", f"Bearer {TOKENS.get(who, who)}")
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                raw, code, hdrs = resp.read(), resp.status, resp.headers
        except urllib.error.HTTPError as exc:
            raw, code, hdrs = exc.read(), exc.code, exc.headers
        return code, orjson.loads(raw) if raw else None, hdrs

    def open(self, who: str | None, rep: str, **extra: Any) -> tuple[int, Any]:
        body = {"rep_id": rep, "period": "2026-11", "subject_kind": "deal", "subject_ref": "d1",
                "claim": "This deal is mine.", **extra}
        code, answer, _ = self.call("POST", "/api/disputes", who, body)
        return code, answer

    def resolve(self, who: str | None, dispute_id: str, decision: str = "upheld") -> int:
        return self.call("POST", f"/api/disputes/{dispute_id}/resolve", who,
                         {"decision": decision, "resolution": "Checked."})[0]

    def withdraw(self, who: str | None, dispute_id: str) -> int:
        return self.call("POST", f"/api/disputes/{dispute_id}/withdraw", who, {})[0]

    def served(self, dispute_id: str) -> dict[str, Any] | None:
        code, answer, _ = self.call("GET", f"/api/disputes/{dispute_id}", "admin")
        return answer if code == 200 else None


def test_every_appeal_role_rule_over_http(test_settings: Settings, run_worker: Any, tmp_path: Path) -> None:
    s = dataclasses.replace(test_settings, auth_tokens_file=str(write_tokens(tmp_path / "tokens.yaml")))
    worker = run_worker(s)
    produce_events(s, [roster("rep1", "t1", manager_id="mia"), roster("rep2", "t1", manager_id="mia"),
                       roster("rep3", "t2", manager_id="lee")])
    assert wait_for(lambda: metric_sum(worker.metrics(), "scorecard_facts_total", outcome="applied") >= 3, timeout=60)
    web = Client(s.web_port)
    code, opened = web.open("alice", "rep1")
    assert code == 202
    mine = opened["dispute_id"]

    # 401: no token, a wrong token; on writes and reads alike.
    assert web.open(None, "rep1")[0] == 401
    assert web.open("not-a-token", "rep1")[0] == 401
    assert web.call("GET", "/api/disputes")[0] == 401
    assert web.resolve(None, mine) == 401
    # Opening: a rep for themselves only, a manager for their current team, admin for anyone, payroll never.
    assert web.open("alice", "rep2")[0] == 403
    assert web.open("payroll", "rep1")[0] == 403
    assert web.open("mia", "rep3")[0] == 403
    code, by_mia = web.open("mia", "rep2")
    assert code == 202, by_mia
    code, by_admin = web.open("admin", "rep3")
    assert code == 202
    code, lees_own = web.open("lee", "rep3")
    assert code == 202, lees_own
    # A body that sets what the server sets is 400.
    assert web.open("alice", "rep1", opened_by="bob")[0] == 400
    for answer in (opened, by_mia, by_admin, lees_own):
        assert wait_for(lambda a=answer: web.served(a["dispute_id"]) is not None, timeout=60), answer
    assert web.resolve("payroll", "D-unknown") == 404

    # Reading: a rep their own only; a manager their teams'; payroll and admin all.
    assert web.call("GET", f"/api/disputes/{mine}", "bob")[0] == 403
    assert web.call("GET", f"/api/disputes/{mine}", "alice")[0] == 200
    assert web.call("GET", "/api/disputes?rep=rep2", "alice")[0] == 403
    assert web.call("GET", f"/api/disputes/{by_admin['dispute_id']}", "mia")[0] == 403
    code, listed, _ = web.call("GET", "/api/disputes?state=open", "payroll")
    assert code == 200 and len(listed["disputes"]) == 4

    # Resolving: never the rep, nor admin, nor another team's manager, nor a manager who is the rep.
    assert web.resolve("alice", mine) == 403
    assert web.resolve("bob", mine) == 403
    assert web.resolve("admin", mine) == 403
    assert web.resolve("lee", mine) == 403
    assert web.resolve("lee", lees_own["dispute_id"]) == 403
    assert web.resolve("mia", by_admin["dispute_id"]) == 403
    assert web.resolve("mia", mine) == 202
    assert web.resolve("payroll", by_admin["dispute_id"], "rejected") == 202
    # Withdrawing: the rep or whoever opened it; not payroll, not another rep.
    assert web.withdraw("payroll", by_mia["dispute_id"]) == 403
    assert web.withdraw("alice", by_mia["dispute_id"]) == 403
    assert web.withdraw("mia", by_mia["dispute_id"]) == 202
    assert web.withdraw("lee", lees_own["dispute_id"]) == 202

    # The stage applied each decision; a final dispute is then 409.
    assert wait_for(lambda: (web.served(mine) or {}).get("state") == "resolved", timeout=60)
    assert web.served(mine)["history"][-1]["by"] == "mia"
    assert wait_for(lambda: (web.served(by_mia["dispute_id"]) or {}).get("state") == "withdrawn", timeout=60)
    assert web.resolve("payroll", mine) == 409

    # Signed in by cookie: a write without the CSRF header is refused (a cross-site form post), with it 202.
    code, session, headers = web.call("POST", "/api/session", "bob")
    assert code == 200
    cookie = "; ".join(c.split(";", 1)[0] for c in headers.get_all("Set-Cookie"))
    body = {"rep_id": "rep2", "period": "2026-11", "subject_kind": "kpi", "subject_ref": "revenue",
            "claim": "The revenue is wrong."}
    assert web.call("POST", "/api/disputes", body=body, headers={"Cookie": cookie})[0] == 403
    assert web.call("POST", "/api/disputes", body=body,
                    headers={"Cookie": cookie, "X-Scorecard-CSRF": session["csrf"]})[0] == 202
