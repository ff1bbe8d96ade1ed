"""config.toml loading: defaults, ${VAR} substitution, ORION_* overrides, unknown keys, validation."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from orion_kernel import ConfigError
from orion_kernel.config import config_warnings, is_production, load_config, redact_url, substitute, summarize_config


def load(text: str, env: dict[str, str] | None = None, *, tmp: Path) -> dict:
    path = tmp / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(str(path), env=env or {})


def error_of(text: str, env: dict[str, str] | None = None, *, tmp: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(text, env, tmp=tmp)
    return str(info.value)


# --- defaults -------------------------------------------------------------------------------------

SPEC_DEFAULTS = {
    "environment": "development",
    "server.host": "0.0.0.0",
    "server.port": 8080,
    "server.shutdown_drain_secs": 30,
    "server.trusted_proxies": [],
    "server.tls.enabled": False,
    "server.tls.cert_path": "",
    "server.tls.key_path": "",
    "storage.url": "sqlite:orion.db",
    "storage.max_connections": 50,
    "storage.min_connections": 5,
    "storage.busy_timeout_ms": 5000,
    "storage.acquire_timeout_secs": 3,
    "storage.idle_timeout_secs": 300,
    "storage.backup_dir": "./backups",
    "ingest.max_payload_size": 1048576,
    "engine.health_check_timeout_secs": 2,
    "engine.reload_timeout_secs": 10,
    "engine.max_channel_call_depth": 10,
    "engine.default_channel_call_timeout_ms": 30000,
    "engine.global_http_timeout_secs": 30,
    "engine.max_pool_cache_entries": 100,
    "engine.cache_cleanup_interval_secs": 60,
    "engine.circuit_breaker.enabled": True,
    "engine.circuit_breaker.failure_threshold": 5,
    "engine.circuit_breaker.recovery_timeout_secs": 30,
    "engine.circuit_breaker.max_breakers": 10000,
    "queue.workers": 4,
    "queue.buffer_size": 1000,
    "queue.shutdown_timeout_secs": 30,
    "queue.trace_retention_hours": 72,
    "queue.trace_cleanup_interval_secs": 3600,
    "queue.processing_timeout_ms": 60000,
    "queue.max_result_size_bytes": 1048576,
    "queue.max_queue_memory_bytes": 104857600,
    "queue.dlq_retry_enabled": True,
    "queue.dlq_max_retries": 5,
    "queue.dlq_poll_interval_secs": 30,
    "queue.job_lease_secs": 30,  # project addition: how long an async job stays claimed without renewal
    "kafka.enabled": False,
    "kafka.brokers": ["localhost:9092"],
    "kafka.group_id": "orion",
    "kafka.processing_timeout_ms": 60000,
    "kafka.max_inflight": 100,
    "kafka.lag_poll_interval_secs": 30,
    "kafka.topics": [],
    "kafka.dlq.enabled": False,
    "kafka.dlq.topic": "orion-dlq",
    "rate_limit.enabled": False,
    "rate_limit.default_rps": 100,
    "rate_limit.default_burst": 50,
    "rate_limit.endpoints.admin_rps": None,
    "rate_limit.endpoints.data_rps": None,
    "admin_auth.enabled": False,
    "admin_auth.api_key": "",
    "admin_auth.api_keys": [],
    "admin_auth.header": "Authorization",
    "tracing.enabled": False,
    "tracing.otlp_endpoint": "http://localhost:4317",
    "tracing.service_name": "orion",
    "tracing.sample_rate": 1.0,
    "tracing.debug_profile_enabled": False,
    "tracing.storage.mode": "batch",  # project choice: see docs/configuration.md
    "tracing.storage.sample_rate": 1.0,
    "tracing.storage.errors_only": False,
    "tracing.storage.max_pending": 10000,
    "tracing.storage.async_on_overflow": "drop",
    "tracing.storage.overflow_block_timeout_ms": 100,
    "tracing.storage.async_workers": 4,
    "tracing.storage.batch_size": 100,
    "tracing.storage.batch_flush_interval_ms": 100,
    "tracing.storage.batch_workers": 4,
    "cors.allowed_origins": ["*"],
    "logging.level": "info",
    "logging.format": "pretty",
    "logging.access_log": False,  # project addition: per-request access events are opt-in
    "governance.store": "memory://",  # project addition: where stateful policies keep their state
    "governance.key_prefix": "orion:",
    "governance.memory_max_keys": 100000,
    "metrics.enabled": False,
    "channels.include": [],
    "channels.exclude": [],
    "plugins.disabled": [],
    "plugins.modules": [],
}


def get(cfg: dict, dotted: str):
    for part in dotted.split("."):
        cfg = cfg[part]
    return cfg


def flatten(cfg: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in cfg.items():
        keys |= flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return keys


def test_every_key_has_the_spec_default():
    cfg = load_config(None, env={})
    assert {key: get(cfg, key) for key in SPEC_DEFAULTS} == SPEC_DEFAULTS
    assert cfg["server"]["workers"] == (os.cpu_count() or 1)
    assert flatten(cfg) == set(SPEC_DEFAULTS) | {"server.workers"}


def test_empty_file_and_missing_sections_take_defaults(tmp_path):
    assert load("", tmp=tmp_path) == load_config(None, env={})
    cfg = load("[server]\nport = 9000\n[engine.circuit_breaker]\nenabled = false\n", tmp=tmp_path)
    assert cfg["server"]["port"] == 9000
    assert cfg["server"]["tls"]["enabled"] is False
    assert cfg["engine"]["circuit_breaker"] == {**load_config(None, env={})["engine"]["circuit_breaker"], "enabled": False}
    assert cfg["engine"]["max_channel_call_depth"] == 10


def test_returns_fresh_plain_dicts():
    first, second = load_config(None, env={}), load_config(None, env={})
    first["cors"]["allowed_origins"].append("x")
    assert second["cors"]["allowed_origins"] == ["*"]
    assert type(first["server"]) is dict


def test_env_none_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("ORION_SERVER__PORT", "9123")
    assert load_config(None)["server"]["port"] == 9123


def test_spec_complete_example_loads(tmp_path):
    example = Path("/work/shared/spec/config-and-ops.md").read_text().split("### 3.15 Complete example")[1]
    text = example.split("```toml\n")[1].split("```")[0]
    cfg = load(text, {"ORION_ADMIN_KEY": "k1"}, tmp=tmp_path)
    assert cfg["storage"]["url"] == "sqlite:orion.db"
    assert cfg["admin_auth"]["api_key"] == "k1"
    assert cfg["rate_limit"]["endpoints"] == {"admin_rps": 50, "data_rps": 200}
    assert cfg["channels"]["include"] == ["orders.*", "payments.*"]
    assert is_production(cfg)


# --- ${VAR} substitution ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("a=${X}", {"X": "1"}, "a=1"),
        ("a=${X:-dflt}", {}, "a=dflt"),
        ("a=${X:-dflt}", {"X": ""}, "a="),  # set but empty wins over the default
        ("a=${X:-}", {}, "a="),
        ("a=${X:-with spaces:-and:colons}", {}, "a=with spaces:-and:colons"),
        ("cost $$5 and $$$$", {}, "cost $5 and $$"),
        ("amount: $5, $X, $ end$", {}, "amount: $5, $X, $ end$"),
        ("é ${X} ü", {"X": "ß"}, "é ß ü"),
        ("${A}${B}", {"A": "${B}", "B": "b"}, "${B}b"),  # single pass: inserted text is never re-scanned
        ("${A}", {"A": "$$"}, "$$"),
        ("${_lower_9}", {"_lower_9": "ok"}, "ok"),
    ],
)
def test_substitution(text, env, expected):
    assert substitute(text, env, "cfg.toml") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a=${}", "Invalid env var name ''"),
        ("a=${:-x}", "Invalid env var name ''"),
        ("a=${A-B}", "Invalid env var name 'A-B'"),
        ("a=${A B}", "Invalid env var name 'A B'"),
        ("a=${ÄB}", "Invalid env var name 'ÄB'"),
        ("a=${ABC", "Unterminated ${...} expression"),
        ("a=$${X} ${Y", "Unterminated ${...} expression"),
    ],
)
def test_substitution_errors(text, message):
    with pytest.raises(ConfigError) as info:
        substitute(text, {"A": "1"}, "cfg.toml")
    assert str(info.value) == message


def test_unset_variable_names_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[storage]\nurl = "${DATABASE_URL}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(str(path), env={})
    assert str(info.value) == (
        f"Required environment variable 'DATABASE_URL' is not set (referenced in {path}). "
        "Set the variable or use '${DATABASE_URL:-default}' to provide a fallback."
    )


def test_substitution_happens_before_toml_parsing(tmp_path):
    cfg = load('[server]\nport = ${PORT}\nhost = "${HOST:-127.0.0.1}"\n', {"PORT": "9001"}, tmp=tmp_path)
    assert (cfg["server"]["port"], cfg["server"]["host"]) == (9001, "127.0.0.1")
    cfg = load('[admin_auth]\napi_key = "pa$$word"\n', tmp=tmp_path)
    assert cfg["admin_auth"]["api_key"] == "pa$word"


def test_toml_syntax_error_names_file_and_line(tmp_path):
    message = error_of("[server]\nport = 8080\nhost = \n", tmp=tmp_path)
    assert message.startswith(f"invalid TOML in '{tmp_path / 'config.toml'}': ")
    assert "line 3" in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot read config file '.*nope.toml': No such file or directory"):
        load_config(str(tmp_path / "nope.toml"), env={})


# --- ORION_* overrides ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "raw", "key", "value"),
    [
        ("ORION_ENV", "staging", "environment", "staging"),
        ("ORION_SERVER__HOST", "127.0.0.1", "server.host", "127.0.0.1"),
        ("ORION_SERVER__PORT", " 9090 ", "server.port", 9090),
        ("ORION_SERVER__WORKERS", "3", "server.workers", 3),
        ("ORION_SERVER__TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1", "server.trusted_proxies", ["10.0.0.0/8", "127.0.0.1"]),
        ("ORION_SERVER__TLS__CERT_PATH", "/x.pem", "server.tls.cert_path", "/x.pem"),
        ("ORION_STORAGE__URL", "postgres://u:p@h/db", "storage.url", "postgres://u:p@h/db"),
        ("ORION_STORAGE__BUSY_TIMEOUT_MS", "10", "storage.busy_timeout_ms", 10),
        ("ORION_LOGGING__LEVEL", "DEBUG", "logging.level", "debug"),
        ("ORION_LOGGING__FORMAT", "Json", "logging.format", "json"),
        ("ORION_LOGGING__FORMAT", "text", "logging.format", "pretty"),
        ("ORION_METRICS__ENABLED", "TRUE", "metrics.enabled", True),
        ("ORION_QUEUE__DLQ_RETRY_ENABLED", "false", "queue.dlq_retry_enabled", False),
        ("ORION_TRACING__SAMPLE_RATE", "0.25", "tracing.sample_rate", 0.25),
        ("ORION_TRACING__STORAGE__MODE", "BATCH", "tracing.storage.mode", "batch"),
        ("ORION_ENGINE__CIRCUIT_BREAKER__ENABLED", "false", "engine.circuit_breaker.enabled", False),
        ("ORION_ENGINE__CIRCUIT_BREAKER__MAX_BREAKERS", "7", "engine.circuit_breaker.max_breakers", 7),
        ("ORION_RATE_LIMIT__ENDPOINTS__ADMIN_RPS", "5", "rate_limit.endpoints.admin_rps", 5),
        ("ORION_KAFKA__BROKERS", " k1:9092 ,, k2:9092,", "kafka.brokers", ["k1:9092", "k2:9092"]),
        ("ORION_KAFKA__DLQ__TOPIC", "dead", "kafka.dlq.topic", "dead"),
        ("ORION_ADMIN_AUTH__API_KEYS", "a,b", "admin_auth.api_keys", ["a", "b"]),
        ("ORION_ADMIN_AUTH__API_KEYS", "", "admin_auth.api_keys", []),
        ("ORION_CORS__ALLOWED_ORIGINS", "https://a.example, https://b.example", "cors.allowed_origins", ["https://a.example", "https://b.example"]),
        ("ORION_CHANNELS__INCLUDE", "orders.*", "channels.include", ["orders.*"]),
        ("ORION_PLUGINS__DISABLED", "log, map", "plugins.disabled", ["log", "map"]),
        ("ORION_PLUGINS__MODULES", "my_plugin", "plugins.modules", ["my_plugin"]),
    ],
)
def test_env_override_parses_by_type(var, raw, key, value):
    assert get(load_config(None, env={var: raw}), key) == value


REFERENCE_VARIABLES = """
ORION_ENV ORION_SERVER__HOST ORION_SERVER__PORT ORION_SERVER__SHUTDOWN_DRAIN_SECS ORION_SERVER__TLS__ENABLED
ORION_SERVER__TLS__CERT_PATH ORION_SERVER__TLS__KEY_PATH ORION_STORAGE__URL ORION_STORAGE__BUSY_TIMEOUT_MS
ORION_STORAGE__ACQUIRE_TIMEOUT_SECS ORION_STORAGE__BACKUP_DIR ORION_LOGGING__LEVEL ORION_LOGGING__FORMAT
ORION_INGEST__MAX_PAYLOAD_SIZE ORION_QUEUE__WORKERS ORION_QUEUE__BUFFER_SIZE ORION_QUEUE__SHUTDOWN_TIMEOUT_SECS
ORION_QUEUE__TRACE_RETENTION_HOURS ORION_QUEUE__TRACE_CLEANUP_INTERVAL_SECS ORION_QUEUE__PROCESSING_TIMEOUT_MS
ORION_QUEUE__MAX_RESULT_SIZE_BYTES ORION_QUEUE__MAX_QUEUE_MEMORY_BYTES ORION_METRICS__ENABLED ORION_TRACING__ENABLED
ORION_TRACING__OTLP_ENDPOINT ORION_TRACING__SERVICE_NAME ORION_TRACING__SAMPLE_RATE ORION_TRACING__DEBUG_PROFILE_ENABLED
ORION_ENGINE__HEALTH_CHECK_TIMEOUT_SECS ORION_ENGINE__RELOAD_TIMEOUT_SECS ORION_ENGINE__MAX_CHANNEL_CALL_DEPTH
ORION_ENGINE__DEFAULT_CHANNEL_CALL_TIMEOUT_MS ORION_ENGINE__GLOBAL_HTTP_TIMEOUT_SECS ORION_ENGINE__MAX_POOL_CACHE_ENTRIES
ORION_ENGINE__CIRCUIT_BREAKER__ENABLED ORION_ENGINE__CIRCUIT_BREAKER__FAILURE_THRESHOLD
ORION_ENGINE__CIRCUIT_BREAKER__RECOVERY_TIMEOUT_SECS ORION_ENGINE__CIRCUIT_BREAKER__MAX_BREAKERS ORION_RATE_LIMIT__ENABLED
ORION_RATE_LIMIT__DEFAULT_RPS ORION_RATE_LIMIT__DEFAULT_BURST ORION_KAFKA__ENABLED ORION_KAFKA__BROKERS ORION_KAFKA__GROUP_ID
ORION_KAFKA__PROCESSING_TIMEOUT_MS ORION_KAFKA__MAX_INFLIGHT ORION_KAFKA__LAG_POLL_INTERVAL_SECS ORION_ADMIN_AUTH__ENABLED
ORION_ADMIN_AUTH__API_KEY ORION_ADMIN_AUTH__HEADER ORION_ADMIN_AUTH__API_KEYS
""".split()


ENUM_SAMPLES = {"logging.level": ("DEBUG", "debug"), "logging.format": ("JSON", "json")}
# Variables whose new value needs a companion setting to pass validation.
COMPANIONS = {
    "ORION_SERVER__TLS__ENABLED": {"ORION_SERVER__TLS__CERT_PATH": __file__, "ORION_SERVER__TLS__KEY_PATH": __file__},
    "ORION_ADMIN_AUTH__ENABLED": {"ORION_ADMIN_AUTH__API_KEY": "k"},
}


def _sample(key, default):
    """A valid environment text for a key with this default, and the value it must produce."""
    if key in ENUM_SAMPLES:
        return ENUM_SAMPLES[key]
    if isinstance(default, bool):
        return str(not default).lower(), not default
    if isinstance(default, int):
        return str(default + 1), default + 1
    if isinstance(default, float):
        return "0.5", 0.5
    if isinstance(default, list):
        return "h1:1, h2:2", ["h1:1", "h2:2"]
    return "sqlite:other.db", "sqlite:other.db"


@pytest.mark.parametrize("var", REFERENCE_VARIABLES)
def test_every_reference_variable_sets_its_key(var):
    key = "environment" if var == "ORION_ENV" else var.removeprefix("ORION_").lower().replace("__", ".")
    raw, expected = _sample(key, SPEC_DEFAULTS[key])
    assert get(load_config(None, env={var: raw, **COMPANIONS.get(var, {})}), key) == expected


@pytest.mark.parametrize(
    ("var", "raw", "message"),
    [
        ("ORION_SERVER__PORT", "abc", "ORION_SERVER__PORT: invalid value 'abc', expected integer"),
        ("ORION_SERVER__PORT", "80.5", "ORION_SERVER__PORT: invalid value '80.5', expected integer"),
        ("ORION_TRACING__SAMPLE_RATE", "half", "ORION_TRACING__SAMPLE_RATE: invalid value 'half', expected number"),
        ("ORION_METRICS__ENABLED", "yes", "ORION_METRICS__ENABLED: invalid value 'yes', expected boolean (true or false)"),
        ("ORION_LOGGING__FORMAT", "xml", "ORION_LOGGING__FORMAT: invalid value 'xml', expected one of: pretty, json, text"),
        ("ORION_LOGGING__LEVEL", "verbose", "ORION_LOGGING__LEVEL: invalid value 'verbose', expected one of: trace, debug, info, warn, error"),
        ("ORION_RATE_LIMIT__ENDPOINTS__DATA_RPS", "", "ORION_RATE_LIMIT__ENDPOINTS__DATA_RPS: invalid value '', expected integer"),
    ],
)
def test_env_override_bad_value_names_the_variable(var, raw, message):
    with pytest.raises(ConfigError) as info:
        load_config(None, env={var: raw})
    assert str(info.value) == message


def test_env_override_value_is_still_validated():
    with pytest.raises(ConfigError, match=r"^queue\.workers must be > 0$"):
        load_config(None, env={"ORION_QUEUE__WORKERS": "0"})


def test_env_override_wins_over_file_and_substitution(tmp_path):
    text = '[server]\nport = ${PORT:-8000}\n[logging]\nlevel = "debug"\n'
    cfg = load(text, {"PORT": "8001", "ORION_SERVER__PORT": "8002", "ORION_ENV": "qa"}, tmp=tmp_path)
    assert (cfg["server"]["port"], cfg["logging"]["level"], cfg["environment"]) == (8002, "debug", "qa")


def test_unrelated_orion_variables_are_ignored():
    env = {"ORION_DISABLE_PLUGINS": "x", "ORION_ADMIN_KEY": "k", "ORION_OTHER__THING": "1", "ORION_": "", "ORION_ENVIRONMENT": "x"}
    assert load_config(None, env=env) == load_config(None, env={})


@pytest.mark.parametrize(
    ("var", "message"),
    [
        ("ORION_SERVER__PROT", "ORION_SERVER__PROT: unknown key 'server.prot' (did you mean 'server.port'?)"),
        ("ORION_SERVER__TLS__ENABELD", "ORION_SERVER__TLS__ENABELD: unknown key 'server.tls.enabeld' (did you mean 'server.tls.enabled'?)"),
        ("ORION_METRICS__XYZ", "ORION_METRICS__XYZ: unknown key 'metrics.xyz'; valid keys in [metrics]: enabled"),
        ("ORION_SERVER__TLS", "ORION_SERVER__TLS: [server.tls] is a table; set one of its keys, e.g. ORION_SERVER__TLS__ENABLED"),
        ("ORION_KAFKA__TOPICS", "ORION_KAFKA__TOPICS: kafka.topics is an array of tables; set it in the config file"),
        ("ORION_SERVER__PORT__X", "ORION_SERVER__PORT__X: server.port is a single key, not a table; set it with ORION_SERVER__PORT"),
    ],
)
def test_env_variable_for_an_unknown_key_is_an_error(var, message):
    with pytest.raises(ConfigError) as info:
        load_config(None, env={var: "1"})
    assert str(info.value) == message


# --- unknown keys and types in the file ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nprot = 80\n", "unknown key 'server.prot' (did you mean 'server.port'?)"),
        ('enviroment = "prod"\n', "unknown key 'enviroment' (did you mean 'environment'?)"),
        ("[server.tls]\nenabeld = true\n", "unknown key 'server.tls.enabeld' (did you mean 'server.tls.enabled'?)"),
        ("[sever]\nport = 1\n", "unknown key 'sever' (did you mean 'server'?)"),
        ("[metrics]\nzzz = 1\n", "unknown key 'metrics.zzz'; valid keys in [metrics]: enabled"),
        ("[[kafka.topics]]\ntopic = 't'\nchanel = 'c'\n", "unknown key 'kafka.topics[0].chanel' (did you mean 'kafka.topics[0].channel'?)"),
        ("[rate_limit.endpoints]\nadmin = 1\n", "unknown key 'rate_limit.endpoints.admin' (did you mean 'rate_limit.endpoints.admin_rps'?)"),
    ],
)
def test_unknown_key_is_an_error_naming_its_path(text, message, tmp_path):
    assert error_of(text, tmp=tmp_path) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[server]\nport = "8080"\n', "server.port must be an integer, got string '8080'"),
        ("[server]\nport = true\n", "server.port must be an integer, got boolean True"),
        ("[server]\nport = 70000\n", "server.port must be <= 65535"),
        ("[metrics]\nenabled = 1\n", "metrics.enabled must be a boolean (true or false), got integer 1"),
        ("[server]\nhost = 1\n", "server.host must be a string, got integer 1"),
        ('[kafka]\nbrokers = "a:1"\n', "kafka.brokers must be an array of strings, got string 'a:1'"),
        ("[cors]\nallowed_origins = [1]\n", "cors.allowed_origins must be an array of strings, got array [1]"),
        ('[tracing]\nsample_rate = "1"\n', "tracing.sample_rate must be a number, got string '1'"),
        ("server = 5\n", "server must be a table"),
        ("[tracing]\nstorage = 5\n", "tracing.storage must be a table"),
        ('[kafka]\ntopics = "x"\n', "kafka.topics must be an array of tables"),
        ("[kafka]\ntopics = [1]\n", "kafka.topics[0] must be a table"),
        ('[logging]\nformat = "xml"\n', "logging.format 'xml' is invalid. Must be one of: pretty, json, text"),
        ('[logging]\nlevel = "verbose"\n', "logging.level 'verbose' is invalid. Must be one of: trace, debug, info, warn, error"),
        ('[tracing.storage]\nmode = "later"\n', "tracing.storage.mode 'later' is invalid. Must be one of: sync, async, batch, off"),
        ("[tracing.storage]\nsample_rate = 1.5\n", "tracing.storage.sample_rate must be between 0.0 and 1.0, got 1.5"),
        ("[queue]\ntrace_retention_hours = -1\n", "queue.trace_retention_hours must be >= 0"),
    ],
)
def test_wrong_types_and_values_name_the_key(text, message, tmp_path):
    assert error_of(text, tmp=tmp_path) == message


def test_enum_values_are_case_insensitive_and_text_is_pretty(tmp_path):
    cfg = load('[logging]\nlevel = "WARN"\nformat = "Text"\n[tracing.storage]\nmode = "Off"\n', tmp=tmp_path)
    assert (cfg["logging"]["level"], cfg["logging"]["format"], cfg["tracing"]["storage"]["mode"]) == ("warn", "pretty", "off")


def test_int_accepted_where_a_float_is_expected(tmp_path):
    assert load("[tracing]\nsample_rate = 0\n", tmp=tmp_path)["tracing"]["sample_rate"] == 0.0


def test_several_problems_are_listed_together(tmp_path):
    message = error_of("[server]\nport = -1\nprot = 1\n[queue]\nworkers = 0\n", tmp=tmp_path)
    assert message == (
        "3 problems:\n"
        "  - server.port must be >= 0\n"
        "  - unknown key 'server.prot' (did you mean 'server.port'?)\n"
        "  - queue.workers must be > 0"
    )


# --- §2.3 rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nport = -1\n", "server.port must be >= 0"),  # 0 is allowed: the OS picks the port
        ("[ingest]\nmax_payload_size = 0\n", "ingest.max_payload_size must be > 0"),
        ("[queue]\nworkers = 0\n", "queue.workers must be > 0"),
        ("[queue]\nbuffer_size = -5\n", "queue.buffer_size must be > 0"),
        ("[queue]\nprocessing_timeout_ms = 0\n", "queue.processing_timeout_ms must be > 0"),
        ("[queue]\nshutdown_timeout_secs = 0\n", "queue.shutdown_timeout_secs must be > 0"),
        ("[engine]\nmax_channel_call_depth = 0\n", "engine.max_channel_call_depth must be > 0"),
        ("[engine]\ndefault_channel_call_timeout_ms = 0\n", "engine.default_channel_call_timeout_ms must be > 0"),
        ("[engine]\nhealth_check_timeout_secs = 0\n", "engine.health_check_timeout_secs must be > 0"),
        ("[engine]\nreload_timeout_secs = 0\n", "engine.reload_timeout_secs must be > 0"),
        ("[storage]\nbusy_timeout_ms = 0\n", "storage.busy_timeout_ms must be > 0"),
        ("[storage]\nacquire_timeout_secs = 0\n", "storage.acquire_timeout_secs must be > 0"),
        ("[server]\nworkers = 0\n", "server.workers must be > 0"),
        ('[storage]\nurl = ""\n', "storage.url must not be empty"),
        ("[storage]\nmin_connections = 9\nmax_connections = 4\n", "storage.min_connections (9) must be <= storage.max_connections (4)"),
        ('[tracing]\nenabled = true\notlp_endpoint = ""\n', "tracing.otlp_endpoint must not be empty when tracing.enabled is true"),
        ("[tracing]\nenabled = true\nsample_rate = 1.5\n", "tracing.sample_rate must be between 0.0 and 1.0, got 1.5"),
        ("[rate_limit]\nenabled = true\ndefault_rps = 0\n", "rate_limit.default_rps must be > 0"),
        ("[rate_limit]\nenabled = true\ndefault_burst = 0\n", "rate_limit.default_burst must be > 0"),
        ("[rate_limit.endpoints]\ndata_rps = 0\n", "rate_limit.endpoints.data_rps must be > 0"),
        ('[server]\ntrusted_proxies = ["10.0.0.1", "proxy.local"]\n',
         "server.trusted_proxies[1] 'proxy.local' is not an IP address or network (e.g. '10.0.0.0/8')"),
        ('[tracing.storage]\nmode = "batch"\nbatch_size = 0\n', "tracing.storage.batch_size must be > 0 in 'batch' mode"),
        ('[tracing.storage]\nmode = "async"\nasync_workers = 0\n', "tracing.storage.async_workers must be > 0 in 'async' mode"),
    ],
)
def test_validation_rule(text, message, tmp_path):
    assert error_of(text, tmp=tmp_path) == message


@pytest.mark.parametrize(
    "text",
    [
        "[tracing]\nsample_rate = 1.5\n",  # checked only when tracing is enabled
        "[rate_limit]\ndefault_rps = 0\n",
        '[tracing.storage]\nmode = "sync"\nbatch_size = 0\nasync_workers = 0\n',
        "[kafka]\nbrokers = []\nmax_inflight = 0\n",
        '[server]\ntrusted_proxies = ["10.0.0.0/8", "::1", "192.168.1.7"]\n',
    ],
)
def test_conditional_rules_do_not_apply_when_off(text, tmp_path):
    load(text, tmp=tmp_path)


def test_admin_auth_needs_a_key(tmp_path):
    message = error_of('[admin_auth]\nenabled = true\napi_key = "  "\napi_keys = [""]\n', tmp=tmp_path)
    assert message.startswith("At least one admin API key must be configured when admin auth is enabled. ")
    assert load('[admin_auth]\nenabled = true\napi_keys = ["k2"]\n', tmp=tmp_path)["admin_auth"]["enabled"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[kafka]\nenabled = true\nbrokers = []\n', "kafka.brokers must not be empty when kafka.enabled is true"),
        ('[kafka]\nenabled = true\nbrokers = ["localhost"]\n', "kafka.brokers[0] 'localhost' must be in host:port format"),
        ('[kafka]\nenabled = true\nbrokers = ["a:1", "b:x"]\n', "kafka.brokers[1] 'b:x' has an invalid port number (1-65535)"),
        ('[kafka]\nenabled = true\nbrokers = ["b:70000"]\n', "kafka.brokers[0] 'b:70000' has an invalid port number (1-65535)"),
        ('[kafka]\nenabled = true\ngroup_id = ""\n', "kafka.group_id must not be empty when kafka.enabled is true"),
        ("[kafka]\nenabled = true\nmax_inflight = 0\n", "kafka.max_inflight must be > 0"),
        ('[kafka]\nenabled = true\n[[kafka.topics]]\ntopic = "t"\n', "kafka.topics[0].channel must not be empty"),
        ('[kafka]\nenabled = true\n[[kafka.topics]]\ntopic = "t"\nchannel = "a"\n[[kafka.topics]]\ntopic = "t"\nchannel = "b"\n',
         "kafka.topics: topic 't' appears more than once"),
        ('[kafka]\nenabled = true\n[[kafka.topics]]\ntopic = "t1"\nchannel = "a"\n[[kafka.topics]]\ntopic = "t2"\nchannel = "a"\n',
         "kafka.topics: channel 'a' appears more than once"),
    ],
)
def test_kafka_rules(text, message, tmp_path):
    assert error_of(text, tmp=tmp_path) == message


def test_kafka_valid(tmp_path):
    cfg = load('[kafka]\nenabled = true\nbrokers = ["k1:9092", "[::1]:9093"]\n[[kafka.topics]]\ntopic = "in"\nchannel = "orders"\n', tmp=tmp_path)
    assert cfg["kafka"]["topics"] == [{"topic": "in", "channel": "orders"}]


def test_tls_files_must_exist(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    text = f'[server.tls]\nenabled = true\ncert_path = "{cert}"\nkey_path = "{key}"\n'
    assert error_of(text, tmp=tmp_path) == (
        f"2 problems:\n  - TLS certificate file not found: '{cert}'\n  - TLS private key file not found: '{key}'"
    )
    cert.write_text("c")
    assert error_of(text, tmp=tmp_path) == f"TLS private key file not found: '{key}'"
    key.write_text("k")
    assert load(text, tmp=tmp_path)["server"]["tls"]["enabled"] is True
    assert error_of("[server.tls]\nenabled = true\n", tmp=tmp_path) == (
        "2 problems:\n  - server.tls.cert_path must not be empty when server.tls.enabled is true\n"
        "  - server.tls.key_path must not be empty when server.tls.enabled is true"
    )


# --- production --------------------------------------------------------------------------------------

PRODUCTION_READY = '[admin_auth]\nenabled = true\napi_key = "k"\n[cors]\nallowed_origins = ["https://app.example.com"]\n'


@pytest.mark.parametrize("name", ["prod", "production", "Production-EU", "PRODUCTION"])
def test_production_requires_admin_auth_and_no_cors_wildcard(name, tmp_path):
    message = error_of(f'environment = "{name}"\n', tmp=tmp_path)
    assert message.startswith("2 problems:\n  - admin_auth must be enabled when environment starts with 'prod'. ")
    assert "\n  - CORS wildcard '*' is not allowed when environment starts with 'prod'. " in message
    cfg = load(f'environment = "{name}"\n' + PRODUCTION_READY, tmp=tmp_path)
    assert is_production(cfg) and config_warnings(cfg) == []


def test_production_from_orion_env(tmp_path):
    with pytest.raises(ConfigError, match="admin_auth must be enabled"):
        load(PRODUCTION_READY.replace("true", "false"), {"ORION_ENV": "prod"}, tmp=tmp_path)


@pytest.mark.parametrize("name", ["development", "staging", "preprod", "pro"])
def test_non_production_only_warns(name):
    cfg = load_config(None, env={"ORION_ENV": name})
    assert not is_production(cfg)
    warnings = config_warnings(cfg)
    assert len(warnings) == 2
    assert "admin_auth is disabled" in warnings[0] and "CORS allows every origin" in warnings[1]


# --- summary ------------------------------------------------------------------------------------------


def test_summary_names_every_area_without_secrets(tmp_path):
    cfg = load(
        'environment = "production"\n' + PRODUCTION_READY
        + '[storage]\nurl = "postgres://orion:s3cret@db:5432/orion"\n'
        + '[rate_limit]\nenabled = true\n[kafka]\nenabled = true\nbrokers = ["k1:9092", "k2:9092"]\n',
        tmp=tmp_path,
    )
    text = "\n".join(summarize_config(cfg))
    assert "s3cret" not in text and '"k"' not in text
    for expected in (
        "Environment: production (production)",
        f"Listen: 0.0.0.0:8080 ({cfg['server']['workers']} worker process(es))",
        "TLS: disabled",
        "Storage: postgres://orion:***@db:5432/orion",
        "Logging: level info, format pretty",
        "Admin auth: enabled (1 key(s), header Authorization)",
        "CORS origins: https://app.example.com",
        "Rate limiting: enabled (100 rps, burst 50)",
        "Queue: 4 workers, buffer 1000",
        "Metrics: disabled",
        "OpenTelemetry: disabled",
        "Kafka: enabled (brokers k1:9092, k2:9092)",
    ):
        assert expected in text.splitlines()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:orion.db", "sqlite:orion.db"),
        ("mysql://user:pw@h:3306/db?ssl=1", "mysql://user:***@h:3306/db?ssl=1"),
        ("postgres://user@h/db", "postgres://user@h/db"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown
