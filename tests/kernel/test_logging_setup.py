"""Logging set-up: levels (trace..error), pretty lines and JSON lines with extra fields."""
from __future__ import annotations

import json
import logging

import pytest

from orion_kernel.logging_setup import TRACE, configure_logging


@pytest.fixture(autouse=True)
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_line_has_core_and_extra_fields(capsys):
    configure_logging("info", "json")
    logging.getLogger("orion.test").info("ran %s", "wf", extra={"request_id": "r-1", "channel": "orders", "workflow_id": "w", "task_id": "t"})
    record = json.loads(capsys.readouterr().err.strip())
    assert record["level"] == "INFO" and record["logger"] == "orion.test" and record["message"] == "ran wf"
    assert (record["request_id"], record["channel"], record["workflow_id"], record["task_id"]) == ("r-1", "orders", "w", "t")
    assert record["timestamp"].endswith("Z") and "T" in record["timestamp"]


def test_json_one_object_per_line_with_exception_and_odd_values(capsys):
    configure_logging("debug", "json")
    log = logging.getLogger("orion.test")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", extra={"obj": object(), "mapping": {1: "a"}})
    log.debug("multi\nline")
    lines = capsys.readouterr().err.strip().split("\n")
    assert len(lines) == 2
    first, second = map(json.loads, lines)
    assert first["level"] == "ERROR" and "ValueError: boom" in first["exception"]
    assert first["mapping"] == {"1": "a"} and first["obj"].startswith("<object object")
    assert second["message"] == "multi\nline"


def test_pretty_line(capsys):
    configure_logging("warn", "pretty")
    log = logging.getLogger("orion.test")
    log.info("hidden")
    log.warning("careful", extra={"request_id": "r-9"})
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(" WARN orion.test: careful request_id=r-9")


@pytest.mark.parametrize(("level", "numeric"), [("trace", TRACE), ("DEBUG", logging.DEBUG), ("info", logging.INFO), ("warn", logging.WARNING), ("error", logging.ERROR)])
def test_levels(level, numeric):
    configure_logging(level, "text")
    assert logging.getLogger().level == numeric


def test_trace_records_are_named_trace(capsys):
    configure_logging("trace", "json")
    logging.getLogger("orion.test").log(TRACE, "fine detail")
    assert json.loads(capsys.readouterr().err)["level"] == "TRACE"


def test_reconfiguring_replaces_only_its_own_handler(capsys):
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    configure_logging("info", "json")
    configure_logging("info", "pretty")
    logging.getLogger("orion.test").info("once")
    assert capsys.readouterr().err.count("once") == 1
    assert other in logging.getLogger().handlers


@pytest.mark.parametrize(("level", "fmt", "message"), [
    ("verbose", "json", "logging level 'verbose' is invalid. Must be one of: trace, debug, info, warn, error"),
    ("info", "xml", "logging format 'xml' is invalid. Must be one of: pretty, text, json"),
])
def test_invalid_level_or_format(level, fmt, message):
    with pytest.raises(ValueError) as info:
        configure_logging(level, fmt)
    assert str(info.value) == message


def test_access_log_events_are_opt_in():
    configure_logging("info", "pretty")
    assert not logging.getLogger("orion.access").isEnabledFor(logging.INFO)
    configure_logging("info", "pretty", access_log=True)
    assert logging.getLogger("orion.access").isEnabledFor(logging.INFO)
    configure_logging("info", "pretty")
