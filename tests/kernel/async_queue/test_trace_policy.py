"""The trace policy of a channel: global settings, channel overrides, sampling and errors-only."""
from __future__ import annotations

import pytest

from orion_kernel.trace_policy import RECORD_ERRORS, RECORD_FULL, RECORD_NONE, TracePolicy, trace_policy

GLOBAL = {"mode": "batch", "sample_rate": 1.0, "errors_only": False}


def test_a_channel_without_a_block_gets_the_global_settings():
    assert trace_policy(GLOBAL, {}) == TracePolicy("batch", 1.0, False)
    assert trace_policy({**GLOBAL, "errors_only": True, "sample_rate": 0.5}, None) == TracePolicy("batch", 0.5, True)


def test_each_key_of_the_channel_block_overrides_its_global_value():
    config = {"tracing": {"mode": "sync", "sample_rate": 0, "per_task": True}}
    assert trace_policy(GLOBAL, config) == TracePolicy("sync", 0.0, False)
    assert trace_policy(GLOBAL, {"tracing": {"errors_only": True}}) == TracePolicy("batch", 1.0, True)


def test_a_stored_block_of_the_wrong_shape_is_read_leniently():
    config = {"tracing": {"mode": "sometimes", "sample_rate": "half", "errors_only": "yes"}}
    assert trace_policy(GLOBAL, config) == TracePolicy("batch", 1.0, False)
    assert trace_policy(GLOBAL, {"tracing": True}) == TracePolicy("batch", 1.0, False)


def test_sync_rows_follow_mode_errors_only_and_the_sample_rate():
    assert TracePolicy("batch").keeps_sync(has_errors=False)
    assert not TracePolicy("off").keeps_sync(has_errors=True)
    assert not TracePolicy("sync", errors_only=True).keeps_sync(has_errors=False)
    assert TracePolicy("sync", errors_only=True).keeps_sync(has_errors=True)
    assert not TracePolicy("sync", sample_rate=0.0).keeps_sync(has_errors=True)
    kept = sum(TracePolicy("sync", sample_rate=0.3).keeps_sync(False) for _ in range(4000))
    assert 1000 < kept < 1400


@pytest.mark.parametrize(("policy", "record", "warning"), [
    (TracePolicy("batch"), RECORD_FULL, None),
    (TracePolicy("off"), RECORD_NONE, "Trace persistence disabled for channel 'orders'"),
    (TracePolicy("sync", sample_rate=0.0), RECORD_NONE, "Trace not persisted for channel 'orders' (sampled out by tracing.sample_rate)"),
    (TracePolicy("async", errors_only=True), RECORD_ERRORS,
     "Trace persisted for channel 'orders' only if the run fails (tracing.errors_only)"),
])
def test_what_an_async_submission_records(policy, record, warning):
    assert policy.async_record("orders") == (record, warning)
