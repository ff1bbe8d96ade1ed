"""``validate-config``: report that the configuration loaded, with a summary."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config import config_warnings, summarize_config


def run(cfg: dict[str, Any], args: argparse.Namespace) -> int:
    """Print ``Configuration is valid.`` and the summary; non-production warnings go to stderr."""
    print("Configuration is valid.")
    for line in summarize_config(cfg):
        print(f"  {line}")
    for warning in config_warnings(cfg):
        print(f"Warning: {warning}", file=sys.stderr)
    return 0
