"""``migrate [--dry-run]``: apply (or list) the pending storage migrations without starting the server."""
from __future__ import annotations

import argparse
import asyncio
from typing import Any

from ..config import redact_url
from ..errors import PluginError
from ..storage import StorageBackend
from . import fail, load_plugin_set


def run(cfg: dict[str, Any], args: argparse.Namespace) -> int:
    """Open the configured database, migrate it (or list what would run), close it."""
    url = cfg["storage"]["url"]
    try:
        backend = load_plugin_set(cfg).storage_backend(url, cfg["storage"])
    except PluginError as exc:
        return fail(str(exc))
    try:
        return asyncio.run(_migrate(backend, dry_run=args.dry_run))
    except Exception as exc:  # any driver or filesystem failure: report it, never a traceback
        return fail(f"migration of {redact_url(url)} failed: {type(exc).__name__}: {exc}")


async def _migrate(backend: StorageBackend, *, dry_run: bool) -> int:
    await backend.open()
    try:
        pending = await backend.pending_migrations()
        if not pending:
            print("No pending migrations.")
        elif dry_run:
            print(f"Pending migrations ({len(pending)}):")
            for version, description in pending:
                print(f"  {version} — {description}")
        else:
            print(f"Applying {len(pending)} migration(s)...")
            await backend.migrate()
            print("Migrations applied successfully.")
        return 0
    finally:
        await backend.close()
