"""Configure stdlib logging from ``[logging]``: one human line or one JSON object per record, on stderr."""
from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

import orjson

TRACE = 5
LEVELS = {"trace": TRACE, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_LEVEL_NAMES = {TRACE: "TRACE", logging.DEBUG: "DEBUG", logging.INFO: "INFO", logging.WARNING: "WARN", logging.ERROR: "ERROR"}
# Attributes every LogRecord has; anything else on a record came from ``extra=`` (request_id, ...).
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

logging.addLevelName(TRACE, "TRACE")


def _level_name(record: logging.LogRecord) -> str:
    return _LEVEL_NAMES.get(record.levelno, record.levelname)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` keys a caller attached to ``record``."""
    return {key: value for key, value in vars(record).items() if key not in _RECORD_ATTRS and not key.startswith("_")}


class PrettyFormatter(logging.Formatter):
    """``2026-05-09T07:35:25.123Z  INFO orion.server: message request_id=… channel=…``"""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {_level_name(record):>5} {record.name}: {record.getMessage()}"
        extras = "".join(f" {key}={value}" for key, value in extra_fields(record).items())
        text = line + extras
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, logger, message, then the ``extra=`` keys."""

    def format(self, record: logging.LogRecord) -> str:
        out = extra_fields(record)
        out.update(timestamp=_timestamp(record), level=_level_name(record), logger=record.name, message=record.getMessage())
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(out, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


FORMATTERS: dict[str, type[logging.Formatter]] = {"pretty": PrettyFormatter, "text": PrettyFormatter, "json": JsonFormatter}


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (so later redirection is honoured)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stderr


def configure_logging(level: str, fmt: str, *, access_log: bool = False) -> None:
    """Send every log record at ``level`` or above to stderr in format ``fmt`` (pretty/text or json).

    ``access_log`` turns on the per-request ``orion.access`` events (off by default: logging every
    request costs a measurable share of throughput).

    Calling it again replaces the handler it installed; other handlers on the root logger stay.
    Raises ValueError for an unknown level or format.
    """
    numeric = LEVELS.get(level.lower())
    if numeric is None:
        raise ValueError(f"logging level '{level}' is invalid. Must be one of: {', '.join(LEVELS)}")
    formatter = FORMATTERS.get(fmt.lower())
    if formatter is None:
        raise ValueError(f"logging format '{fmt}' is invalid. Must be one of: {', '.join(FORMATTERS)}")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(formatter())
    root.addHandler(handler)
    root.setLevel(numeric)
    logging.getLogger("orion.access").setLevel(logging.NOTSET if access_log else logging.WARNING)
