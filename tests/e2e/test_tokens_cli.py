"""``scorecard tokens`` and the worker's refusal to serve other hosts without tokens (no broker)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sales_scorecard.cli.main import cli
from sales_scorecard.core.access import Principal, authenticate, hash_token, load_tokens
from tests.integration.conftest import REPO

pytestmark = pytest.mark.e2e


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["tokens", *args], env=env, catch_exceptions=False)


def test_add_prints_the_token_once_and_stores_only_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "tokens.jsonl"
    first = run("add", "--name", "alice", "--role", "rep", "--scope", "r1", "--file", str(path))
    assert first.exit_code == 0, first.output
    token = first.stdout.strip()
    assert len(token) >= 40 and "\n" not in token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert token not in text and hash_token(token) in text
    second = run("add", "--name", "mia", "--role", "manager", "--scope", "t1", "--scope", "t2", "--file", str(path))
    assert second.exit_code == 0 and second.stdout.strip() != token
    entries = load_tokens(str(path))
    assert authenticate(f"Bearer {token}", entries) == Principal("alice", "rep", ("r1",))
    assert authenticate(f"Bearer {second.stdout.strip()}", entries) == Principal("mia", "manager", ("t1", "t2"))
    listed = run("list", "--file", str(path)).stdout
    assert listed.splitlines() == ["alice\trep\tr1", "mia\tmanager\tt1,t2"] and hash_token(token) not in listed

    revoked = run("revoke", "--name", "alice", "--file", str(path))
    assert revoked.exit_code == 0
    assert authenticate(f"Bearer {token}", load_tokens(str(path))) is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_yaml_file_stays_yaml_and_the_default_path_comes_from_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(f"# office tokens\n- name: ops\n  sha256: {hash_token('x')}\n  role: admin\n")
    result = run("add", "--name", "finance", "--role", "payroll",
                 env={"SCORECARD_AUTH_TOKENS_FILE": str(path)})
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(path.read_text())
    assert [e["name"] for e in data["tokens"]] == ["ops", "finance"]
    assert authenticate(f"Bearer {result.stdout.strip()}", load_tokens(str(path))) == Principal("finance", "payroll")


@pytest.mark.parametrize("args, message", [
    (["--name", "x", "--role", "rep"], "exactly one rep id"),
    (["--name", "x", "--role", "manager"], "team ids"),
    (["--name", "x", "--role", "admin", "--scope", "t1"], "takes no scope"),
    (["--name", "ops", "--role", "admin"], "a token named ops exists"),
])
def test_add_mistakes_are_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "tokens.jsonl"
    assert run("add", "--name", "ops", "--role", "admin", "--file", str(path)).exit_code == 0
    before = path.read_text()
    result = subprocess.run([sys.executable, "-m", "sales_scorecard.cli.main", "tokens", "add", *args,
                             "--file", str(path)], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and message in result.stderr
    assert path.read_text() == before


def test_no_file_is_a_one_line_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SCORECARD_AUTH_TOKENS_FILE"}
    result = subprocess.run([sys.executable, "-m", "sales_scorecard.cli.main", "tokens", "list"],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert result.returncode == 2 and "SCORECARD_AUTH_TOKENS_FILE" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def worker(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if k != "SCORECARD_AUTH_TOKENS_FILE"}
    full = {**inherited, "SCORECARD_DATA_DIR": str(tmp_path / "data"), "SCORECARD_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "SCORECARD_STORE": "memory", **env}
    return subprocess.run([sys.executable, "-m", "sales_scorecard.cli.main", "worker"], capture_output=True,
                          text=True, cwd=REPO, env=full, timeout=60)


def test_worker_refuses_a_non_loopback_web_host_without_tokens(tmp_path: Path) -> None:
    result = worker(tmp_path, SCORECARD_WEB_HOST="0.0.0.0")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "scorecard: error: SCORECARD_WEB_HOST=0.0.0.0 is not a loopback address: set SCORECARD_AUTH_TOKENS_FILE "
        "(docs/access-control.md)")


def test_worker_refuses_a_broken_tokens_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "tokens.yaml"
    bad.write_text("- name: ops\n  sha256: not-a-hash\n  role: admin\n")
    result = worker(tmp_path, SCORECARD_WEB_HOST="0.0.0.0", SCORECARD_AUTH_TOKENS_FILE=str(bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SCORECARD_AUTH_TOKENS_FILE" in lines[0] and "sha256 must be 64 hex" in lines[0]
