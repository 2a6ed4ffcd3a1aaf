"""Start-up check of the Faust internals our workarounds rely on.

``streams.rewinding_consumer``, ``streams.flushing_producer``, ``streams.stall_guard`` and ``streams.table_store``
override or read private methods and attributes of faust-streaming, mode-streaming and
aiokafka. Each declares what it relies on in a module-level ``RELIES_ON`` tuple of
:class:`Internal`; :data:`WORKAROUNDS` names those modules, and that is the one registry.

:func:`verify` checks, before the worker starts:

- that the installed version of every package named in a declaration is the exact pin in
  pyproject.toml (read from the installed ``sales-scorecard``'s metadata): the versions the
  workarounds were verified with. Moving a pin means verifying the workarounds again.
- that every declared class still has every declared attribute: a class attribute or
  method, an attribute annotated on the class (how Faust declares instance attributes), or
  one that the class's own methods set or read (``self.message_sent = ...``).

Any mismatch raises :class:`InternalsMismatch`, whose message is one line naming the
package, the installed and verified versions (or the missing attribute) and the workaround
modules affected; ``scorecard worker`` prints it and does not start.
"""

from __future__ import annotations

import dis
import importlib
import importlib.metadata
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType

#: The modules that declare ``RELIES_ON`` (importing them is what reads the declarations).
WORKAROUNDS = (
    "sales_scorecard.streams.rewinding_consumer",
    "sales_scorecard.streams.flushing_producer",
    "sales_scorecard.streams.stall_guard",
    "sales_scorecard.streams.table_store",
)

#: The distribution whose exact pins are the verified versions.
PROJECT = "sales-scorecard"


class InternalsMismatch(RuntimeError):
    """The installed faust-streaming, mode-streaming or aiokafka is not what the workarounds
    were verified with; the message is one line."""


@dataclass(frozen=True)
class Internal:
    """Attributes of one class of ``package`` that a workaround overrides or reads.

    ``owner`` is ``"module:Class"``, e.g. ``"faust.transport.consumer:Consumer"``.
    """

    package: str
    owner: str
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class Reliance:
    """One declaration of one workaround module."""

    module: str
    internal: Internal


def registry(modules: Iterable[str] = WORKAROUNDS) -> list[Reliance]:
    """Every declaration of every workaround module, in order."""
    return [Reliance(name, internal) for name in modules for internal in _declared(importlib.import_module(name))]


def _declared(module: ModuleType) -> tuple[Internal, ...]:
    declared = getattr(module, "RELIES_ON", None)
    if not isinstance(declared, tuple) or not all(isinstance(i, Internal) for i in declared):
        raise TypeError(f"{module.__name__} declares no RELIES_ON tuple of Internal")
    return declared


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def verified_versions(project: str = PROJECT) -> dict[str, str]:
    """Package (normalized name) -> the exact version ``project`` pins (``name==version``)."""
    pins = {}
    for requirement in importlib.metadata.requires(project) or ():
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;,]+)\s*", requirement)
        if match:  # extras (with a marker) and ranges are not pins of the stack
            pins[_normalized(match.group(1))] = match.group(2)
    return pins


def installed_version(package: str) -> str | None:
    """The installed version of ``package`` (None: not installed)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def has_attribute(cls: type, name: str) -> bool:
    """True when ``cls`` has ``name`` as a class attribute or method, annotates it (on itself
    or a base), or assigns it (``self.name = ...``) in one of its own or its bases' functions."""
    if hasattr(cls, name):
        return True
    for klass in cls.__mro__:
        if name in vars(klass).get("__annotations__", {}):
            return True
        for value in vars(klass).values():
            code = getattr(getattr(value, "__func__", value), "__code__", None)
            if code is not None and name in code.co_names and any(
                    i.opname == "STORE_ATTR" and i.argval == name for i in dis.get_instructions(code)):
                return True
    return False


def _resolve(owner: str) -> type | None:
    module_name, _, class_name = owner.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), class_name, None)
    except ImportError:
        return None
    return found if isinstance(found, type) else None


def _short(module: str) -> str:
    return module.removeprefix("sales_scorecard.")


def _modules(reliances: Iterable[Reliance]) -> str:
    return ", ".join(dict.fromkeys(_short(r.module) for r in reliances))


def problems(reliances: Iterable[Reliance], verified: Mapping[str, str],
             installed: Callable[[str], str | None] | None = None,
             resolve: Callable[[str], type | None] = _resolve) -> list[str]:
    """What does not match, one phrase each: versions first (a wrong version explains a
    missing attribute), then the attributes, checked only for packages at their pin."""
    installed = installed or installed_version
    reliances = list(reliances)
    out = []
    wrong = set()
    for package in dict.fromkeys(r.internal.package for r in reliances):
        users = [r for r in reliances if r.internal.package == package]
        want, have = verified.get(_normalized(package)), installed(package)
        if want is None:
            out.append(f"{package} has no exact pin in {PROJECT}'s requirements, which {_modules(users)} need")
            wrong.add(package)
        elif have != want:
            out.append(f"{package} {have + ' is installed' if have else 'is not installed'}, but {_modules(users)} "
                       f"{'was' if len(users) == 1 else 'were'} verified with {want}")
            wrong.add(package)
    for r in reliances:
        if r.internal.package in wrong:
            continue
        cls = resolve(r.internal.owner)
        if cls is None:
            out.append(f"{r.internal.package} {installed(r.internal.package)} has no {r.internal.owner}, "
                       f"which {_short(r.module)} relies on")
            continue
        for name in r.internal.attributes:
            if not has_attribute(cls, name):
                out.append(f"{r.internal.package} {installed(r.internal.package)} has no "
                           f"{r.internal.owner}.{name}, which {_short(r.module)} relies on")
    return out


def off_pin(verified: Mapping[str, str], installed: Callable[[str], str | None] | None = None) -> list[str]:
    """Every pinned package whose installed version is another, as ``name installed (verified pin)``."""
    installed = installed or installed_version
    return [f"{name} {have or 'not installed'} (verified {want})" for name, want in sorted(verified.items())
            if (have := installed(name)) != want]


def verify(reliances: Iterable[Reliance] | None = None, verified: Mapping[str, str] | None = None,
           installed: Callable[[str], str | None] | None = None) -> None:
    """Raise :class:`InternalsMismatch` (a one-line message) unless every package the
    workarounds rely on is at its verified version and has every declared attribute.
    By default: the declarations of :data:`WORKAROUNDS`, the pins of the installed project
    and the installed versions."""
    verified = verified_versions() if verified is None else verified
    if reliances is None:
        try:
            reliances = registry()
        except ImportError as exc:  # a workaround module no longer imports against what is installed
            found = [f"a workaround module cannot be imported ({type(exc).__name__}: {exc})",
                     *(f"installed {p}" for p in off_pin(verified, installed))]
            raise _mismatch(found) from exc
    found = problems(reliances, verified, installed)
    if found:
        raise _mismatch(found)


def _mismatch(found: list[str]) -> InternalsMismatch:
    text = " ".join("; ".join(found).split())  # one line, whatever an exception's text held
    return InternalsMismatch(f"the Faust workarounds do not match the installed packages: {text} "
                             "(install the pinned versions, or verify the workarounds and move the pins)")
