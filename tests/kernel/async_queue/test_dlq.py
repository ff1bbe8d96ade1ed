"""Dead-letter entries: backoff, the attempt count that travels with an item, exhaustion."""
from __future__ import annotations

from datetime import datetime

import pytest

from orion_kernel.async_queue.dlq import MAX_BACKOFF_SECS, backoff_secs, dead_letter, is_exhausted, retry_job
from orion_kernel.async_queue.jobs import Job
from orion_kernel.trace_policy import RECORD_ERRORS


@pytest.mark.parametrize(("retry_count", "secs"), [(0, 1), (1, 2), (2, 4), (3, 8), (10, 1024), (40, MAX_BACKOFF_SECS)])
def test_backoff_doubles_from_one_second_and_is_capped(retry_count, secs):
    assert backoff_secs(retry_count) == secs


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def test_a_first_failure_is_retried_after_one_second():
    job = Job.new("orders", '{"a":1}', '{"http_method":"POST"}')
    entry = dead_letter(job, "Task error: boom", max_retries=3)
    assert entry["trace_id"] == job.id and entry["channel"] == "orders"
    assert (entry["payload_json"], entry["metadata_json"]) == ('{"a":1}', '{"http_method":"POST"}')
    assert (entry["retry_count"], entry["max_retries"], entry["error_message"]) == (0, 3, "Task error: boom")
    assert 0.9 < seconds_between(entry["created_at"], entry["next_retry_at"]) < 1.5
    assert not is_exhausted(entry)


def test_the_attempt_count_travels_from_entry_to_retry_and_back():
    first = dead_letter(Job.new("orders", "{}", "{}"), "boom", max_retries=2)
    retry = retry_job(first, attempt=first["retry_count"] + 1, record=RECORD_ERRORS, steps=True, channel_id="ch-1")
    assert retry.id != first["trace_id"]  # a new trace for the new run
    assert (retry.attempt, retry.dlq_id, retry.record, retry.steps, retry.channel_id) == (1, first["id"], RECORD_ERRORS, True, "ch-1")
    second = dead_letter(retry, "boom again", max_retries=2)
    assert second["id"] == first["id"]  # the same entry, one retry further
    assert second["retry_count"] == 1 and not is_exhausted(second)
    assert 1.9 < seconds_between(second["created_at"], second["next_retry_at"]) < 2.5
    third = dead_letter(retry_job(second, attempt=2), "still failing", max_retries=2)
    assert third["id"] == first["id"] and third["retry_count"] == 2 and is_exhausted(third)


def test_no_retries_means_exhausted_at_once():
    assert is_exhausted(dead_letter(Job.new("c", "{}", "{}"), "boom", max_retries=0))
