"""The loop time a worker's flushes may take off the cadence (``streams.render_budget``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sales_scorecard.streams.render_budget import NoBudget, RenderBudget


def back_to_back(allows: Callable[[float], bool], budget: RenderBudget, flush: float, wait: float) -> float:
    """Seconds rendered in 10 s by flushes of ``flush`` seconds, each started as soon as
    ``allows`` says so (else ``wait`` seconds later)."""
    now, rendered = 0.0, 0.0
    while now < 10.0:
        if allows(now):
            now += flush
            rendered += flush
            budget.spend(flush, ended=now, stage="org")
        else:
            now += wait
    return rendered


def test_a_fresh_budget_allows_and_a_flush_longer_than_the_burst_owes_the_difference() -> None:
    budget = RenderBudget(share=0.5, burst=0.1)
    assert budget.allows(100.0)
    budget.spend(0.3, ended=100.0, stage="org")  # 0.1 - 0.3
    assert budget.credit == pytest.approx(-0.2)
    assert not budget.allows(100.2)  # -0.2 + 0.2 x 0.5 = -0.1
    assert not budget.allows(100.38)  # -0.2 + 0.38 x 0.5 = -0.01
    assert budget.allows(100.5)  # +0.05


def test_credit_comes_back_at_the_share_up_to_the_burst_only() -> None:
    budget = RenderBudget(share=0.5, burst=0.1)
    budget.allows(100.0)
    assert budget.allows(160.0) and budget.credit == pytest.approx(0.1)  # an idle minute saves no more
    budget.spend(0.04, ended=160.0, stage="org")
    budget.spend(0.04, ended=160.0, stage="org")
    assert budget.allows(160.0) and budget.credit == pytest.approx(0.02)
    budget.spend(0.04, ended=160.0, stage="org")
    assert not budget.allows(160.0)  # three flushes of 40 ms in a row: the burst is spent


def test_the_time_a_flush_takes_earns_credit_too_so_rendering_takes_at_most_the_share() -> None:
    # Starting at t=100 with 0.1 s of credit, a flush from 100.0 to 100.3 earns 0.15 while it
    # runs but the burst caps the credit at 0.1 first: 0.1 - 0.3 = -0.2.
    budget = RenderBudget(share=0.5, burst=0.1)
    budget.allows(100.0)
    budget.spend(0.3, ended=100.3, stage="org")
    assert budget.credit == pytest.approx(-0.2)
    # Flushes of 0.1 s back to back, each started as soon as it is allowed: over 10 s the
    # loop renders at most half of the time (plus the burst and one flush's overshoot).
    budget = RenderBudget(share=0.5, burst=0.1)
    rendered = back_to_back(budget.allows, budget, flush=0.1, wait=0.01)
    assert rendered <= 0.5 * 10.0 + 0.1 + 0.1


def test_after_a_very_long_flush_credit_is_back_within_two_seconds() -> None:
    budget = RenderBudget(share=0.5, burst=0.1)
    budget.allows(0.0)
    budget.spend(180.0, ended=180.0, stage="org")  # every month of 10,000 reps at once
    assert budget.credit == pytest.approx(-1.0)  # owes at most 2 s x 0.5
    assert not budget.allows(181.9)  # -1.0 + 1.9 x 0.5 = -0.05
    assert budget.allows(182.1)  # +0.05: not six minutes later


def test_months_may_borrow_up_to_the_reserve_while_keys_set_aside_wait_for_credit() -> None:
    budget = RenderBudget(share=0.5, burst=0.1, reserve=0.5)
    budget.allows(100.0)
    budget.spend(0.3, ended=100.0, stage="org")  # a regular flush of longer periods: -0.2
    assert not budget.allows(100.0) and budget.allows_months(100.0)
    budget.spend(0.35, ended=100.0, stage="org")  # -0.55: more than the months may borrow
    assert not budget.allows_months(100.0)
    assert not budget.allows_months(100.09)  # -0.505
    assert budget.allows_months(100.11) and not budget.allows(100.11)  # -0.495
    assert budget.allows(101.2)  # +0.05


def test_months_rendered_faster_than_the_share_still_wait_for_credit() -> None:
    # Leading-edge flushes of 10 ms back to back, each started as soon as allowed: over
    # 10 s they take at most the share of the loop, plus the burst and the reserve.
    budget = RenderBudget(share=0.5, burst=0.1, reserve=0.5)
    rendered = back_to_back(budget.allows_months, budget, flush=0.01, wait=0.001)
    assert rendered <= 0.5 * 10.0 + 0.1 + 0.5 + 0.01
    assert -0.51 <= budget.credit <= -0.49


def test_a_clock_reading_earlier_than_the_last_one_changes_nothing() -> None:
    budget = RenderBudget(share=0.5, burst=0.1)
    budget.spend(0.2, ended=10.0, stage="org")  # -0.1
    assert not budget.allows(9.0)
    assert budget.credit == pytest.approx(-0.1) and budget.at == 10.0


def test_a_stage_alone_on_its_loop_is_never_held_back() -> None:
    budget = NoBudget()
    budget.spend(180.0, ended=180.0, stage="org")
    assert budget.allows(180.0) and budget.allows_months(180.0)
    assert budget.sharing(180.0, "rep:0") == 1


def test_the_stages_flushing_are_the_one_asking_and_those_that_flushed_within_thirty_seconds() -> None:
    budget = RenderBudget()
    assert budget.sharing(0.0, "org") == 1  # none yet: the stage asking
    budget.spend(0.01, ended=10.0, stage="org")
    budget.spend(0.01, ended=11.0, stage="rep:0")
    budget.spend(0.01, ended=12.0, stage="rep:1")
    budget.spend(0.01, ended=12.5, stage="rep:0")  # a stage counts once
    assert budget.sharing(13.0, "org") == 3
    assert budget.sharing(13.0, "rep:2") == 4  # asking before its first flush
    assert budget.sharing(40.0, "rep:0") == 3  # the org stage's last flush was exactly 30 s ago
    assert budget.sharing(40.1, "rep:0") == 2  # ... and now longer: nothing left to render
    assert budget.sharing(42.6, "rep:0") == 1
    budget.spend(0.01, ended=50.0, stage="org")  # back
    budget.spend(0.01, ended=50.0, stage="rep:1")
    budget.forget("rep:1")  # its partition revoked
    assert budget.sharing(50.0, "org") == 1
