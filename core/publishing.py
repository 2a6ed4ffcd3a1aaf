"""Revisions and deterministic ids of published scorecard updates (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

import orjson

#: Fields that change on every update without changing what the scorecard says.
VOLATILE_FIELDS = frozenset({"as_of", "emitted_at", "event_id", "revision"})


def content_digest(content: dict[str, Any]) -> str:
    """A stable digest of a scorecard's content, ignoring volatile fields."""
    stable = {k: v for k, v in content.items() if k not in VOLATILE_FIELDS}
    return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def next_revision(previous: list | tuple | None, content: dict[str, Any]) -> tuple[int, str] | None:
    """``(revision, digest)`` to publish, or None when the content is unchanged.

    ``previous`` is the ``[revision, digest]`` last published for the key.
    """
    digest = content_digest(content)
    if previous is not None and previous[1] == digest:
        return None
    return (int(previous[0]) + 1 if previous is not None else 1), digest


def scorecard_event_id(key: str, revision: int) -> str:
    """Deterministic event id of a scorecard update: a replay produces the same ids."""
    return f"scorecard:{key}:{revision}"


def split_scorecard_key(key: str) -> tuple[str, str, str]:
    """``(scope, id, period)`` of a ``{scope}:{id}:{period}`` key (an id may hold ``:``)."""
    scope, rest = key.split(":", 1)
    id, period = rest.rsplit(":", 1)
    return scope, id, period


def stale_published(published: Iterable[tuple[str, list | None]],
                    exists: Callable[[str, str, str], bool]) -> list[tuple[str, str, str, str]]:
    """``(key, scope, id, period)`` of keys still published (not withdrawn) that do not
    exist in a freshly rebuilt engine, sorted. A key can be published and then lose its
    facts in the same moment its worker dies: the rebuilt engine never sees it vanish, so
    it must be withdrawn here or it would stay in the compacted topic."""
    out = []
    for key, previous in published:
        if previous is None or previous[1] is None:
            continue
        scope, id, period = split_scorecard_key(key)
        if not exists(scope, id, period):
            out.append((key, scope, id, period))
    return sorted(out)
