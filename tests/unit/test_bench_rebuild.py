"""The in-process rebuild timing (cli/bench/rebuild.py): what it digests and rebuilds."""

from __future__ import annotations

import asyncio

from sales_scorecard.cli.bench.rebuild import digest, rebuild
from sales_scorecard.streams.fact_log import stored_facts


def test_the_rebuilt_stage_sends_every_published_scorecard_again_in_its_first_flush() -> None:
    # 3 reps in one team, November and December 2025: per scope and id the two months,
    # 2025-Q4, 2025 and both trailing windows (6 keys), for 3 reps, the team and the
    # company: 30 keys, each published once by the digest.
    tables = asyncio.run(digest(reps=3, months=2))
    assert len(stored_facts(tables.facts)) == 3 + 2 * 3 * 2  # rosters, then a deal and a call per rep-month
    assert len(tables.emitted) == 30
    figures = asyncio.run(rebuild(tables))
    assert set(figures) == {"rebuild", "first_flush", "sent"}
    # nothing changed, and still each key goes out again under its recorded revision
    assert figures["sent"] == {"scorecards": 30}
    assert all(revision == 1 for revision, _ in tables.emitted.values())
