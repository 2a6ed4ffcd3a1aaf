"""``scorecard tokens``: manage the bearer-tokens file of the web API (docs/access-control.md).

``add`` generates a random token, stores only its SHA-256 with the name, role and scope,
and prints the token once on stdout. ``list`` shows names, roles and scopes (never hashes);
``revoke`` removes an entry. The file is rewritten atomically with mode 0600, in its own
format (JSON lines, or YAML when it already holds YAML); a running worker picks the change up
on its next request.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import click
import yaml

from sales_scorecard.cli.main import UserError
from sales_scorecard.core.access import (
    ROLES,
    Principal,
    TokenEntry,
    TokenFileError,
    check_rep_id,
    check_scope,
    entry_to_json,
    hash_token,
    load_tokens,
)


def _path(file: str | None) -> Path:
    if file:
        return Path(file)
    from sales_scorecard.streams.settings import Settings

    configured = Settings.from_env().auth_tokens_file
    if not configured:
        raise UserError("no tokens file: pass --file or set SCORECARD_AUTH_TOKENS_FILE")
    return Path(configured)


def _read(path: Path) -> tuple[list[TokenEntry], bool]:
    """The entries of ``path`` (none when it does not exist) and whether it is YAML."""
    if not path.exists():
        return [], False
    try:
        entries = load_tokens(str(path))
        text = path.read_text()
    except (TokenFileError, OSError) as exc:
        raise UserError(str(exc)) from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return entries, bool(lines) and not all(ln.startswith("{") for ln in lines)


def _write(path: Path, entries: list[TokenEntry], as_yaml: bool) -> None:
    """Replace ``path`` atomically with a 0600 file holding ``entries``."""
    objects = [entry_to_json(e) for e in entries]
    if as_yaml:
        text = yaml.safe_dump({"tokens": objects}, sort_keys=False)
    else:
        text = "".join(json.dumps(o) + "\n" for o in objects)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write tokens file {path}: {exc.strerror}") from None


@click.group("tokens")
def command() -> None:
    """Create bearer tokens for the web API (hashed tokens file)."""


@command.command("add")
@click.option("--name", required=True, help="Who or what holds the token (unique).")
@click.option("--role", required=True, type=click.Choice(ROLES), help="admin, payroll, manager or rep.")
@click.option("--scope", "scopes", multiple=True,
              help="rep: the rep id; manager: a team id (repeat for several teams).")
@click.option("--rep-id", "rep_id", default=None,
              help="manager, payroll, admin: the holder's own rep id, when they also sell (appeals: nobody "
                   "decides their own dispute).")
@click.option("--file", "file", default=None, help="Tokens file (default SCORECARD_AUTH_TOKENS_FILE).")
def add(name: str, role: str, scopes: tuple[str, ...], rep_id: str | None, file: str | None) -> None:
    """Add a token; prints it once on stdout (only its SHA-256 is stored)."""
    path = _path(file)
    entries, as_yaml = _read(path)
    if not name.strip():
        raise UserError("--name must not be empty")
    if any(e.principal.name == name for e in entries):
        raise UserError(f"a token named {name} exists in {path}; revoke it first")
    try:
        scope = check_scope(role, list(scopes), "--scope")
        own_rep = check_rep_id(role, rep_id, "--rep-id")
    except TokenFileError as exc:
        raise UserError(str(exc)) from None
    token = secrets.token_urlsafe(32)
    _write(path, [*entries, TokenEntry(Principal(name, role, scope, own_rep), hash_token(token))], as_yaml)
    click.echo(f"added {name} ({role}) to {path}; the token is shown once, store it now:", err=True)
    click.echo(token)


@command.command("list")
@click.option("--file", "file", default=None, help="Tokens file (default SCORECARD_AUTH_TOKENS_FILE).")
def list_tokens(file: str | None) -> None:
    """Names, roles and scopes of the tokens (never the hashes), and the holder's rep id when set."""
    entries, _ = _read(_path(file))
    for e in entries:
        own_rep = f"\trep_id={e.principal.rep_id}" if e.principal.rep_id else ""
        click.echo(f"{e.principal.name}\t{e.principal.role}\t{','.join(e.principal.scope)}{own_rep}")


@command.command("revoke")
@click.option("--name", required=True, help="The token's name.")
@click.option("--file", "file", default=None, help="Tokens file (default SCORECARD_AUTH_TOKENS_FILE).")
def revoke(name: str, file: str | None) -> None:
    """Remove a token; a running worker refuses it from its next request on."""
    path = _path(file)
    entries, as_yaml = _read(path)
    kept = [e for e in entries if e.principal.name != name]
    if len(kept) == len(entries):
        raise UserError(f"no token named {name} in {path}")
    _write(path, kept, as_yaml)
    click.echo(f"revoked {name}", err=True)
