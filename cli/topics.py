"""``scorecard topics create``: every topic of the contract, idempotently."""

from __future__ import annotations

import click

from sales_scorecard.cli.kafka_io import make_admin
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import ALL_TOPICS


def create_topics(settings: Settings) -> dict[str, str]:
    """Create missing topics; returns name -> ``created``, ``exists`` or ``exists (N partitions, want M)``."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = make_admin(settings)
    try:
        existing = {t["name"]: len(t["partitions"]) for t in admin.describe_topics()}
        result: dict[str, str] = {}
        for spec in ALL_TOPICS:
            name = spec.full_name(settings)
            want = spec.partition_count(settings)
            if name in existing:
                have = existing[name]
                result[name] = "exists" if have == want else f"exists ({have} partitions, want {want})"
                continue
            topic = NewTopic(name, want, settings.replication_factor, topic_configs=spec.config())
            try:
                admin.create_topics([topic])
                result[name] = "created"
            except TopicAlreadyExistsError:
                result[name] = "exists"
        return result
    finally:
        admin.close()


@click.group("topics")
def command() -> None:
    """Manage the topics of the contract (SPEC §2)."""


@command.command("create")
def create() -> None:
    """Create every topic with its partitions and cleanup policy; existing ones are left alone."""
    settings = Settings.from_env()
    for name, state in create_topics(settings).items():
        if state.startswith("exists ("):
            click.echo(f"warning: {name} {state}", err=True)
        click.echo(f"{name}: {state}")
