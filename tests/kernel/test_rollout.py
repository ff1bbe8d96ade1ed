"""The sticky rollout key: definitions, validation and the stable bucket."""
from __future__ import annotations

import zlib

import pytest
from multidict import CIMultiDict

from orion_kernel.rollout import RolloutKey, check_rollout_key


def test_bucket_is_crc32_of_workflow_id_and_key():
    key = RolloutKey.from_definition({"header": "x-user-id"}, "orders")
    for user in ("alice", "bob", "ü-nicode", "x" * 500):
        assert key.bucket(CIMultiDict({"X-User-Id": user}), "10.0.0.1") == zlib.crc32(f"orders:{user}".encode()) % 100


def test_the_same_caller_lands_in_different_buckets_of_different_workflows():
    a = RolloutKey.from_definition({"header": "x-user-id"}, "a")
    b = RolloutKey.from_definition({"header": "x-user-id"}, "b")
    users = [{"x-user-id": f"user-{i}"} for i in range(50)]
    assert [a.bucket(u, None) for u in users] != [b.bucket(u, None) for u in users]


def test_client_address_and_missing_keys():
    key = RolloutKey.from_definition({"client": "address"}, "wf")
    assert key.bucket({}, "192.0.2.7") == zlib.crc32(b"wf:192.0.2.7") % 100
    assert key.bucket({}, None) is None
    header = RolloutKey.from_definition({"header": "x-user-id"}, "wf")
    assert header.bucket({}, "192.0.2.7") is None
    assert header.bucket({"x-user-id": ""}, None) is None


@pytest.mark.parametrize("definition", [None, {}, [], "x", {"header": 1}, {"cookie": "sid"}, {"header": "a", "client": "address"}])
def test_no_key_from_anything_else(definition):
    assert RolloutKey.from_definition(definition, "wf") is None


def test_spread_over_buckets():
    key = RolloutKey.from_definition({"header": "x-user-id"}, "wf")
    buckets = [key.bucket({"x-user-id": f"user-{i}"}, None) for i in range(10000)]
    assert all(0 <= b < 100 for b in buckets)
    assert 800 <= sum(1 for b in buckets if b < 10) <= 1200


@pytest.mark.parametrize(("value", "paths"), [
    (None, []), ({}, []), ({"header": "x-user-id"}, []), ({"header": "X_Tenant.Id"}, []), ({"client": "address"}, []),
    ([], ["rollout_key"]), ("x", ["rollout_key"]), ({"header": "a", "client": "address"}, ["rollout_key"]),
    ({"header": "a b"}, ["rollout_key.header"]), ({"header": "a:b"}, ["rollout_key.header"]),
    ({"header": "x" * 129}, ["rollout_key.header"]), ({"client": "ip"}, ["rollout_key.client"]),
    ({"query": "user"}, ["rollout_key.query"]),
])
def test_check_rollout_key(value, paths):
    assert [e.path for e in check_rollout_key(value)] == paths
