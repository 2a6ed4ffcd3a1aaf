"""Structured logging: one JSON object per line on stderr, quiet by default."""

from __future__ import annotations

import logging
from typing import Any

import orjson

#: Loggers whose warnings are routine back-pressure, not something an operator must act
#: on (Faust says "producer buffer full" each time table writes outpace the producer).
ROUTINE_WARNINGS = ("faust.transport.producer",)
#: Libraries that print whole records at DEBUG (keys and values: people's engagement
#: answers, money). They log at INFO at most, whatever the level: a log line never shows
#: one person's answer (docs/contract.md §12).
RECORD_PRINTING_LIBRARIES = ("faust", "aiokafka", "kafka", "mode", "aiohttp")


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg"[, "exc"]}`` per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def logging_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict for the worker and the CLI."""
    quiet_level = level if logging.getLevelName(level) in (logging.DEBUG, logging.INFO) else "ERROR"
    library_level = "INFO" if logging.getLevelName(level) == logging.DEBUG else level
    loggers: dict[str, dict[str, str]] = {name: {"level": library_level} for name in RECORD_PRINTING_LIBRARIES}
    loggers.update({name: {"level": quiet_level} for name in ROUTINE_WARNINGS})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": loggers,
        "root": {"level": level, "handlers": ["stderr"]},
    }
