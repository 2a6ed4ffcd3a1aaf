"""``scorecard topics create`` / ``create_topics`` against the real broker."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from sales_scorecard.cli.kafka_io import client_options
from sales_scorecard.cli.topics import create_topics
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import ALL_TOPICS, FACTS

REPO = Path(__file__).resolve().parents[2]


def describe(settings: Settings) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    """(name -> partition count, name -> {config: value}) of every contract topic."""
    admin = KafkaAdminClient(**client_options(settings))
    try:
        names = [t.full_name(settings) for t in ALL_TOPICS]
        partitions = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names)}
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        configs = admin.describe_configs(resources, config_filter="all")["topic"]
    finally:
        admin.close()
    return partitions, {name: {k: v["value"] for k, v in entries.items()} for name, entries in configs.items()}


def test_topics_have_their_partitions_and_policies(test_settings: Settings) -> None:
    partitions, configs = describe(test_settings)
    for spec in ALL_TOPICS:
        name = spec.full_name(test_settings)
        assert partitions[name] == spec.partition_count(test_settings), name
        assert configs[name]["cleanup.policy"] == spec.cleanup, name
        if spec.retention_ms is not None:
            assert configs[name]["retention.ms"] == str(spec.retention_ms), name
    assert partitions[FACTS.full_name(test_settings)] == 1
    assert {configs[t.full_name(test_settings)]["cleanup.policy"] for t in ALL_TOPICS} == {"compact", "delete"}


def test_second_run_reports_every_topic_as_existing(test_settings: Settings) -> None:
    fresh = dataclasses.replace(test_settings, topic_prefix=test_settings.topic_prefix + "again.")
    first = create_topics(fresh)
    assert list(first) == [t.full_name(fresh) for t in ALL_TOPICS]
    assert set(first.values()) == {"created"}
    before = describe(fresh)
    assert create_topics(fresh) == {name: "exists" for name in first}
    assert describe(fresh) == before


def test_differing_partition_count_is_warned_about_not_changed(test_settings: Settings) -> None:
    env = {**os.environ, **test_settings.to_env(), "SCORECARD_PARTITIONS": "6"}
    result = subprocess.run([sys.executable, "-m", "sales_scorecard.cli.main", "topics", "create"],
                            capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    deals = f"{test_settings.topic_prefix}sales.deals"
    assert f"{deals}: exists (4 partitions, want 6)" in result.stdout.splitlines()
    assert f"warning: {deals} exists (4 partitions, want 6); left as it is" in result.stderr
    assert f"{test_settings.topic_prefix}sales.facts: exists" in result.stdout.splitlines()  # always 1 partition
    assert describe(test_settings)[0][deals] == 4


def test_a_worker_creates_its_tables_changelogs_before_it_starts(test_settings: Settings, tmp_path: Path) -> None:
    """``scorecard worker`` creates every table's changelog (compacted, the table's
    partitions) and the assignor's leader topic before Faust's consumer subscribes: a worker
    whose consumer subscribed while another worker was still creating one lacked it in its
    metadata, and a write to that table failed."""
    from sales_scorecard.cli.worker import create_faust_topics
    from sales_scorecard.streams.app import create_app
    from sales_scorecard.streams.topics import table_changelog

    settings = dataclasses.replace(test_settings, data_dir=str(tmp_path), stages="partitioned", team_stage=True,
                                   partitions=3)
    app = create_app(settings).app
    first = create_faust_topics(settings, app)
    assert set(first.values()) == {"created"} and len(first) == len(app.tables) + 1, first
    assert f"{settings.app_id}-__assignor-__leader" in first
    admin = KafkaAdminClient(**client_options(settings))
    try:
        tables = {"facts": 1, "awards": 1, "disputes": 1, "rep_facts": 3, "rep_emitted": 3, "team_facts": 3,
                  "team_alert_state": 3}
        names = [table_changelog(settings, table) for table in tables]
        described = {t["name"]: t for t in admin.describe_topics(names)}
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in names])["topic"]
    finally:
        admin.close()
    for table, partitions in tables.items():
        name = table_changelog(settings, table)
        assert described[name]["error_code"] == 0, name
        assert len(described[name]["partitions"]) == partitions, name
        assert configs[name]["cleanup.policy"]["value"] == "compact", name
    # Again (the next worker of the group): nothing to create.
    assert create_faust_topics(settings, app) == dict.fromkeys(first, "exists")
