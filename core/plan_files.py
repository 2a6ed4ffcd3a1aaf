"""Reading the YAML plan files (scorecard, commission, alerts): packaged default or a path."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


def load_yaml(path: str | None, default: str, error: type[Exception], what: str) -> Any:
    """Parsed YAML of ``path``, or of the packaged ``plans/<default>`` when path is None.

    Any problem is raised as ``error`` with a one-line message naming the file.
    """
    if path is None:
        text = resources.files("sales_scorecard.core").joinpath(f"plans/{default}").read_text()
    else:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{what} is not valid YAML: {exc}") from None


def to_decimal(value: Any, where: str, error: type[Exception]) -> Decimal:
    """A plan value as Decimal (numbers go through str, never float arithmetic)."""
    try:
        return Decimal(str(value))
    except Exception:  # noqa: BLE001 - any unparseable value is a plan error
        raise error(f"{where}: not a decimal: {value!r}") from None


def finite_decimal(value: Any, where: str, error: type[Exception]) -> Decimal:
    """A plan value as a finite Decimal; a boolean, a mapping or a list is none."""
    if isinstance(value, (bool, dict, list)):
        raise error(f"{where}: not a decimal: {value!r}")
    number = to_decimal(value, where, error)
    if not number.is_finite():
        raise error(f"{where}: not a finite decimal: {value!r}")
    return number


def checked_mapping(data: Any, where: str, allowed: frozenset[str], error: type[Exception],
                    what: str) -> Mapping[str, Any]:
    """``data`` as a mapping with only ``allowed`` keys (``where`` is "" at the file's top, named ``what``)."""
    if not isinstance(data, dict):
        raise error(f"{where or what}: expected a mapping")
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        key = f"{where}.{unknown[0]}" if where else unknown[0]
        raise error(f"{key}: unknown key (expected one of {', '.join(sorted(allowed))})")
    return data
