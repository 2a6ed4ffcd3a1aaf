"""``scorecard topics create``: every topic of the contract, idempotently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import click

from sales_scorecard.cli.kafka_io import kafka_errors, make_admin
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import ALL_TOPICS

CREATED = "created"
EXISTS = "exists"


@dataclass(frozen=True)
class WantedTopic:
    """A topic to create when it is missing: full name, partitions, topic-level configuration."""

    name: str
    partitions: int
    configs: dict[str, str]


def create_topics(settings: Settings, timeout_s: float = 30.0) -> dict[str, str]:
    """Create the missing topics of ``ALL_TOPICS`` and wait until they have leaders
    (``ensure_topics``)."""
    return ensure_topics(settings, [WantedTopic(spec.full_name(settings), spec.partition_count(settings),
                                                spec.config()) for spec in ALL_TOPICS], timeout_s)


def ensure_topics(settings: Settings, wanted: Sequence[WantedTopic], timeout_s: float = 30.0) -> dict[str, str]:
    """Create the missing topics of ``wanted`` and wait until they have leaders.

    Returns full name -> ``created``, ``exists`` or, for an existing topic whose
    partition count differs, ``exists (N partitions, want M)``. Existing topics are
    never altered.
    """
    from kafka.errors import KafkaError, TopicAlreadyExistsError, for_code

    admin = make_admin(settings)
    try:
        with kafka_errors(settings):
            names = [topic.name for topic in wanted]
            described = admin.describe_topics(names)
            existing = {t["name"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
            result: dict[str, str] = {}
            missing: dict[str, dict] = {}
            for topic in wanted:
                if topic.name in existing:
                    have = existing[topic.name]
                    result[topic.name] = (EXISTS if have == topic.partitions
                                          else f"{EXISTS} ({have} partitions, want {topic.partitions})")
                else:
                    missing[topic.name] = {"num_partitions": topic.partitions,
                                           "replication_factor": settings.replication_factor,
                                           "configs": topic.configs}
            if missing:
                response = admin.create_topics(missing, timeout_ms=int(timeout_s * 1000), raise_errors=False)
                for created in response["topics"]:
                    error = for_code(created["error_code"])
                    if error is TopicAlreadyExistsError:  # created concurrently by someone else
                        result[created["name"]] = EXISTS
                    elif created["error_code"] != 0:
                        raise KafkaError(f"creating {created['name']}: {error.__name__} "
                                         f"{created.get('error_message') or ''}")
                    else:
                        result[created["name"]] = CREATED
                # Creation is asynchronous on KRaft: wait until every partition has a leader,
                # so a producer or worker started right after does not see a missing topic.
                admin.wait_for_topics(list(missing), timeout_ms=int(timeout_s * 1000))
        return {name: result[name] for name in names}
    finally:
        admin.close()


@click.group("topics")
def command() -> None:
    """Manage the topics of the contract (docs/contract.md §2)."""


@command.command("create")
def create() -> None:
    """Create every topic with its partitions and cleanup policy; existing ones are left alone."""
    from kafka.errors import KafkaError

    from sales_scorecard.cli.main import UserError

    settings = Settings.from_env()
    try:
        states = create_topics(settings)
    except KafkaError as exc:
        raise UserError(f"cannot create topics: {exc}") from None
    for name, state in states.items():
        if state.startswith(f"{EXISTS} ("):
            click.echo(f"warning: {name} {state}; left as it is", err=True)
        click.echo(f"{name}: {state}")
