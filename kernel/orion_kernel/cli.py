"""The ``orion-kernel`` command line: parse arguments, load the configuration, run one command."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .commands import dump_openapi, migrate, plugin_table, serve, validate_config
from .config import load_config
from .errors import ConfigError
from .logging_setup import configure_logging

NO_CONFIG_NOTE = "Note: no config file specified (-c <path>). Using defaults + ORION_* env overrides."


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``-c/--config`` is accepted before and after the subcommand."""
    parser = argparse.ArgumentParser(prog="orion-kernel", description="Orion declarative services runtime.")
    parser.add_argument("-V", "--version", action="version", version=f"orion-kernel {__version__}")
    parser.add_argument("-c", "--config", metavar="FILE", help="path of config.toml (default: built-in defaults)")
    parser.set_defaults(run=serve.run)
    # SUPPRESS: a subcommand without -c keeps the value given before it.
    config_after = argparse.ArgumentParser(add_help=False)
    config_after.add_argument("-c", "--config", metavar="FILE", default=argparse.SUPPRESS, help="path of config.toml")

    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    commands.add_parser(
        "serve", aliases=["start"], parents=[config_after], help="start the server (the default)"
    ).set_defaults(run=serve.run)
    commands.add_parser(
        "validate-config", parents=[config_after], help="load and validate the configuration, print a summary"
    ).set_defaults(run=validate_config.run)
    migrate_parser = commands.add_parser("migrate", parents=[config_after], help="apply pending database migrations")
    migrate_parser.add_argument("--dry-run", action="store_true", help="list pending migrations without applying them")
    migrate_parser.set_defaults(run=migrate.run)
    commands.add_parser(
        "plugins", parents=[config_after], help="list loaded plugins, their hooks and task functions"
    ).set_defaults(run=plugin_table.run)
    commands.add_parser(
        "dump-openapi", parents=[config_after], help="print the OpenAPI document served at /api/v1/openapi.json"
    ).set_defaults(run=dump_openapi.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``orion-kernel``; returns the exit status (0 ok, 1 failure, 2 usage error)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) and usage errors (2) already printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.config is None:
        print(NO_CONFIG_NOTE, file=sys.stderr)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"Error: Configuration error: {exc}", file=sys.stderr)
        return 1
    configure_logging(cfg["logging"]["level"], cfg["logging"]["format"], access_log=cfg["logging"]["access_log"])
    return args.run(cfg, args)
