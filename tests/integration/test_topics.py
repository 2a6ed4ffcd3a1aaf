"""``scorecard topics create`` against the real broker."""

from __future__ import annotations

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from sales_scorecard.cli.topics import create_topics
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import ALL_TOPICS, FACTS, SCORECARDS


def test_topics_are_created_once_with_their_policies(test_settings: Settings) -> None:
    # test_settings already created them: a second run changes nothing.
    again = create_topics(test_settings)
    assert set(again) == {t.full_name(test_settings) for t in ALL_TOPICS}
    assert set(again.values()) == {"exists"}
    admin = KafkaAdminClient(bootstrap_servers=test_settings.bootstrap_servers)
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(list(again))}
        assert described[SCORECARDS.full_name(test_settings)] == test_settings.partitions
        assert described[FACTS.full_name(test_settings)] == 1
        resources = [ConfigResource(ConfigResourceType.TOPIC, t.full_name(test_settings)) for t in ALL_TOPICS]
        configs = admin.describe_configs(resources, config_filter="all")["topic"]
        policies = {name: entries["cleanup.policy"]["value"] for name, entries in configs.items()}
    finally:
        admin.close()
    for spec in ALL_TOPICS:
        assert policies[spec.full_name(test_settings)] == spec.cleanup, spec.name
