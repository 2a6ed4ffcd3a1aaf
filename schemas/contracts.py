"""The packaged JSON Schema files (``json/*.schema.json``) and validators built from them.

Every schema is registered in one ``referencing`` registry under its ``$id``, so
``{"$ref": "common.schema.json#/$defs/id"}`` resolves offline. Validators are Draft
2020-12 with two deliberate tightenings, both matching JSON rather than Python:

* ``integer`` means a JSON integer literal: ``1.0`` is not an integer (Draft 2020-12
  would accept it, and a float version or count would then leak into the engine);
* ``pattern`` follows ECMA-262, where ``$`` is the end of the string (Python's ``$``
  also matches before a trailing newline, so ``"r1\\n"`` would pass as an id).

``validator(name)`` (jsonschema) is the reference and explains failures;
``fast_check(name)`` (fastjsonschema, code generated once) only answers "valid?" about
15 times faster and is used to accept the common, valid record. The keywords the
contracts use mean the same in Draft 7, which fastjsonschema implements;
``tests/unit/test_validation.py`` checks the two agree on mutated events.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import fastjsonschema
import orjson
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.protocols import Validator
from referencing import Registry, Resource

BASE_URI = "https://sales-scorecard.example/schemas/"
INPUT_TYPES: tuple[str, ...] = (
    "deal", "complaint", "activity", "roster", "target", "close_period", "review", "engagement",
)
#: The appeal inputs (contract §10). Not input types of the worker yet: no stage reads
#: their topic, so ``validation.DisputeValidator`` checks them on their own.
DISPUTE_TYPES: tuple[str, ...] = ("dispute_opened", "dispute_resolved", "dispute_withdrawn")
#: Logical topic of the appeal inputs; joins the topic registry (streams/topics.py) with the stage.
DISPUTES_TOPIC = "sales.disputes"
OUTPUT_TYPES: tuple[str, ...] = (
    "scorecard", "leaderboard", "alert", "deadletter", "payroll.statement", "payroll.adjustment", "dispute", "award",
)
SCHEMA_NAMES: tuple[str, ...] = ("common", *INPUT_TYPES, *DISPUTE_TYPES, *OUTPUT_TYPES)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _ecma_pattern(validator: Validator, pattern: str, instance: Any,
                  schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        shown = instance if len(instance) <= 80 else instance[:77] + "..."
        yield ValidationError(f"{shown!r} does not match {pattern!r}")


def _is_json_integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


ContractValidator = validators.extend(
    Draft202012Validator,
    validators={"pattern": _ecma_pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_json_integer),
)


@cache
def _schema_bytes(name: str) -> bytes:
    return resources.files("sales_scorecard.schemas").joinpath(f"json/{name}.schema.json").read_bytes()


def load_schema(name: str) -> dict[str, Any]:
    """A fresh parsed copy of ``json/<name>.schema.json`` (e.g. ``deal``, ``payroll.statement``)."""
    return orjson.loads(_schema_bytes(name))


@lru_cache(maxsize=1)
def registry() -> Registry:
    """A referencing registry holding every packaged schema by its ``$id``."""
    pairs = []
    for name in SCHEMA_NAMES:
        schema = load_schema(name)
        pairs.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(pairs)


def _inline(node: Any, resolver: Any) -> Any:
    if isinstance(node, list):
        return [_inline(item, resolver) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str):
        resolved = resolver.lookup(node["$ref"])
        target = _inline(resolved.contents, resolved.resolver)
        siblings = {k: _inline(v, resolver) for k, v in node.items() if k != "$ref"}
        return {**target, **siblings}
    return {k: _inline(v, resolver) for k, v in node.items()}


def bundled(name: str) -> dict[str, Any]:
    """Schema ``name`` with every ``$ref`` replaced by what it points to (the contracts are not recursive).

    Validating against it gives the same verdicts as the original and skips reference
    resolution on every record, which is most of jsonschema's cost.
    """
    schema = load_schema(name)
    out = _inline(schema, registry().resolver(base_uri=schema["$id"]))
    out.pop("$defs", None)
    return out


@cache
def validator(name: str) -> Validator:
    """The (cached) validator of one schema, built once on its bundled form."""
    return ContractValidator(bundled(name))


#: Keywords the input contracts may use: they mean the same in Draft 7 and Draft 2020-12.
FAST_KEYWORDS = frozenset({
    "type", "required", "properties", "const", "enum", "pattern", "minLength", "maxLength", "minimum",
    "maximum", "anyOf", "allOf", "if", "then", "else", "items", "uniqueItems", "additionalProperties",
    "default", "description", "title", "x-decimal", "minProperties", "propertyNames",
})


def keywords(node: Any) -> set[str]:
    """Every keyword used in a (bundled) schema, property names excluded."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    found |= keywords(sub)
            else:
                found |= keywords(value)
    elif isinstance(node, list):
        for item in node:
            found |= keywords(item)
    return found


@cache
def fast_check(name: str) -> FastCheck:
    """A compiled ``callable(instance)`` that raises ``fastjsonschema.JsonSchemaException`` when invalid.

    Floats are integers to fastjsonschema (``1.0``): the caller must not trust it on those.
    """
    schema = bundled(name)
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    unknown = keywords(schema) - FAST_KEYWORDS - {"$comment"}
    if unknown:
        raise ValueError(f"{name}: keywords {sorted(unknown)} are not checked by the fast path")
    return FastCheck(schema)


class FastCheck:
    """A schema compiled by fastjsonschema once per outcome of its switches: the rules of
    its top-level ``allOf`` of the form ``if {"properties": {F: {"const" or "enum": strings}},
    "required": [F]} then … [else …]`` (an activity's ``kind``, a deal's ``stage``). Each
    compiled form has every switch decided (``then`` kept where it holds, ``else`` or nothing
    where not), so a record is checked without fastjsonschema raising and catching an
    exception for every ``if`` that does not hold, the same verdict as the whole schema."""

    def __init__(self, schema: dict[str, Any]) -> None:
        rules = schema.get("allOf", [])
        #: (index in ``allOf``, field F, the strings F must be one of for the rule to hold)
        self.switches = tuple((i, *found) for i, rule in enumerate(rules) if (found := _switch(rule)) is not None)
        self._checks = {outcome: fastjsonschema.compile(_decided(schema, self.switches, outcome),
                                                        use_default=False, use_formats=False)
                        for outcome in itertools.product((False, True), repeat=len(self.switches))}

    def __call__(self, instance: Any) -> Any:
        if isinstance(instance, dict):
            outcome = tuple(isinstance(value := instance.get(field), str) and value in values
                            for _, field, values in self.switches)
        else:  # no field to read: no ``if`` holds
            outcome = (False,) * len(self.switches)
        return self._checks[outcome](instance)


def _switch(rule: Any) -> tuple[str, frozenset[str]] | None:
    """(F, its strings) when ``rule`` is ``if`` F is one of some strings ``then`` …, else None."""
    if not isinstance(rule, dict) or "if" not in rule or not set(rule) <= {"if", "then", "else", "description"}:
        return None
    condition = rule["if"]
    if set(condition) != {"properties", "required"} or len(condition["properties"]) != 1:
        return None
    (field, test), = condition["properties"].items()
    if condition["required"] != [field] or not isinstance(test, dict) or len(test) != 1:
        return None
    values = [test["const"]] if "const" in test else test.get("enum")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return None
    return field, frozenset(values)


def _decided(schema: dict[str, Any], switches: tuple[tuple[int, str, frozenset[str]], ...],
             outcome: tuple[bool, ...]) -> dict[str, Any]:
    """``schema`` with each switch replaced by its ``then`` (it holds) or ``else`` (it does not;
    nothing when there is none)."""
    rules = list(schema["allOf"]) if switches else []
    for (index, _, _), holds in zip(switches, outcome, strict=True):
        rules[index] = rules[index].get("then" if holds else "else", {})
    return {**schema, "allOf": rules} if switches else schema


