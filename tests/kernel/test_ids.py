"""UUID strings made on the request path (kernel/orion_kernel/ids.py)."""
from __future__ import annotations

import multiprocessing
import threading
import time
import uuid

from orion_kernel.ids import uuid4_str, uuid7_str


def test_uuid4_str_is_a_canonical_random_uuid():
    for _ in range(1000):
        text = uuid4_str()
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


def test_uuid7_str_is_a_canonical_uuid_carrying_the_current_millisecond():
    before = time.time_ns() // 1_000_000
    text = uuid7_str()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(text)
    assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, text)
    assert before <= parsed.int >> 80 <= after


def test_ids_do_not_repeat():
    assert len({uuid4_str() for _ in range(10000)}) == 10000
    assert len({uuid7_str() for _ in range(10000)}) == 10000


def test_uuid7_ids_made_later_sort_later():
    first = uuid7_str()
    time.sleep(0.002)
    assert uuid7_str() > first


def test_threads_never_get_the_same_id():
    results: list[list[str]] = []

    def make() -> None:
        results.append([uuid4_str() for _ in range(2000)])

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({i for batch in results for i in batch}) == 16000


def test_a_forked_child_does_not_repeat_its_parents_ids():
    uuid4_str()  # the parent now holds a pool of random bytes the child inherits
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe()
    child = context.Process(target=_send_one_id, args=(child_end,))
    child.start()
    from_child = parent_end.recv()
    child.join(10)
    assert from_child != uuid4_str()


def _send_one_id(conn) -> None:
    conn.send(uuid4_str())
