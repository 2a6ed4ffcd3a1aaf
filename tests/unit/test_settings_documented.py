"""docs/configuration.md's defaults are the settings object's: a default changed in code
and not in the table (or the other way round) fails here."""

from __future__ import annotations

import re
from pathlib import Path

from sales_scorecard.streams.settings import Settings

CONFIGURATION = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
#: a table row: | `SCORECARD_NAME` | `default` | ...
ROW = re.compile(r"^\| `(SCORECARD_[A-Z0-9_]+)` \| `([^`]*)` \|")


def documented_defaults() -> dict[str, str]:
    """Variable -> the default the table gives as a literal (rows saying "empty",
    "packaged default" and such are left out, and so is a default that names another
    variable: ``SCORECARD_ADVERTISED_HOST`` falls back to ``SCORECARD_WEB_HOST``)."""
    found: dict[str, str] = {}
    for line in CONFIGURATION.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match and not match.group(2).startswith("SCORECARD_"):
            found[match.group(1)] = match.group(2)
    return found


def test_every_literal_default_in_the_table_is_the_settings_default() -> None:
    documented = documented_defaults()
    actual = Settings.from_env({}).to_env()
    compared = {name: value for name, value in documented.items() if name in actual and "~" not in value}
    # the pacing and runtime defaults are among them: the table is not vacuous
    assert {"SCORECARD_COALESCE_MS", "SCORECARD_COALESCE_LONG_MS", "SCORECARD_GC_THRESHOLD",
            "SCORECARD_PARTITIONS"} <= set(compared)
    assert {name: actual[name] for name in compared} == compared
