"""Channel definitions: create/update bodies, protocol rules, route patterns and the config blocks."""
from __future__ import annotations

import pytest

from orion_kernel.validation.channel_config import check_channel_config
from orion_kernel.testing import policy_catalog
from orion_kernel.validation.channels import error_message, validate_create, validate_update

POLICIES = policy_catalog()
SHAPE = "channel.config does not match the ChannelConfig shape: "


def errors_of(data):
    return [e.to_json() for e in validate_create(data, POLICIES)[1]]


def paths(data):
    return [e["path"] for e in errors_of(data)]


def http(**fields):
    return {"name": "orders", "protocol": "http", "methods": ["POST"], "route_pattern": "/orders", **fields}


def test_minimal_channel_defaults_to_sync_http_post_on_its_name():
    content, errors = validate_create({"name": "orders", "workflow_id": "wf-1"}, POLICIES)
    assert errors == []
    assert content == {
        "channel_id": None, "name": "orders", "description": None, "channel_type": "sync", "protocol": "http",
        "methods": ["POST"], "route_pattern": "/orders", "topic": None, "consumer_group": None,
        "transport_config": {}, "workflow_id": "wf-1", "config": {}, "priority": 0,
    }


def test_minimal_default_route_from_an_unusable_name_says_so():
    [err] = errors_of({"name": "my orders"})
    assert err["path"] == "channel.route_pattern"
    assert err["message"].startswith("route_pattern was omitted and the default derived from the name ('/my orders') is not usable")
    assert err["message"].endswith("send route_pattern explicitly")


def test_explicit_protocol_requires_its_fields_together():
    data = {"name": "orders", "protocol": "rest"}
    content, errors = validate_create(data, POLICIES)
    assert [e.to_json() for e in errors] == [
        {"path": "channel.methods", "code": "REQUIRED_FOR_PROTOCOL",
         "message": 'REST/HTTP channels must specify at least one HTTP method (protocol="rest")',
         "expected": 'non-empty array of HTTP methods (e.g. ["POST"])'},
        {"path": "channel.route_pattern", "code": "REQUIRED_FOR_PROTOCOL",
         "message": 'REST/HTTP channels must specify a route_pattern (protocol="rest")',
         "expected": 'URL path pattern (e.g. "/orders/{id}")'},
    ]
    assert error_message(content, errors) == 'Channel with protocol="rest" is missing 2 required field(s)'


def test_omitted_protocol_with_methods_still_needs_a_route():
    [err] = errors_of({"name": "orders", "methods": ["GET"]})
    assert (err["path"], err["code"]) == ("channel.route_pattern", "REQUIRED_FOR_PROTOCOL")


def test_blank_route_and_empty_methods_count_as_missing():
    assert paths(http(methods=[], route_pattern="  ")) == ["channel.methods", "channel.route_pattern"]


def test_kafka_needs_a_topic_but_no_route():
    assert errors_of({"name": "events", "channel_type": "async", "protocol": "kafka", "topic": "orders.v1"}) == []
    content, errors = validate_create({"name": "events", "protocol": "kafka"}, POLICIES)
    assert [(e.path, e.code) for e in errors] == [("channel.topic", "REQUIRED_FOR_PROTOCOL")]
    assert error_message(content, errors) == 'Channel with protocol="kafka" is missing 1 required field(s)'


@pytest.mark.parametrize(("field", "value", "allowed"), [
    ("channel_type", "stream", ["sync", "async"]), ("protocol", "grpc", ["rest", "http", "kafka"]),
    ("protocol", "HTTP", ["rest", "http", "kafka"]), ("channel_type", 5, ["sync", "async"]),
])
def test_enumerations_are_body_parse_errors(field, value, allowed):
    [err] = errors_of(http(**{field: value}))
    assert err["path"] == f"body.{field}"
    assert err["code"] == "INVALID"
    assert err["expected"] == allowed and err["got"] == value
    assert str(value) in err["message"] and ", ".join(allowed) in err["message"]


def test_unknown_keys_are_errors_and_server_fields_are_ignored():
    assert errors_of(http(route="/x", status="active", version=3, created_at="x", updated_at="y")) == [
        {"path": "route", "code": "INVALID", "message": "unknown field 'route'"}]
    assert paths(http(id="x")) == ["id"]


def test_id_name_description_paths():
    assert paths(http(channel_id="bad id")) == ["channel.channel_id"]
    assert paths(http(channel_id="import")) == ["channel.channel_id"]
    assert paths(http(name=" ", route_pattern="/x")) == ["channel.name"]
    assert paths(http(description="d" * 2049)) == ["channel.description"]
    assert paths(http(workflow_id="-wf")) == ["channel.workflow_id"]


def test_methods_are_checked_and_stored_upper_case():
    content, errors = validate_create(http(methods=["get", "Post"]), POLICIES)
    assert errors == [] and content["methods"] == ["GET", "POST"]
    assert errors_of(http(methods=["FETCH"]))[0]["message"] == (
        "unknown HTTP method 'FETCH'; expected one of: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")
    assert errors_of(http(methods=["post", "POST"]))[0]["message"] == "HTTP method 'POST' is listed more than once"
    assert [e["code"] for e in errors_of(http(methods="POST"))] == ["TYPE_MISMATCH"]
    assert paths(http(methods=["GET", 1])) == ["channel.methods[1]"]


@pytest.mark.parametrize("pattern", ["/orders", "/orders/{order_id}", "/a/{b}/c/{d_2}", "/v1.2/x-y"])
def test_good_route_patterns(pattern):
    assert errors_of(http(route_pattern=pattern)) == []


@pytest.mark.parametrize(("pattern", "fragment"), [
    ("orders", "must start with '/'"),
    ("/or ders", "whitespace"), ("/orders?x=1", "'?'"), ("/a#b", "'#'"), ("/a%20b", "'%'"),
    ("/a//b", "empty segment"), ("/a/", "empty segment"), ("/", "empty segment"),
    ("/a/{b}x", "is not a parameter"), ("/a/{1b}", "is not a parameter"), ("/a/{}", "is not a parameter"),
    ("/a/b}", "is not a parameter"), ("/{id}/{id}", "repeats the parameter 'id'"),
])
def test_bad_route_patterns(pattern, fragment):
    [err] = errors_of(http(route_pattern=pattern))
    assert (err["path"], err["code"]) == ("channel.route_pattern", "INVALID")
    assert fragment in err["message"]


def test_other_field_types():
    assert paths(http(transport_config=[], priority="1", topic=5, consumer_group=False)) == [
        "channel.topic", "channel.consumer_group", "channel.transport_config", "channel.priority"]


# --- config ----------------------------------------------------------------------------------


FULL_CONFIG = {
    "rate_limit": {"requests_per_second": 100, "burst": 20, "key_logic": {"var": "headers.x-api-key"}},
    "timeout_ms": 5000,
    "validation_logic": {"and": [{"!!": {"var": "data.order_id"}}, {">": [{"var": "data.quantity"}, 0]}]},
    "backpressure": {"max_concurrent": 200, "queue_depth": 10},
    "cors": {"allowed_origins": ["https://app.example.com"], "allowed_methods": ["GET"], "allowed_headers": []},
    "deduplication": {"header": "Idempotency-Key", "window_secs": 300, "connector": "redis"},
    "cache": {"enabled": True, "ttl_secs": 60, "cache_key_fields": ["user_id"], "connector": "redis"},
    "tracing": {"per_task": True, "mode": "sync", "sample_rate": 1, "errors_only": False},
}


def config_errors(config):
    return [e.to_json() for e in check_channel_config(config, POLICIES)]


def test_the_spec_example_config_and_the_empty_config_are_valid():
    assert config_errors(FULL_CONFIG) == []
    assert config_errors({}) == []
    assert errors_of(http(config=FULL_CONFIG)) == []


def test_aliases_nulls_and_unknown_blocks_are_accepted():
    assert config_errors({"deduplication": {"header": "K", "retention_secs": 60}, "tracing": {"task_details": True},
                          "cors": None, "timeout_ms": None, "my_plugin_block": {"anything": [1]}}) == []


@pytest.mark.parametrize(("config", "detail"), [
    ({"rate_limit": {}}, "rate_limit.requests_per_second: Missing data for required field."),
    ({"rate_limit": {"requests_per_second": "10"}}, "rate_limit.requests_per_second: Not a valid integer."),
    ({"rate_limit": {"requests_per_second": 1.5}}, "rate_limit.requests_per_second: Not a valid integer."),
    ({"rate_limit": {"requests_per_second": 5, "burst": 0}}, "rate_limit.burst: Must be greater than or equal to 1 and less than or equal to 1000000."),
    ({"rate_limit": {"requests_per_second": 5, "rps": 1}}, "rate_limit.rps: Unknown field."),
    ({"timeout_ms": "5s"}, "timeout_ms: Not a valid integer."),
    ({"timeout_ms": -1}, "timeout_ms: Must be greater than or equal to 0 and less than or equal to 2147483647."),
    ({"backpressure": {"max_concurrent": True}}, "backpressure.max_concurrent: Not a valid integer."),
    ({"backpressure": 5}, "backpressure: Invalid input type."),
    ({"cors": {"allowed_origins": "*"}}, "cors.allowed_origins: Not a valid list."),
    ({"deduplication": {"window_secs": 5}}, "deduplication.header: Missing data for required field."),
    ({"deduplication": {"header": ""}}, "deduplication.header: Shorter than minimum length 1."),
    ({"cache": {"enabled": "true"}}, "cache.enabled: Not a valid boolean."),
    ({"cache": {"enabled": True, "ttl": 5}}, "cache.ttl: Unknown field."),
    ({"tracing": {"mode": "verbose"}}, "tracing.mode: Must be one of: sync, async, batch, off."),
    ({"tracing": {"sample_rate": "0.5"}}, "tracing.sample_rate: Not a valid number."),
    ({"tracing": {"sample_rate": 1.5}}, "tracing.sample_rate: Must be greater than or equal to 0.0 and less than or equal to 1.0."),
])
def test_config_shape_errors(config, detail):
    assert config_errors(config) == [{"path": "channel.config", "code": "INVALID", "message": SHAPE + detail}]


def test_config_must_be_an_object():
    assert config_errors([]) == [{"path": "channel.config", "code": "INVALID", "message": SHAPE + "expected an object, got array",
                                  "expected": "object"}]
    assert paths(http(config="x")) == ["channel.config"]


def test_dedup_window_and_its_alias_must_agree():
    assert config_errors({"deduplication": {"header": "K", "window_secs": 5, "retention_secs": 5}}) == []
    [err] = config_errors({"deduplication": {"header": "K", "window_secs": 5, "retention_secs": 6}})
    assert "window_secs and its alias retention_secs differ" in err["message"]


def test_config_logic_must_compile():
    [err] = config_errors({"validation_logic": {"and": [{"nope": 1}]}})
    assert err["path"] == "channel.config.validation_logic"
    assert err["code"] == "INVALID"
    assert "unknown operator `nope`" in err["message"]
    [err] = config_errors({"rate_limit": {"requests_per_second": 1, "key_logic": {"a": 1, "b": 2}}})
    assert err["path"] == "channel.config.rate_limit.key_logic"


# --- updates ---------------------------------------------------------------------------------


def stored_draft():
    content, errors = validate_create(http(description="old", config={"timeout_ms": 10}), POLICIES)
    assert errors == []
    return {**content, "channel_id": "ch-1", "version": 1, "status": "draft"}


def test_update_merges_and_ignores_type_and_protocol():
    merged, errors = validate_update({"route_pattern": "/v2/orders", "methods": ["put"], "description": None,
                                      "protocol": "kafka", "channel_type": "async"}, "ch-1", stored_draft(), POLICIES)
    assert errors == []
    assert merged["route_pattern"] == "/v2/orders" and merged["methods"] == ["PUT"]
    assert merged["description"] == "old" and merged["protocol"] == "http" and merged["channel_type"] == "sync"
    assert merged["config"] == {"timeout_ms": 10}


def test_update_validates_the_merged_result():
    _, errors = validate_update({"methods": []}, "ch-1", stored_draft(), POLICIES)
    assert [(e.path, e.code) for e in errors] == [("channel.methods", "REQUIRED_FOR_PROTOCOL")]
    _, errors = validate_update({"config": {"cache": {}}, "channel_id": "other", "extra": 1}, "ch-1", stored_draft(), POLICIES)
    assert [e.path for e in errors] == ["extra", "channel.channel_id", "channel.config"]


@pytest.mark.parametrize("name", ["", "  ", None, 5])
def test_minimal_channel_with_a_bad_name_reports_only_the_name(name):
    data = {"name": name} if name is not None else {}
    assert paths(data) == ["channel.name"]


@pytest.mark.parametrize(("config", "detail"), [
    ({"timeout_ms": 10**20}, "timeout_ms: Must be greater than or equal to 0 and less than or equal to 2147483647."),
    ({"rate_limit": {"requests_per_second": 10**7}},
     "rate_limit.requests_per_second: Must be greater than or equal to 0 and less than or equal to 1000000."),
    ({"rate_limit": {"requests_per_second": 5, "burst": 10**7}},
     "rate_limit.burst: Must be greater than or equal to 1 and less than or equal to 1000000."),
    ({"backpressure": {"max_concurrent": 2**31}},
     "backpressure.max_concurrent: Must be greater than or equal to 0 and less than or equal to 2147483647."),
    ({"deduplication": {"header": "K", "window_secs": 2**31}},
     "deduplication.window_secs: Must be greater than or equal to 1 and less than or equal to 2147483647."),
    ({"cache": {"enabled": True, "ttl_secs": 2**31}},
     "cache.ttl_secs: Must be greater than or equal to 1 and less than or equal to 2147483647."),
    ({"timeout_ms": True}, "timeout_ms: Not a valid integer."),
])
def test_config_numbers_are_bounded_and_booleans_are_not_numbers(config, detail):
    """Absurd numbers are refused at create: a rate the Redis bucket (microsecond ticks) cannot count, a
    timeout or window beyond int32 (about 24.8 days in ms, 68 years in seconds)."""
    assert config_errors(config) == [{"path": "channel.config", "code": "INVALID", "message": SHAPE + detail}]
