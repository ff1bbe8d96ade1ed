"""Shared pieces of the tests where two server processes share state through the real Redis."""
from __future__ import annotations

from pathlib import Path
from typing import Any

#: the database the two-server tests share; each test keeps to a key prefix of its own (conftest.redis_prefix)
REDIS_DB_URL = "redis://127.0.0.1:6379/11"

ECHO_WORKFLOW = {"workflow_id": "echo", "name": "echo", "tasks": [
    {"id": "echo", "name": "echo", "function": {"name": "parse_json", "input": {"source": "payload", "target": "echo"}}}]}


def shared_store_config(tmp_path: Path, key_prefix: str) -> dict[str, Any]:
    """A server config on one SQLite file and the shared Redis store under ``key_prefix``."""
    return {"storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"},
            "governance": {"store": REDIS_DB_URL, "key_prefix": key_prefix}}
