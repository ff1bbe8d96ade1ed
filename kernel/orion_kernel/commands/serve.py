"""``serve`` (the default command): load the plugins and run the HTTP server until shut down."""
from __future__ import annotations

import argparse
import logging
from typing import Any

from .. import __version__
from ..config import config_warnings
from ..errors import PluginError
from . import fail, load_plugin_set

logger = logging.getLogger("orion.server")


def run(cfg: dict[str, Any], args: argparse.Namespace) -> int:
    """Start the server; returns its exit status (0 after a clean shutdown)."""
    logger.info("orion-kernel %s starting (environment %s)", __version__, cfg["environment"])
    for warning in config_warnings(cfg):
        logger.warning(warning)
    try:
        plugin_set = load_plugin_set(cfg)
    except PluginError as exc:
        return fail(str(exc))
    from .. import server  # imported here so every other command works without the server's imports

    return server.serve(cfg, plugin_set) or 0
