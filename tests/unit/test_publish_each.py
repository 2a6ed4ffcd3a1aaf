"""A flush publishes every dirty scorecard even when one of them fails."""

from __future__ import annotations

import asyncio

from sales_scorecard.streams.aggregation import MAX_FAILURES_PER_FLUSH, publish_each

KEYS = [("rep", f"r{n}", "2026-11") for n in range(5)]


def run(keys, failing: set) -> tuple[list, list, int]:
    published: list = []
    given_back: list = []

    async def publish_one(key) -> None:
        if key in failing:
            raise ValueError(f"cannot render {key}")
        published.append(key)

    failures = asyncio.run(publish_each(keys, publish_one, given_back.extend))
    return published, given_back, failures


def test_one_failing_key_does_not_stop_the_others_and_is_given_back(caplog) -> None:
    published, given_back, failures = run(KEYS, {KEYS[1]})
    assert published == [k for k in KEYS if k != KEYS[1]]
    assert given_back == [KEYS[1]]
    assert failures == 1
    assert "rep:r1:2026-11" in caplog.text


def test_many_failures_give_back_every_untried_key() -> None:
    keys = [("rep", f"r{n}", "2026-11") for n in range(MAX_FAILURES_PER_FLUSH + 5)]
    failing = set(keys[:MAX_FAILURES_PER_FLUSH])
    published, given_back, failures = run(keys, failing)
    assert published == []
    assert failures == MAX_FAILURES_PER_FLUSH
    assert sorted(given_back) == sorted(keys)


def test_nothing_fails_nothing_given_back() -> None:
    assert run(KEYS, set()) == (KEYS, [], 0)
