"""Hand-computed scenarios for the appeals reference model (worked examples of contract §10).

Every expected value below was worked out by hand from docs/contract.md, with a calendar;
the comments show the reasoning. Time zone Asia/Shanghai (UTC+8, no DST) unless stated.
November 2026: Sunday the 1st, Monday the 2nd ... Friday the 20th, Saturday the 21st,
Monday the 23rd, Monday the 30th. Europe/Berlin 2026: CET (UTC+1) until Sunday 29 March
02:00, which becomes 03:00 CEST (UTC+2); back to CET on Sunday 25 October, 03:00 -> 02:00.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.reference.disputes import is_overdue, overdue_deadline

BERLIN = "Europe/Berlin"
CAIRO = "Africa/Cairo"  # EET/EEST; its clocks change on weekdays, unlike Berlin's


def utc(text: str) -> datetime:
    """A UTC instant from `YYYY-MM-DDTHH:MM[:SS]`."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --------------------------------------------------------------------------- business days
@pytest.mark.parametrize(("opened_at", "timezone", "deadline"), [
    # Wednesday 18 Nov 10:00: Thu 1, Fri 2, Mon 3, Tue 4, Wed 25 Nov 5 -> 10:00 +08 = 02:00Z.
    ("2026-11-18T10:00:00+08:00", "Asia/Shanghai", "2026-11-25T02:00"),
    # Friday 20 Nov 17:00: Mon 1 ... Fri 27 Nov 5 -> 17:00 +08 = 09:00Z.
    ("2026-11-20T17:00:00+08:00", "Asia/Shanghai", "2026-11-27T09:00"),
    # Saturday 21 Nov 15:00 counts from Monday 23 Nov 00:00: Tue 1 ... Mon 30 Nov 5 -> 00:00 +08 = 29 Nov 16:00Z.
    ("2026-11-21T15:00:00+08:00", "Asia/Shanghai", "2026-11-29T16:00"),
    # Sunday 22 Nov 23:59: the same Monday 00:00 start, the same deadline.
    ("2026-11-22T23:59:00+08:00", "Asia/Shanghai", "2026-11-29T16:00"),
    # 20 Nov 20:00Z is Saturday 21 Nov 04:00 in Shanghai: a weekend opening there.
    ("2026-11-20T20:00:00Z", "Asia/Shanghai", "2026-11-29T16:00"),
    # 22 Nov 16:30Z is Monday 23 Nov 00:30 in Shanghai: Monday 30 Nov 00:30 +08 = 29 Nov 16:30Z.
    ("2026-11-22T16:30:00Z", "Asia/Shanghai", "2026-11-29T16:30"),
    # Contract §10's example: Friday 27 Mar 17:00 CET (16:00Z) -> Friday 3 Apr 17:00 CEST = 15:00Z, 167 hours.
    ("2026-03-27T17:00:00+01:00", BERLIN, "2026-04-03T15:00"),
    # Sunday 29 Mar 01:30 CET, an hour before the change: from Monday 30 Mar 00:00 CEST to Monday 6 Apr
    # 00:00 CEST = 5 Apr 22:00Z.
    ("2026-03-29T01:30:00+01:00", BERLIN, "2026-04-05T22:00"),
    # Friday 23 Oct 17:00 CEST (15:00Z) -> Friday 30 Oct 17:00 CET = 16:00Z, 169 hours.
    ("2026-10-23T17:00:00+02:00", BERLIN, "2026-10-30T16:00"),
    # Sunday 25 Oct 02:30 CET, the second 02:30 of that night: Monday 26 Oct 00:00 -> Monday 2 Nov 00:00 CET
    # = 1 Nov 23:00Z.
    ("2026-10-25T02:30:00+01:00", BERLIN, "2026-11-01T23:00"),
    # Cairo skips Friday 24 Apr 2026 00:00-01:00 (EET +02 -> EEST +03). Opened Friday 17 Apr 00:30 EET: the
    # deadline wall time Friday 24 Apr 00:30 does not exist, read with the offset before the change (+02):
    # 23 Apr 22:30Z (01:30 EEST), exactly 7 × 24 h later.
    ("2026-04-17T00:30:00+02:00", CAIRO, "2026-04-23T22:30"),
    # Cairo repeats Thursday 29 Oct 2026 23:00-24:00 (EEST +03, then EET +02). Opened Thursday 22 Oct 23:30
    # EEST: the deadline is the first 23:30 of the 29th, +03 = 20:30Z (the second would be 21:30Z).
    ("2026-10-22T23:30:00+03:00", CAIRO, "2026-10-29T20:30"),
    # Opened at that second 23:30 (+02, 21:30Z): Fri 1, Mon 2, Tue 3, Wed 4, Thu 5 Nov 5 -> 23:30 EET = 21:30Z.
    ("2026-10-29T23:30:00+02:00", CAIRO, "2026-11-05T21:30"),
])
def test_overdue_deadline_steps_over_five_local_weekdays(opened_at: str, timezone: str, deadline: str) -> None:
    assert overdue_deadline(opened_at, timezone) == utc(deadline)


def test_overdue_is_strictly_after_the_deadline() -> None:
    opened = "2026-03-27T17:00:00+01:00"  # deadline 2026-04-03T15:00Z (above)
    assert not is_overdue(opened, "2026-04-03T14:59:59Z", BERLIN)
    assert not is_overdue(opened, "2026-04-03T17:00:00+02:00", BERLIN)  # exactly 5 business days: not more
    assert is_overdue(opened, "2026-04-03T15:00:01Z", BERLIN)
    # A weekend adds nothing: opened Friday 20 Nov 17:00, on Thursday 26 Nov 23:00 it has 4 business days and
    # 6 hours (Sat 21 and Sun 22 count 0), and on Saturday 28 Nov 09:00 it is past Friday 27 Nov 17:00.
    assert not is_overdue("2026-11-20T17:00:00+08:00", "2026-11-26T23:00:00+08:00")
    assert is_overdue("2026-11-20T17:00:00+08:00", "2026-11-28T09:00:00+08:00")
