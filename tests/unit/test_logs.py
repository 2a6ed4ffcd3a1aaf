"""Structured logs: one parseable JSON object per line, routine back-pressure quiet."""

from __future__ import annotations

import io
import logging
import logging.config

import orjson

from sales_scorecard.streams.logs import JsonFormatter, logging_config


def test_a_message_with_quotes_and_an_exception_is_one_json_line() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test.logs.json")
    log.addHandler(handler)
    log.propagate = False
    try:
        raise ValueError('bad "amount"\nsecond line')
    except ValueError:
        log.exception('failed on "deal" %s', "d-1")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = orjson.loads(lines[0])
    assert entry["level"] == "ERROR" and entry["logger"] == "test.logs.json"
    assert entry["msg"] == 'failed on "deal" d-1'
    assert "ValueError" in entry["exc"]


def test_routine_producer_warnings_are_quiet_unless_debugging() -> None:
    assert logging_config("WARNING")["loggers"]["faust.transport.producer"]["level"] == "ERROR"
    assert logging_config("INFO")["loggers"]["faust.transport.producer"]["level"] == "INFO"
    root, producer = logging.getLogger(), logging.getLogger("faust.transport.producer")
    saved = (root.level, list(root.handlers), producer.level)
    try:
        logging.config.dictConfig(logging_config("WARNING"))
        assert not producer.isEnabledFor(logging.WARNING)
        assert logging.getLogger("sales_scorecard.agents").isEnabledFor(logging.WARNING)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        producer.setLevel(saved[2])


def test_at_debug_only_our_loggers_debug_and_libraries_that_print_records_stay_at_info() -> None:
    # faust.topics and aiokafka's producer print each record's key and value at DEBUG:
    # engagement answers would reach the log (contract §12).
    names = ("faust.topics", "aiokafka.producer.producer", "faust.transport.consumer", "sales_scorecard.streams")
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), {name: logging.getLogger(name).level for name in names},
             {name: logging.getLogger(name).level for name in ("faust", "aiokafka", "kafka", "mode", "aiohttp",
                                                                "faust.transport.producer")})
    try:
        logging.config.dictConfig(logging_config("DEBUG"))
        assert logging.getLogger("sales_scorecard.streams").isEnabledFor(logging.DEBUG)
        for name in names[:3]:
            logger = logging.getLogger(name)
            assert not logger.isEnabledFor(logging.DEBUG) and logger.isEnabledFor(logging.INFO), name
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        for levels in saved[2:]:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
