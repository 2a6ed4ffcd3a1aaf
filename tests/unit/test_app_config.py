"""The worker's Faust app as configured by ``create_app`` (built, not started: no broker):
Faust's built-in web views off, no access log, and the settings that reach Faust's conf."""

from __future__ import annotations

from pathlib import Path

import faust
import pytest
from faust.web.base import BLUEPRINT_FLAGS

from sales_scorecard.streams.app import create_app
from sales_scorecard.streams.settings import Settings

#: The one built-in blueprint Faust mounts regardless of the flags: a static
#: ``{"status": "OK"}`` at ``/`` (served where the stats index would be).
STATIC_INDEX = "faust.web.apps.production_index:blueprint"
#: Where Faust's built-in views live (router, tables, graph, stats, performance).
BUILT_IN_PREFIXES = ("/router", "/table", "/assignment", "/graph", "/stats", "/signal", "/performance")


def mounted_blueprints(app: faust.App) -> list[str]:
    """The built-in blueprints Faust will mount when the web server starts."""
    return [str(bp) for _, bp in app.web.blueprints._enabled]


def assert_no_built_in_views(app: faust.App) -> None:
    """Every ``web_*_enabled`` flag is off and no built-in blueprint but the static index is mounted."""
    for flag in sorted(set(BLUEPRINT_FLAGS.values())):
        assert getattr(app.conf, flag) is False, flag
    assert set(mounted_blueprints(app)) <= {STATIC_INDEX}, mounted_blueprints(app)


def build(tmp_path: Path, **overrides) -> faust.App:
    """The worker's app for ``Settings(**overrides)`` (memory store, data under ``tmp_path``)."""
    return create_app(Settings(data_dir=str(tmp_path), store="memory", **overrides)).app


def test_no_built_in_web_views(tmp_path: Path) -> None:
    app = build(tmp_path)
    assert_no_built_in_views(app)
    assert mounted_blueprints(app) == []  # streams/page_assets.py drops the static index: "/" is the leaderboard page
    app.web.blueprints.apply(app.web)  # what the web server does when it starts
    routes = {getattr(r.resource, "canonical", "") for r in app.web.web_app.router.routes()}
    assert "/readyz" in routes and "/api/leaderboard" in routes, routes
    assert not {p for p in routes if p.startswith(BUILT_IN_PREFIXES)}, routes


def test_every_route_of_the_worker_has_an_access_kind(tmp_path: Path) -> None:
    """Deny by default makes a route the middleware does not know admin-only: each page and API
    route the worker serves (My scorecard's included) is classified."""
    from sales_scorecard.streams.auth import KIND_BY_ROUTE, OPERATIONAL

    app = build(tmp_path)
    app.web.blueprints.apply(app.web)
    routes = {getattr(r.resource, "canonical", "") for r in app.web.web_app.router.routes()}
    assert {"/", "/me", "/api/me", "/api/me/ranks", "/static/scorecard.css", "/static/scorecard.js"} <= routes
    assert routes - OPERATIONAL <= set(KIND_BY_ROUTE), routes - OPERATIONAL - set(KIND_BY_ROUTE)


def test_web_server_has_no_access_log(tmp_path: Path) -> None:
    """aiohttp's access log (``aiohttp.access``, with request lines) is switched off at the runner."""
    app = build(tmp_path)
    assert app.web._runner._kwargs.get("access_log", "unset") is None


@pytest.mark.parametrize("standby", [0, 1, 2])
def test_standby_replicas_reach_faust(tmp_path: Path, standby: int) -> None:
    assert build(tmp_path, standby_replicas=standby).conf.table_standby_replicas == standby


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_processing_guarantee_reaches_faust(tmp_path: Path, guarantee: str) -> None:
    assert build(tmp_path, processing_guarantee=guarantee).conf.processing_guarantee.value == guarantee


@pytest.mark.parametrize(("overrides", "team_stage"), [
    ({}, False),
    ({"stages": "partitioned"}, False),  # off by default

    ({"stages": "single", "team_stage": True}, False),  # the team stage runs only beside the rep stage
    ({"stages": "partitioned", "team_stage": True}, True),
])
def test_the_team_tables_and_agent_exist_only_where_the_team_stage_runs(tmp_path: Path, overrides: dict,
                                                                     team_stage: bool) -> None:
    """A worker declares the team stage's tables (whose changelogs every worker of the group
    would recover) and its agent only when it runs the stage."""
    app = build(tmp_path, **overrides)
    team_tables = {"team_facts", "team_emitted", "team_alert_state", "team_award_reports", "team_rows"}
    assert (team_tables <= set(app.tables)) is team_stage, sorted(app.tables)
    assert not (team_tables & set(app.tables)) or team_stage, sorted(app.tables)
    assert ("apply_team_facts" in {agent.name.rsplit(".", 1)[-1] for agent in app.agents.values()}) is team_stage
