"""SCORECARD_STAGES: the aggregation's shape, checked when the settings are read."""

from __future__ import annotations

import pytest

from sales_scorecard.streams.settings import Settings, SettingsError


def test_stages_default_to_the_single_stage_and_read_partitioned_from_the_environment() -> None:
    assert Settings.from_env({}).stages == "single"
    assert Settings.from_env({"SCORECARD_STAGES": "partitioned"}).stages == "partitioned"


def test_an_unknown_shape_is_one_line_saying_what_to_fix() -> None:
    with pytest.raises(SettingsError, match="SCORECARD_STAGES must be 'single' or 'partitioned'"):
        Settings.from_env({"SCORECARD_STAGES": "sharded"}).check()
