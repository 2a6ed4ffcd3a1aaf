"""The start-up check of the Faust internals the workarounds rely on (streams.internals_guard)."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest
from faust.transport import consumer as faust_consumer

from sales_scorecard.cli.main import main
from sales_scorecard.streams import internals_guard
from sales_scorecard.streams.internals_guard import Internal, InternalsMismatch, Reliance, verify

PINS = {"faust-streaming": "0.15.3", "mode-streaming": "0.7.1", "aiokafka": "0.14.0"}


def installed_but(package: str, version: str) -> object:
    """The real installed versions, except ``package`` at ``version``."""
    real = internals_guard.installed_version
    return lambda name: version if name == package else real(name)


def test_the_installed_packages_are_the_pinned_ones_and_have_every_declared_internal() -> None:
    verify()  # raises on any mismatch


def test_the_verified_versions_are_the_pins_of_pyproject() -> None:
    verified = internals_guard.verified_versions()
    assert {name: verified[name] for name in PINS} == PINS


def test_every_workaround_module_declares_what_it_relies_on() -> None:
    modules = {r.module for r in internals_guard.registry()}
    assert modules == set(internals_guard.WORKAROUNDS)
    packages = {r.internal.package for r in internals_guard.registry()}
    assert packages == set(PINS)


def test_another_version_stops_the_worker_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(internals_guard, "installed_version", installed_but("faust-streaming", "0.16.0"))
    with pytest.raises(SystemExit) as exit_info:
        main(["worker"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("scorecard: error: ")
    assert "faust-streaming 0.16.0 is installed" in err and "verified with 0.15.3" in err
    for module in ("streams.rewinding_consumer", "streams.flushing_producer", "streams.stall_guard"):
        assert module in err


def test_a_wrong_aiokafka_names_only_the_modules_that_use_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(internals_guard, "installed_version", installed_but("aiokafka", "0.13.0"))
    with pytest.raises(InternalsMismatch) as exc_info:
        verify()
    message = str(exc_info.value)
    assert "aiokafka 0.13.0 is installed, but streams.rewinding_consumer, streams.flushing_producer were " \
           "verified with 0.14.0" in message
    assert "stall_guard" not in message and "\n" not in message


def test_a_missing_package_is_a_mismatch_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(internals_guard, "installed_version", installed_but("mode-streaming", None))  # type: ignore[arg-type]  # None: not installed
    with pytest.raises(InternalsMismatch, match="mode-streaming is not installed, but"):
        verify()


def test_a_missing_attribute_stops_the_worker_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    # A faust-streaming that no longer has the method RewindingConsumer overrides.
    monkeypatch.delattr(faust_consumer.Consumer, "_new_offset")
    with pytest.raises(SystemExit) as exit_info:
        main(["worker"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert ("faust-streaming 0.15.3 has no faust.transport.drivers.aiokafka:Consumer._new_offset, "
            "which streams.rewinding_consumer relies on") in err


def test_a_missing_instance_attribute_or_class_is_reported() -> None:
    declared = [
        Reliance("sales_scorecard.streams.example",
                 Internal("faust-streaming", "faust.transport.consumer:Consumer", ("_committed_offset", "_gone"))),
        Reliance("sales_scorecard.streams.example", Internal("faust-streaming", "faust.nowhere:Consumer", ("x",))),
    ]
    with pytest.raises(InternalsMismatch) as exc_info:
        verify(declared, PINS)
    message = str(exc_info.value)
    assert "faust.transport.consumer:Consumer._gone, which streams.example relies on" in message
    assert "has no faust.nowhere:Consumer, which streams.example relies on" in message
    assert "_committed_offset" not in message  # annotated on the class: an instance attribute


def test_an_unpinned_package_is_refused() -> None:
    declared = [Reliance("m", Internal("faust-streaming", "faust.transport.consumer:Consumer", ()))]
    with pytest.raises(InternalsMismatch, match="faust-streaming has no exact pin"):
        verify(declared, {"aiokafka": "0.14.0"})


def test_attributes_set_in_methods_count_and_read_ones_do_not() -> None:
    class Base:
        def __init__(self) -> None:
            self.assigned = 1

        def use(self) -> int:
            return self.only_read  # type: ignore[attr-defined, no-any-return]  # the point: never assigned

    assert internals_guard.has_attribute(Base, "assigned")
    assert internals_guard.has_attribute(Base, "use")
    assert not internals_guard.has_attribute(Base, "only_read")


def _private_names_used(module_name: str) -> set[str]:
    """``_private`` attribute names a module reads or sets on objects that are not its own."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    own = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    own |= {node.target.id for node in ast.walk(tree)
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)}
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return {name for name in used - own if name.startswith("_") and not name.endswith("__")}


@pytest.mark.parametrize("module_name", internals_guard.WORKAROUNDS)
def test_every_private_name_a_workaround_uses_is_declared(module_name: str) -> None:
    declared = {a for r in internals_guard.registry([module_name]) for a in r.internal.attributes}
    assert _private_names_used(module_name) <= declared


def _private_overrides(module_name: str) -> set[str]:
    """``_private`` methods and attributes that the module's classes override in a base class."""
    module = importlib.import_module(module_name)
    classes = [c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == module_name]
    return {name for cls in classes for name in vars(cls) | vars(cls).get("__annotations__", {})
            if name.startswith("_") and not name.endswith("__") and name != "_abc_impl"  # abc's own
            and any(hasattr(base, name) or name in vars(base).get("__annotations__", {})
                    for base in cls.__mro__[1:] if base.__module__ != module_name)}


@pytest.mark.parametrize("module_name", internals_guard.WORKAROUNDS)
def test_every_private_override_of_a_workaround_is_declared(module_name: str) -> None:
    declared = {a for r in internals_guard.registry([module_name]) for a in r.internal.attributes}
    assert _private_overrides(module_name) <= declared
