"""Which rep-stage partitions the org stage sends a deal version to (``FactRoutes``)."""

from __future__ import annotations

from typing import Any

from sales_scorecard.streams.fact_routes import REPLACES_WON, Fact, FactRoutes, forwarded, partition_of
from tests import factories as f

PARTITIONS = 3


def _deal(rep: str, stage: str, version: int) -> dict[str, Any]:
    return {"type": "deal", "deal_id": "d-b", "rep_id": rep, "customer_id": "c-shared", "stage": stage,
            "version": version}


def _partitions(routes: FactRoutes, value: Fact) -> set[int]:
    out: dict[int, list[Fact]] = {}
    routes.route(value, out, lambda customer: iter(()))
    return set(out)


def test_a_deal_version_says_whether_it_replaces_a_win_and_the_rep_stage_never_sees_it() -> None:
    routes = FactRoutes(PARTITIONS)
    _, b = f.reps_in_two_partitions(PARTITIONS)
    first = routes.annotate(_deal(b, "open", 1), None)
    won = routes.annotate(_deal(b, "won", 2), first)
    lost = routes.annotate(_deal(b, "lost", 3), won)
    reopened = routes.annotate(_deal(b, "open", 4), lost)
    assert [v[REPLACES_WON] for v in (first, won, lost, reopened)] == [False, False, True, False]
    assert REPLACES_WON not in forwarded(lost)


def test_another_reps_version_reaches_a_partition_dealing_with_the_customer_only_if_it_is_or_replaces_a_win() -> None:
    a, b = f.reps_in_two_partitions(PARTITIONS)
    routes = FactRoutes(PARTITIONS)
    routes.load({"type": "deal", "deal_id": "d-a", "rep_id": a, "customer_id": "c-shared", "stage": "won"})
    own, other = partition_of(b, PARTITIONS), partition_of(a, PARTITIONS)
    open_after_open = {**_deal(b, "open", 2), "_reps": [b], "_customers": ["c-shared"], REPLACES_WON: False}
    assert _partitions(routes, open_after_open) == {own}
    assert _partitions(routes, {**open_after_open, "stage": "lost"}) == {own}
    assert _partitions(routes, {**open_after_open, "stage": "won"}) == {own, other}
    assert _partitions(routes, {**open_after_open, REPLACES_WON: True}) == {own, other}
    # routed again after a duplicate or stale version: a lost send of an earlier version may be owed
    out: dict[int, list[Fact]] = {}
    routes.route(open_after_open, out, lambda customer: iter(()), repeated=True)
    assert set(out) == {own, other}
    # stored before versions said so: routed as if it replaced a win
    stored_before = {k: v for k, v in open_after_open.items() if k != REPLACES_WON}
    assert _partitions(routes, stored_before) == {own, other}


def test_a_review_naming_another_subject_goes_to_both_subjects_partitions() -> None:
    a, b = f.reps_in_two_partitions(PARTITIONS)
    routes = FactRoutes(PARTITIONS)
    first = routes.annotate(f.review("rv", a, "m", "manager", 4), None)
    assert "_reps" not in first and _partitions(routes, first) == {partition_of(a, PARTITIONS)}
    moved = routes.annotate(f.review("rv", b, "m", "manager", 4, occurred_at="2026-11-26T10:00:00+08:00"), first)
    assert _partitions(routes, moved) == {partition_of(a, PARTITIONS), partition_of(b, PARTITIONS)}
    assert "_reps" not in forwarded(moved)


def test_a_deal_routed_again_sends_its_customers_won_deals_to_its_reps_partitions() -> None:
    # A message held b's open deal with c-shared (its catch-up: a's win) and then its won
    # version; a crash lost the sends, and the stored version carries no catch-up.
    a, b = f.reps_in_two_partitions(PARTITIONS)
    routes = FactRoutes(PARTITIONS)
    win = {"type": "deal", "deal_id": "d-a", "rep_id": a, "customer_id": "c-shared", "stage": "won"}
    routes.load(win)
    first = routes.annotate(_deal(b, "open", 1), None)
    assert first["_catch_up"] == {"c-shared": [b]}
    stored = routes.annotate(_deal(b, "won", 2), first)
    assert "_catch_up" not in stored
    for repeated, expected in ((False, []), (True, ["d-a"])):
        out: dict[int, list[Fact]] = {}
        routes.route(stored, out, lambda customer: iter([win]), repeated=repeated)
        assert [v["deal_id"] for v in out[partition_of(b, PARTITIONS)] if v["deal_id"] != "d-b"] == expected
