"""Admin backup routes (api-admin.md §11): write, list and download copies of the database.

Backups are files ``orion_backup_<YYYYMMDD_HHMMSS>.db`` (UTC; ``_<n>`` added when two fall in one
second) in ``storage.backup_dir``. Restoring is starting a server on one (docs/admin-api.md).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiohttp import web

from ..audit import record_audit
from ..errors import ApiError, not_found
from ..validation.ids import shorten
from .admin_common import principal_of
from .api_schemas import BackupEnvelope, BackupList, BackupPath
from .common import json_response
from .keys import KERNEL
from .openapi import describe

PREFIX, SUFFIX = "orion_backup_", ".db"
NAME = re.compile(r"orion_backup_\d{8}_\d{6}(?:_\d{1,4})?\.db")
MAX_SAME_SECOND = 1000


def _rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="milliseconds")


def _directory(request: web.Request) -> Path:
    return Path(request.app[KERNEL].config["storage"]["backup_dir"])


def _free_name(directory: Path, now: datetime) -> str:
    stem = PREFIX + now.strftime("%Y%m%d_%H%M%S")
    for number in range(MAX_SAME_SECOND):
        name = f"{stem}{f'_{number}' if number else ''}{SUFFIX}"
        if not (directory / name).exists():
            return name
    raise ApiError("INTERNAL_ERROR", f"{MAX_SAME_SECOND} backups were written in the same second; try again")


@describe("Write a backup of the database into storage.backup_dir (SQLite only)", tag="Operational",
          responses={200: BackupEnvelope}, errors=(400, 500))
async def create_backup(request: web.Request) -> web.Response:
    """Write a consistent copy of the live database into ``storage.backup_dir`` (SQLite only)."""
    storage = request.app[KERNEL].storage
    if not storage.supports_backup:
        raise ApiError("BAD_REQUEST", f"Database backup via VACUUM INTO is only supported for SQLite (storage backend: {storage.name})")
    directory = _directory(request)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ApiError("INTERNAL_ERROR", f"cannot create the backup directory '{directory}' (storage.backup_dir): {exc.strerror}") from None
    now = datetime.now(timezone.utc)
    name = _free_name(directory, now)
    path = directory / name
    await storage.backup(str(path))
    size = path.stat().st_size
    await record_audit(storage, "create", "backup", name, principal_of(request), {"size_bytes": size})
    return json_response({"data": {"filename": name, "path": str(path), "size_bytes": size,
                                   "created_at": now.isoformat(timespec="milliseconds")}})


def _entry(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"filename": path.name, "size_bytes": stat.st_size, "modified_at": _rfc3339(stat.st_mtime)}


@describe("List the backups, newest first", tag="Operational", responses={200: BackupList})
async def list_backups(request: web.Request) -> web.Response:
    """List the backups in ``storage.backup_dir``, newest first."""
    directory = _directory(request)
    paths = sorted(directory.glob(f"{PREFIX}*{SUFFIX}"), key=lambda p: p.name, reverse=True) if directory.is_dir() else []
    return json_response({"data": [_entry(path) for path in paths if path.is_file()]})


@describe("Download one backup (a SQLite database file)", tag="Operational", path=BackupPath,
          responses={200: "application/vnd.sqlite3"}, errors=(404,))
async def download_backup(request: web.Request) -> web.StreamResponse:
    """Download one backup file (a SQLite database)."""
    name = request.match_info["name"]
    path = _directory(request) / name
    if not NAME.fullmatch(name) or not path.is_file():  # the pattern admits no separator or '..'
        raise not_found(f"Backup '{shorten(name)}' not found")
    return web.FileResponse(path, headers={"Content-Type": "application/vnd.sqlite3",
                                           "Content-Disposition": f'attachment; filename="{name}"'})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/admin/backups", create_backup)
    app.router.add_get("/api/v1/admin/backups", list_backups)
    app.router.add_get("/api/v1/admin/backups/{name}", download_backup)
