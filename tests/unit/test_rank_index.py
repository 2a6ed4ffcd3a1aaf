"""RankIndex: kept up to date one rep at a time, it lists exactly what ``rank`` lists
for the same values (contract §6: shared ranks, rep_id within a tie, no value no row)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_scorecard.core import leaderboard
from sales_scorecard.core.leaderboard import GroupedRankIndex, OrderKey, RankedRow, RankIndex, order_key, rank

REPS = ["a", "b", "c", "d", "e", "f"]
# Ties of different spellings (1, 1.0, 1.00), zero and negative zero, two values that
# differ only in the 41st digit (unary minus would round them together) and two that round
# to the same float (the key's float prefix ties; the exact value decides).
VALUES = [None, D("0"), D("-0"), D("1"), D("1.0"), D("1.00"), D("2"), D("-0.5"), D("2.5"),
          D(10**40 + 1), D(10**40), D("0.1"), D("0.10000000000000000001")]

operations = st.lists(st.tuples(st.sampled_from(REPS), st.sampled_from(VALUES)), max_size=40)


def rows(ranked: list[RankedRow]) -> list[tuple[int, str, D]]:
    """Ranks, reps and values, compared as numbers (1.0 and 1 are one value: a key keeps
    the number, and a board shows the value as rendered, not the key's)."""
    return [(r.rank, r.rep_id, D(r.value)) for r in ranked]


def test_a_row_carries_its_exact_value_back() -> None:
    for value in VALUES[1:]:
        for descending in (True, False):
            index = RankIndex(descending)
            index.add(order_key("a", value, descending))
            [row] = index.top()
            assert row.value == value and str(row.value) != "NaN"
    # a value with more decimals than an int key keeps is kept exactly
    assert order_key("a", D("0.10000000000000000001"))[0] == D("-100000.00000000000001")
    assert order_key("a", D("1.5")) == (-1_500_000, "a")


@settings(max_examples=300, deadline=None)
@given(operations, st.booleans(), st.sampled_from([1_000, 2, 1]))
def test_top_is_rank_of_the_current_values(ops: list[tuple[str, D | None]], descending: bool, block: int) -> None:
    # ``block``: the most keys a block holds (1 and 2: many blocks, split often)
    leaderboard.BLOCK, default = block, leaderboard.BLOCK
    try:
        check_top_is_rank(ops, descending)
    finally:
        leaderboard.BLOCK = default


def check_top_is_rank(ops: list[tuple[str, D | None]], descending: bool) -> None:
    index = RankIndex(descending)
    keys: dict[str, OrderKey] = {}
    current: dict[str, D] = {}
    for rep, value in ops:  # a new value for a rep, or None: the rep leaves the ranking
        if rep in keys:
            index.remove(keys.pop(rep))
            del current[rep]
        if value is not None:
            keys[rep] = order_key(rep, value, descending)
            index.add(keys[rep])
            current[rep] = value
        expected = rank(current.items(), descending=descending)
        assert len(index) == len(expected)
        for limit in (None, 0, 1, 2, 3, len(REPS) + 1, -1, -3):
            assert rows(index.top(limit)) == rows(expected[:limit])
        # one rep's rank, found without reading the rows: the rank ``rank`` gives it
        assert {rep: index.rank_of(key) for rep, key in keys.items()} == {r.rep_id: r.rank for r in expected}


def test_ties_share_a_rank_and_list_by_rep_id() -> None:
    index = RankIndex()
    for rep, value in [("b", D("1.0")), ("a", D("1")), ("c", D("3")), ("d", D("0.5"))]:
        index.add(order_key(rep, value))
    # c first; a and b tie on 1 and share rank 2, a first by rep_id; d ranks 4th.
    assert rows(index.top()) == [(1, "c", D(3)), (2, "a", D(1)), (2, "b", D(1)), (4, "d", D("0.5"))]
    assert rows(index.top(2)) == [(1, "c", D(3)), (2, "a", D(1))]
    assert [index.rank_of(order_key(rep, value)) for rep, value in
            [("c", D(3)), ("a", D(1)), ("b", D("1.00")), ("d", D("0.5"))]] == [1, 2, 2, 4]


def test_rank_of_a_rep_on_a_large_board_counts_the_values_ahead() -> None:
    # 1,500 reps beyond BLOCK (two blocks or more): values 0..499, three reps each. A rep
    # valued v has the 3 × (499 − v) reps of larger values ahead of it, so its rank is that
    # plus one, whichever of the three it is; ranked lowest first, 3 × v plus one.
    for descending in (True, False):
        index = RankIndex(descending)
        for n in range(1_500):
            index.add(order_key(f"r{n:04d}", D(n // 3), descending))
        for n in (0, 1, 2, 3, 700, 1_497, 1_499):
            ahead = 3 * (499 - n // 3) if descending else 3 * (n // 3)
            assert index.rank_of(order_key(f"r{n:04d}", D(n // 3), descending)) == ahead + 1


def test_the_rank_of_a_key_never_ranked_is_an_error() -> None:
    index = RankIndex()
    index.add(order_key("a", D(1)))
    with pytest.raises(ValueError):
        index.rank_of(order_key("b", D(1)))
    with pytest.raises(ValueError):
        index.rank_of(order_key("a", D(2)))


def test_values_beyond_the_float_and_context_precision_keep_their_order() -> None:
    # 10**40 + 1 and 10**40 round to the same float; negated under the 28-digit context
    # they would also tie, putting "a" first by rep_id.
    index = RankIndex()
    index.add(order_key("a", D(10**40)))
    index.add(order_key("b", D(10**40 + 1)))
    assert [r.rep_id for r in index.top()] == ["b", "a"]


def test_nan_has_no_key() -> None:
    # A NaN has no place in an order: refused at once rather than misplaced in a board.
    with pytest.raises(ValueError):
        order_key("a", D(str(float("nan"))))


def test_removing_a_key_never_ranked_is_an_error() -> None:
    index = RankIndex()
    index.add(order_key("a", D(1)))
    with pytest.raises(ValueError):
        index.remove(order_key("b", D(1)))


class Entry:
    """An entry that carries its own key: the value in millionths, negated, and the rep."""

    def __init__(self, rep_id: str, units: int) -> None:
        self.rep_id, self.units = rep_id, units


def test_entries_keyed_by_a_function_rank_by_their_keys_across_blocks() -> None:
    # Values 3, 1, 3, 2 (negated units, the largest first): a and c tie on 3 (rank 1, a
    # first), d ranks 3rd, b 4th. Blocks of at most two entries: three splits' worth.
    leaderboard.BLOCK, default = 2, leaderboard.BLOCK
    try:
        index = RankIndex(key=lambda e: (e.units, e.rep_id))
        a, b, c, d = Entry("a", -3_000_000), Entry("b", -1_000_000), Entry("c", -3_000_000), Entry("d", -2_000_000)
        for entry in (a, b, c, d):
            index.add(entry)
        assert len(index) == 4
        assert list(index.ranks()) == [(1, "a"), (1, "c"), (3, "d"), (4, "b")]
        assert list(index.ranks(3)) == [(1, "a"), (1, "c"), (3, "d")]
        assert [index.rank_of((e.units, e.rep_id)) for e in (a, b, c, d)] == [1, 4, 1, 3]
        assert rows(index.top(1)) == [(1, "a", D(3))]
        # c leaves before its value changes (its key is read from it) and comes back as 0.5
        index.remove(c)
        c.units = -500_000
        index.add(c)
        assert list(index.ranks()) == [(1, "a"), (2, "d"), (3, "b"), (4, "c")]
        index.remove(a)
        index.remove(d)
        assert list(index.ranks()) == [(1, "b"), (2, "c")] and len(index) == 2
        with pytest.raises(ValueError):
            index.remove(a)
    finally:
        leaderboard.BLOCK = default


class TeamEntry(Entry):
    """An entry of a grouped ranking: its team, value (millionths, negated) and rep."""

    def __init__(self, team: str, rep_id: str, units: int) -> None:
        super().__init__(rep_id, units)
        self.team = team


@pytest.mark.parametrize("block", [1_000, 2, 1])
def test_a_grouped_ranking_ranks_each_group_on_its_own(block: int) -> None:
    # Team t1: a 3, b 1, c 3 (a and c tie first, b 3rd). Team t10 (sorts between "t1" and
    # "t2" as a string): d 5, the largest value of all, alone first. Team t2: e 2, f 2, g 4
    # (g first, e and f tie 2nd). Each team ranks as its own board would; t3 has nobody.
    leaderboard.BLOCK, default = block, leaderboard.BLOCK
    try:
        index = GroupedRankIndex(key=lambda e: (e.team, e.units, e.rep_id))
        reps = {rep: TeamEntry(team, rep, -value * 1_000_000) for team, rep, value in
                [("t2", "e", 2), ("t1", "a", 3), ("t1", "b", 1), ("t10", "d", 5), ("t2", "g", 4),
                 ("t1", "c", 3), ("t2", "f", 2)]}
        for entry in reps.values():
            index.add(entry)
        assert len(index) == 7
        assert [index.size(t) for t in ("t1", "t10", "t2", "t3", "")] == [3, 1, 3, 0, 0]
        assert list(index.group_ranks("t1")[0]) == [(1, "a"), (1, "c"), (3, "b")]
        assert list(index.group_ranks("t10")[0]) == [(1, "d")]
        assert list(index.group_ranks("t2")[0]) == [(1, "g"), (2, "e"), (2, "f")]
        assert list(index.group_ranks("t2", 2)[0]) == [(1, "g"), (2, "e")]
        assert list(index.group_ranks("t3")[0]) == [] and list(index.group_ranks("t1", 0)[0]) == []
        assert {rep: index.rank_of((e.team, e.units, e.rep_id)) for rep, e in reps.items()} == \
            {"a": 1, "c": 1, "b": 3, "d": 1, "g": 1, "e": 2, "f": 2}
        # c moves to t2 (it leaves before its key changes) with value 3: second there, behind g
        index.remove(reps["c"])
        reps["c"].team = "t2"
        index.add(reps["c"])
        assert list(index.group_ranks("t1")[0]) == [(1, "a"), (2, "b")]
        assert list(index.group_ranks("t2")[0]) == [(1, "g"), (2, "c"), (3, "e"), (3, "f")]
        assert index.size("t2") == 4 and index.rank_of(("t2", -2_000_000, "f")) == 3
        assert index.standing(("t2", -3_000_000, "c")) == (2, 4) and index.group_ranks("t2", 1)[1] == 4
        with pytest.raises(ValueError):
            index.rank_of(("t1", -3_000_000, "c"))
    finally:
        leaderboard.BLOCK = default


def test_a_bound_counts_the_entries_below_it_across_blocks() -> None:
    # Keys 1..9 (descending: units -1..-9), blocks of at most two: 9 ranks first.
    leaderboard.BLOCK, default = 2, leaderboard.BLOCK
    try:
        index = RankIndex()
        for n in range(1, 10):
            index.add(order_key(f"r{n}", D(n)))
        # below -5 units: 9, 8, 7, 6; below (-5, "") too (the bound sorts before r5's key)
        assert index.count_below((-5_000_000,)) == 4 and index.count_below((-5_000_000, "")) == 4
        assert index.count_below((-5_000_000, "r6")) == 5  # r5 ("r5" < "r6") is below as well
        assert index.count_below((0,)) == 9 and index.count_below((-10_000_000,)) == 0
        assert [key[1] for key in index.entries_at(6)] == ["r3", "r2", "r1"]
        assert list(index.entries_at(9)) == [] and list(index.entries_at(0))[0][1] == "r9"
        assert list(RankIndex().entries_at(0)) == [] and RankIndex().count_below((0,)) == 0
    finally:
        leaderboard.BLOCK = default
