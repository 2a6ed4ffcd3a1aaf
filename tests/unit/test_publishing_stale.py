"""After a rebuild, published keys that no longer exist are found for withdrawal."""

from sales_scorecard.core.publishing import split_scorecard_key, stale_published


def test_split_keeps_colons_inside_the_id() -> None:
    assert split_scorecard_key("rep:r1:2026-11") == ("rep", "r1", "2026-11")
    assert split_scorecard_key("team:emea:north:R30D") == ("team", "emea:north", "R30D")


def test_only_published_keys_missing_from_the_engine_are_stale() -> None:
    existing = {("rep", "r1", "2026-11"), ("team", "t1", "2026-11")}
    published = [
        ("rep:r1:2026-11", [3, "digest"]),               # exists: kept
        ("team:unassigned:2026-11", [1, "digest"]),      # gone: withdraw
        ("team:unassigned:R30D", [2, "digest"]),         # gone: withdraw
        ("rep:r9:2026-10", [4, None]),                   # already withdrawn (tombstone sent)
        ("team:t1:2026-11", [1, "digest"]),              # exists: kept
        ("rep:r8:2026-11", None),                        # never published
    ]
    stale = stale_published(published, lambda scope, id, period: (scope, id, period) in existing)
    assert stale == [("team:unassigned:2026-11", "team", "unassigned", "2026-11"),
                     ("team:unassigned:R30D", "team", "unassigned", "R30D")]
