# sales-scorecard: one-command set-up, tests and demo. Needs python3.11, java 17, mvn.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VAR := var
DEMO_PORT ?= 6066
PYTEST_ARGS ?=

.PHONY: help venv lint test unit integration test-fault bench bench-quick bench-profile demo demo-stop kafka-up kafka-down jars browser clean

help:
	@echo "make demo       set up everything, start broker + worker, feed simulated events"
	@echo "make lint       ruff (lint, import order) and mypy (the installed package)"
	@echo "make test       lint, then the whole suite (starts its own broker)"
	@echo "make unit       pure unit tests only"
	@echo "make test-fault the fault-injection suite alone (kill -9, broker outage, ...)"
	@echo "make bench      throughput, latency, memory, recovery (~25 min; bench/results/)"
	@echo "make bench-quick the same at small sizes (~4 min)"
	@echo "make bench-profile engine and throughput, the pipeline sampled with py-spy (CPU per stage)"
	@echo "make demo-stop  stop the demo worker and broker"
	@echo "make kafka-up / kafka-down / jars"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Prefetch the broker's jars from Maven Central (slow only the first time).
jars: venv
	@$(BIN)/python -c "from sales_scorecard.localkafka import broker; print('kafka jars in', broker.ensure_jars(print))"

# Debian's chromium (and a CJK font for the 中文 labels) for the browser test; needs root or sudo.
browser:
	@command -v chromium > /dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei > /dev/null; }

# Configured in pyproject.toml ([tool.ruff], [tool.mypy]); tools/typecheck.py says why mypy
# is not run directly.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/python tools/typecheck.py

# Lint first: a new finding fails the suite (and CI) before the 15 minutes of tests.
test: venv lint jars browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: venv
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: venv jars browser
	$(BIN)/python -m pytest tests/integration tests/e2e $(PYTEST_ARGS)

# The fault-injection suite alone (kill -9, broker outage, duplicates, random input, scale-out).
test-fault: venv jars
	$(BIN)/python -m pytest -m fault $(PYTEST_ARGS)

# Starts a broker of its own; BENCH_ARGS passes options (e.g. --only throughput).
bench: venv jars
	$(BIN)/scorecard bench $(BENCH_ARGS)

bench-quick: venv jars
	$(BIN)/scorecard bench --quick $(BENCH_ARGS)

bench-profile: venv jars
	$(BIN)/python -m pip install --quiet -e '.[test,profile]'
	$(BIN)/scorecard bench --only engine --only throughput --profile $(BENCH_ARGS)

kafka-up: venv
	$(BIN)/scorecard kafka up

kafka-down: venv
	$(BIN)/scorecard kafka down

demo: venv
	@mkdir -p $(VAR)
	$(BIN)/scorecard kafka up
	$(BIN)/scorecard topics create > /dev/null
	@if [ -f $(VAR)/worker.pid ] && kill -0 $$(cat $(VAR)/worker.pid) 2>/dev/null; then \
		echo "worker already running (pid $$(cat $(VAR)/worker.pid))"; \
	else \
		SCORECARD_WEB_PORT=$(DEMO_PORT) nohup $(BIN)/scorecard worker > $(VAR)/worker.log 2>&1 & echo $$! > $(VAR)/worker.pid; \
		echo "worker started (pid $$(cat $(VAR)/worker.pid), log $(VAR)/worker.log)"; \
	fi
	@echo "waiting for the worker to be ready (http://127.0.0.1:$(DEMO_PORT)/readyz)..."
	@for i in $$(seq 1 120); do \
		kill -0 $$(cat $(VAR)/worker.pid) 2>/dev/null || { echo "worker exited; see $(VAR)/worker.log:"; tail -n 20 $(VAR)/worker.log; exit 1; }; \
		$(BIN)/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$(DEMO_PORT)/readyz', timeout=2)" 2>/dev/null && break; \
		sleep 1; done
	$(BIN)/scorecard simulate --seed 7 --out $(VAR)/demo.jsonl
	$(BIN)/scorecard produce $(VAR)/demo.jsonl
	$(BIN)/scorecard close-period 2026-07
	@echo ""
	@echo "Demo is running:"
	@echo "  leaderboard  http://127.0.0.1:$(DEMO_PORT)/          (live page, updates as events arrive)"
	@echo "  my scorecard http://127.0.0.1:$(DEMO_PORT)/me?rep=r001   (a rep's own page)"
	@echo "  API          http://127.0.0.1:$(DEMO_PORT)/api/leaderboard?board=company&metric=revenue"
	@echo "  metrics      http://127.0.0.1:$(DEMO_PORT)/metrics"
	@echo "  readiness    http://127.0.0.1:$(DEMO_PORT)/readyz"
	@echo "  scorecards   $(BIN)/scorecard snapshot --scope team --period 2026-11"
	@echo "  worker log   $(VAR)/worker.log"
	@echo "  stop         make demo-stop"

# The worker gets 30 s to commit and leave its group before the broker goes away.
demo-stop:
	@if [ -f $(VAR)/worker.pid ]; then \
		pid=$$(cat $(VAR)/worker.pid); kill $$pid 2>/dev/null || true; \
		for i in $$(seq 1 30); do kill -0 $$pid 2>/dev/null || break; sleep 1; done; \
		kill -9 $$pid 2>/dev/null || true; rm -f $(VAR)/worker.pid; echo "worker stopped"; fi
	@if [ -x $(BIN)/scorecard ]; then $(BIN)/scorecard kafka down; fi

clean: demo-stop
	rm -rf $(VAR) .pytest_cache .hypothesis .cache/ruff .cache/mypy .cache/typecheck
