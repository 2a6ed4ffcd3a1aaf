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


def test_the_company_from_the_team_values_needs_the_team_stage_beside_partitioned_stages() -> None:
    on = {"SCORECARD_STAGES": "partitioned", "SCORECARD_TEAM_STAGE": "1", "SCORECARD_COMPANY_VALUES": "1"}
    assert Settings.from_env(on).company_values
    assert not Settings.from_env({}).company_values
    for off in ({"SCORECARD_TEAM_STAGE": "0"}, {"SCORECARD_STAGES": "single"}):
        with pytest.raises(SettingsError, match="SCORECARD_COMPANY_VALUES needs SCORECARD_STAGES=partitioned and "
                                                "SCORECARD_TEAM_STAGE=1"):
            Settings.from_env({**on, **off})
