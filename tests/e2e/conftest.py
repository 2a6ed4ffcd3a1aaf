"""End-to-end tests reuse the worker-process fixture of the integration tests."""

from tests.integration.conftest import run_worker  # noqa: F401 - a fixture: pytest finds it by name
