"""The orion-kernel command line, run in-process: version, usage, validate-config, plugins, migrate."""
from __future__ import annotations

import importlib
import importlib.metadata as md
import logging
import os
import textwrap
from pathlib import Path

import pytest

from orion_kernel.cli import NO_CONFIG_NOTE, main
from orion_kernel.plugins import ENTRY_POINT_GROUP

PLUGIN_MODULE = '''
"""A test plugin providing one task function with an alias."""
from orion_kernel import TaskFunction, hookimpl

ORION_PLUGIN_NAME = "cli_probe"


async def run(ctx, params):
    return None


@hookimpl
def orion_task_functions():
    yield TaskFunction(name="probe_fn", run=run, aliases=("probe_alias",))
'''


def _unimportable_plugins() -> list[str]:
    """Entry points whose module does not import (yet): built-ins still being written elsewhere."""
    names = []
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        try:
            importlib.import_module(ep.module)
        except Exception:
            names.append(ep.name)
    return sorted(set(names))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No ORION_* variable of the caller leaks in; the root logger is restored after main()."""
    for name in [n for n in os.environ if n.startswith("ORION_")]:
        monkeypatch.delenv(name)
    broken = _unimportable_plugins()
    if broken:
        monkeypatch.setenv("ORION_DISABLE_PLUGINS", ",".join(broken))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def config_file(tmp_path):
    def _write(text: str) -> str:
        path = tmp_path / "config.toml"
        path.write_text(textwrap.dedent(text))
        return str(path)

    return _write


# --- flags and usage ------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag, capsys):
    assert main([flag]) == 0
    assert capsys.readouterr().out == "orion-kernel 0.1.0\n"


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("serve", "validate-config", "migrate", "plugins", "-c FILE, --config FILE"):
        assert command in out


@pytest.mark.parametrize("argv", [["bogus"], ["--nope"], ["migrate", "--bad"], ["validate-config", "extra"], ["-c"]])
def test_usage_error_exits_2(argv, capsys):
    assert main(argv) == 2
    assert "usage: orion-kernel" in capsys.readouterr().err


# --- validate-config ------------------------------------------------------------------------------


def test_validate_config_without_file_uses_defaults(capsys):
    assert main(["validate-config"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "Configuration is valid."
    assert "  Listen: 0.0.0.0:8080" in "\n".join(lines)
    assert "  Storage: sqlite:orion.db" in lines
    assert captured.err.splitlines()[0] == NO_CONFIG_NOTE
    assert "Warning: admin_auth is disabled" in captured.err


@pytest.mark.parametrize("argv", [["-c", "{f}", "validate-config"], ["validate-config", "-c", "{f}"], ["validate-config", "--config={f}"]])
def test_config_flag_before_or_after_the_subcommand(argv, config_file, capsys):
    path = config_file("[server]\nport = 9321\n")
    assert main([arg.format(f=path) for arg in argv]) == 0
    captured = capsys.readouterr()
    assert "  Listen: 0.0.0.0:9321" in captured.out
    assert NO_CONFIG_NOTE not in captured.err


def test_env_overrides_apply(monkeypatch, capsys):
    monkeypatch.setenv("ORION_SERVER__PORT", "7001")
    monkeypatch.setenv("ORION_LOGGING__FORMAT", "json")
    assert main(["validate-config"]) == 0
    out = capsys.readouterr().out
    assert "Listen: 0.0.0.0:7001" in out and "format json" in out


def test_unknown_key_is_a_configuration_error(config_file, capsys):
    path = config_file("[server]\nprot = 80\n")
    assert main(["validate-config", "-c", path]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "Error: Configuration error: unknown key 'server.prot' (did you mean 'server.port'?)\n"


def test_bad_env_value_is_a_configuration_error(monkeypatch, capsys):
    monkeypatch.setenv("ORION_SERVER__PORT", "abc")
    assert main(["validate-config"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "Error: Configuration error: ORION_SERVER__PORT: invalid value 'abc', expected integer"
    )


def test_missing_config_file(tmp_path, capsys):
    assert main(["-c", str(tmp_path / "missing.toml"), "validate-config"]) == 1
    assert capsys.readouterr().err.startswith("Error: Configuration error: cannot read config file ")


def test_config_error_stops_every_command_before_it_runs(config_file, capsys):
    path = config_file("[storage]\nurl = ''\n")
    for argv in (["plugins"], ["migrate"], ["serve"], []):
        assert main([*argv, "-c", path] if argv else ["-c", path]) == 1
        assert capsys.readouterr().err == "Error: Configuration error: storage.url must not be empty\n"


# --- plugins ------------------------------------------------------------------------------------


def test_plugins_lists_builtins(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "DISTRIBUTION", "VERSION", "HOOKS", "FUNCTIONS"]
    datalogic = next(row for row in rows if row.startswith("datalogic"))
    assert datalogic.split()[:5] == ["datalogic", "*", "orion-kernel", "0.1.0", "orion_expression_engine"]
    if "parse_json" not in _unimportable_plugins():
        parse_json = next(row for row in rows if row.startswith("parse_json "))
        assert "orion_task_functions" in parse_json and parse_json.rstrip().endswith("parse_json")


def test_plugins_shows_configured_modules_with_their_functions(tmp_path, monkeypatch, config_file, capsys):
    (tmp_path / "cli_probe_plugin.py").write_text(PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = config_file('[plugins]\nmodules = ["cli_probe_plugin"]\n')
    assert main(["plugins", "-c", path]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("cli_probe "))
    assert row.split()[1:4] == ["local", "unknown", "orion_task_functions"]
    assert row.endswith("probe_fn (probe_alias)")


def test_plugins_reports_disabled(monkeypatch, capsys):
    monkeypatch.setenv("ORION_PLUGINS__DISABLED", "log")
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert not any(line.startswith("log ") for line in out.splitlines())
    assert "log" in out.splitlines()[-1].removeprefix("disabled: ").split(", ")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[plugins]\ndisabled = ["datalogic"]\n', "Error: plugin 'datalogic' (orion-kernel) is essential and cannot be disabled"),
        ('[plugins]\nmodules = ["no_such_plugin_xyz"]\n',
         "Error: plugin module 'no_such_plugin_xyz' (plugins.modules) failed to import: ModuleNotFoundError"),
    ],
)
def test_plugin_error_exits_1(toml, message, config_file, capsys):
    assert main(["plugins", "-c", config_file(toml)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1].startswith(message)


# --- migrate ------------------------------------------------------------------------------------


def test_migrate_unsupported_scheme(config_file, capsys):
    path = config_file('[storage]\nurl = "redis://localhost/0"\n')
    assert main(["migrate", "-c", path]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith(
        "Error: Unsupported database URL scheme: redis://localhost/0. Expected sqlite:, postgres://, or mysql://"
    )


def test_migrate_sqlite(tmp_path, config_file, capsys):
    pytest.importorskip("orion_builtins.storage.sqlite", reason="the SQLite storage plugin is not written yet")
    database = tmp_path / "orion.db"
    path = config_file(f'[storage]\nurl = "sqlite:{database}"\n')

    assert main(["migrate", "--dry-run", "-c", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    count = len(lines) - 1
    assert count > 0 and lines[0] == f"Pending migrations ({count}):"
    assert all(line.startswith("  ") and " — " in line for line in lines[1:])

    assert main(["migrate", "-c", path]) == 0
    assert capsys.readouterr().out.splitlines() == [f"Applying {count} migration(s)...", "Migrations applied successfully."]
    assert database.exists()

    for argv in (["migrate", "-c", path], ["migrate", "--dry-run", "-c", path]):
        assert main(argv) == 0
        assert capsys.readouterr().out == "No pending migrations.\n"


def test_migrate_failure_is_reported(tmp_path, config_file, capsys):
    pytest.importorskip("orion_builtins.storage.sqlite", reason="the SQLite storage plugin is not written yet")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    path = config_file(f'[storage]\nurl = "sqlite:{Path(blocker) / "orion.db"}"\n')
    assert main(["migrate", "-c", path]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith("Error: migration of sqlite:")
