"""The bounded memo the engine keeps derived figures in."""

from __future__ import annotations

from sales_scorecard.core.bounded_memo import LEAST, LIMIT, BoundedMemo, limit_for


def test_a_memo_keeps_what_is_put_and_reads_like_a_dict() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(3)
    assert memo.put("a", 1) == 1
    memo.put("b", 2)
    assert memo.get("a") == 1 and memo["b"] == 2 and "c" not in memo and len(memo) == 2


def test_a_full_memo_starts_over_at_the_next_put() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(3)
    for i, key in enumerate("abc"):
        memo.put(key, i)
    assert dict(memo) == {"a": 0, "b": 1, "c": 2}  # full: three entries
    memo.put("d", 3)
    assert dict(memo) == {"d": 3}  # emptied first, then kept


def test_the_memos_of_a_workers_engines_hold_together_no_more_than_one_whole_engines() -> None:
    assert limit_for(1) == LIMIT
    for share in range(2, 65):
        limit = limit_for(share)
        assert LEAST <= limit <= limit_for(share - 1)
        # an engine of one in ``share`` of the reps: ``share`` of them hold at most one whole
        # engine's bound, unless each is at the floor that keeps a small share's memo useful
        assert limit * share <= LIMIT or limit == LEAST, share


def test_a_share_below_one_is_read_as_the_whole_organisation() -> None:
    assert limit_for(0) == limit_for(-3) == limit_for(1) == LIMIT
