"""The ranks My scorecard shows (contract §13): a rep's rank by score and by revenue on the
company board and on the board of the team its month's scorecard names, with its rank on
the same board the month before. Each is looked up in the ordered indexes of
``BoardCache`` (O(log n)); no board is read whole.
"""

from __future__ import annotations

from typing import Any

from .boards import BoardCache
from .labels import shift

#: The metrics My scorecard ranks a rep by.
MY_METRICS = ("score", "revenue")


def my_ranks(cache: BoardCache, rep_id: str, month: str) -> dict[str, Any] | None:
    """The rep's ranks in ``month``, None while the rep's month is not in the cache (not
    rendered yet): ``boards`` holds ``company`` and ``team`` (a rep with no roster entry is
    on ``team:unassigned``), each with its ``board`` name and, per metric, the rank, of how
    many, ``top_percent``, ``top_decile`` and ``previous_rank`` on that board the month
    before (null: not ranked then); a metric the rep is not ranked by (no value) is null."""
    team = cache.team_of(rep_id, month)
    if team is None:
        return None
    previous = shift(month, -1)
    boards = {"company": "company", "team": f"team:{team}"}
    return {"rep_id": rep_id, "month": month, "previous_month": previous,
            "boards": {which: board_ranks(cache, board, rep_id, month, previous) for which, board in boards.items()}}


def board_ranks(cache: BoardCache, board: str, rep_id: str, month: str, previous: str) -> dict[str, Any]:
    """The rep's rank on one board in ``month`` per metric, with its rank there in ``previous``."""
    out: dict[str, Any] = {"board": board}
    for metric in MY_METRICS:
        now = cache.standing(board, month, metric, rep_id)
        before = cache.standing(board, previous, metric, rep_id)
        out[metric] = None if now is None else {
            **now.to_json(), "previous_rank": None if before is None else before.rank}
    return out
