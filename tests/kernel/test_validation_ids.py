"""Entity ids: the id rule, reserved names, generated ids."""
from __future__ import annotations

import re

import pytest

from orion_kernel.validation.ids import PATTERN_MESSAGE, check_id, is_valid_id, new_id, shorten


@pytest.mark.parametrize("value", ["a", "0", "order-tiering", "v1.2_beta", "A" * 128, "Imports", "statuses"])
def test_valid_ids_pass(value):
    assert check_id(value, "workflow_id") is None
    assert is_valid_id(value)


@pytest.mark.parametrize("value", ["", "-a", "_a", ".a", "a b", "a/b", "é", "a?", "a\n", "a%20"])
def test_pattern_violations_are_invalid(value):
    err = check_id(value, "workflow_id")
    assert err is not None
    assert err.to_json() == {"path": "workflow_id", "code": "INVALID", "message": PATTERN_MESSAGE, "got": value}


def test_length_limit_is_128():
    err = check_id("a" * 129, "channel.channel_id")
    assert err.path == "channel.channel_id"
    assert err.code == "INVALID"
    assert err.message == "ID exceeds maximum length of 128 characters (got 129)"


@pytest.mark.parametrize("value", ["import", "EXPORT", "Validate", "versions", "status", "rollout", "test",
                                   "circuit-breakers", "Reload"])
def test_reserved_names_are_refused_in_any_case(value):
    err = check_id(value, "workflow_id")
    assert err.code == "INVALID"
    assert f"ID '{value}' is reserved" in err.message
    assert not is_valid_id(value)


def test_non_string_id_is_a_type_mismatch():
    err = check_id(42, "workflow_id")
    assert err.to_json() == {"path": "workflow_id", "code": "TYPE_MISMATCH", "message": "workflow_id must be a string",
                             "expected": "string", "got": 42}


def test_generated_ids_are_lowercase_uuid4_and_valid():
    value = new_id()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value)
    assert is_valid_id(value)
    assert new_id() != value


def test_shorten_cuts_long_values_only():
    assert shorten("abc") == "abc"
    assert shorten("x" * 100) == "x" * 64 + "..."
