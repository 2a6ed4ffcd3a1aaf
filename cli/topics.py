"""``scorecard topics create``: every topic of the contract, idempotently."""

from __future__ import annotations

import click

from sales_scorecard.cli.kafka_io import kafka_errors, make_admin
from sales_scorecard.streams.settings import Settings
from sales_scorecard.streams.topics import ALL_TOPICS

CREATED = "created"
EXISTS = "exists"


def create_topics(settings: Settings, timeout_s: float = 30.0) -> dict[str, str]:
    """Create the missing topics of ``ALL_TOPICS`` and wait until they have leaders.

    Returns full name -> ``created``, ``exists`` or, for an existing topic whose
    partition count differs, ``exists (N partitions, want M)``. Existing topics are
    never altered.
    """
    from kafka.errors import KafkaError, TopicAlreadyExistsError, for_code

    admin = make_admin(settings)
    try:
        with kafka_errors(settings):
            names = [spec.full_name(settings) for spec in ALL_TOPICS]
            described = admin.describe_topics(names)
            existing = {t["name"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
            result: dict[str, str] = {}
            missing: dict[str, dict] = {}
            for spec in ALL_TOPICS:
                name = spec.full_name(settings)
                want = spec.partition_count(settings)
                if name in existing:
                    have = existing[name]
                    result[name] = EXISTS if have == want else f"{EXISTS} ({have} partitions, want {want})"
                else:
                    missing[name] = {"num_partitions": want, "replication_factor": settings.replication_factor,
                                     "configs": spec.config()}
            if missing:
                response = admin.create_topics(missing, timeout_ms=int(timeout_s * 1000), raise_errors=False)
                for topic in response["topics"]:
                    error = for_code(topic["error_code"])
                    if error is TopicAlreadyExistsError:  # created concurrently by someone else
                        result[topic["name"]] = EXISTS
                    elif topic["error_code"] != 0:
                        raise KafkaError(f"creating {topic['name']}: {error.__name__} "
                                         f"{topic.get('error_message') or ''}")
                    else:
                        result[topic["name"]] = CREATED
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
