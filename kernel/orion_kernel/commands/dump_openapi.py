"""``dump-openapi``: print the OpenAPI document (the bytes ``/api/v1/openapi.json`` serves) without starting the server."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import PluginError
from . import fail, load_plugin_set


def run(cfg: dict[str, Any], args: argparse.Namespace) -> int:
    """Build the application of a kernel that is never started (no storage is opened) and print its document."""
    # imported here so every other command works without the HTTP stack's imports
    from ..http.api_docs import openapi_json
    from ..http.app import create_app
    from ..kernel import Kernel

    try:
        kernel = Kernel(cfg, load_plugin_set(cfg))
    except (PluginError, RuntimeError) as exc:  # RuntimeError: no expression engine left after disabling plugins
        return fail(str(exc))
    sys.stdout.buffer.write(openapi_json(create_app(kernel)) + b"\n")
    sys.stdout.flush()
    return 0
