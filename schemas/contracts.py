"""Loading the packaged JSON Schema files and building validators for them (once)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

BASE_URI = "https://sales-scorecard.example/schemas/"
INPUT_TYPES = ("deal", "complaint", "activity", "roster", "target", "close_period")
OUTPUT_TYPES = ("scorecard", "leaderboard", "alert", "deadletter", "payroll.statement", "payroll.adjustment")


def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema file ``json/<name>.schema.json``."""
    text = resources.files("sales_scorecard.schemas").joinpath(f"json/{name}.schema.json").read_bytes()
    return orjson.loads(text)


@lru_cache(maxsize=1)
def registry() -> Registry:
    """A referencing registry holding every schema by its ``$id``."""
    resources_ = []
    for name in ("common", *INPUT_TYPES, *OUTPUT_TYPES):
        schema = load_schema(name)
        resources_.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources_)


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    """A validator for one schema, with ``$ref``s resolved through the registry."""
    return Draft202012Validator(load_schema(name), registry=registry())
