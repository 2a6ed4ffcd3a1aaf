"""Pure domain core: periods, money, targets, KPIs, scorecards, commissions, rankings, appeals.

Nothing here imports Faust or Kafka (``tests/unit/test_core_is_pure.py`` checks it),
so every figure can be recomputed offline from the same events.
"""
