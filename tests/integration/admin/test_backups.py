"""Backups: create, list, download, and a server started on a downloaded backup sees the same data."""
from __future__ import annotations

import re
import sqlite3

import orjson
import pytest

from orion_kernel.config import load_config
from orion_kernel.http.app import create_app
from orion_kernel.kernel import Kernel
from tests.integration.admin.conftest import ADMIN, REQUEST_ID, WF, Admin, workflow

BACKUPS = f"{ADMIN}/backups"
NAME = re.compile(r"orion_backup_\d{8}_\d{6}(_\d+)?\.db")
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


async def test_create_list_download_and_restore(admin, aiohttp_client, tmp_path):
    assert await admin.call("GET", BACKUPS, status=200) == {"data": []}  # no directory yet
    await admin.active_workflow(workflow("wf-1"))

    first = (await admin.call("POST", BACKUPS, status=200))["data"]
    second = (await admin.call("POST", BACKUPS, status=200))["data"]
    for made in (first, second):
        assert NAME.fullmatch(made["filename"]), made
        assert made["path"] == str(tmp_path / "backups" / made["filename"])
        assert made["size_bytes"] > 0 and RFC3339.fullmatch(made["created_at"])
    assert first["filename"] != second["filename"]  # same second: a number is added

    listed = (await admin.call("GET", BACKUPS, status=200))["data"]
    assert [b["filename"] for b in listed] == sorted([first["filename"], second["filename"]], reverse=True)
    assert all(set(b) == {"filename", "size_bytes", "modified_at"} and RFC3339.fullmatch(b["modified_at"]) for b in listed)
    (tmp_path / "backups" / "notes.txt").write_text("not a backup")
    assert len((await admin.call("GET", BACKUPS, status=200))["data"]) == 2
    entry = (await admin.audit())[-1]
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == ("create", "backup", second["filename"])
    assert orjson.loads(entry["details"]) == {"size_bytes": second["size_bytes"]}

    resp = await admin.client.get(f"{BACKUPS}/{first['filename']}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/vnd.sqlite3"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="{first["filename"]}"'
    restored = tmp_path / "restored.db"
    restored.write_bytes(await resp.read())
    with sqlite3.connect(restored) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # restore = start a server on the file
    kernel = Kernel(load_config(None, env={"ORION_STORAGE__URL": f"sqlite:{restored}"}))
    await kernel.start(watch=False)
    try:
        other = Admin(await aiohttp_client(create_app(kernel)), kernel)
        row = (await other.call("GET", f"{WF}/wf-1", status=200))["data"]
        assert row["status"] == "active"
        assert kernel.runtime.snapshot.workflows_count == 1
    finally:
        await kernel.stop()


@pytest.mark.parametrize("name", ["nope.db", "orion_backup_20260101_000000.db", "..%2Forion.db", "orion_backup_x.db"])
async def test_download_unknown_or_malformed_names_is_404(admin, name):
    await admin.call("POST", BACKUPS, status=200)
    await admin.error("GET", f"{BACKUPS}/{name}", status=404, code="NOT_FOUND")


async def test_the_database_file_next_to_the_backups_cannot_be_fetched(admin, tmp_path):
    resp = await admin.client.get(f"{BACKUPS}/..%2Forion.db", headers={"x-request-id": REQUEST_ID})
    assert resp.status == 404
    resp = await admin.client.get(f"{BACKUPS}/../orion.db")
    assert resp.status == 404


async def test_backup_needs_a_backend_that_supports_it(admin):
    admin.kernel.storage.supports_backup = False  # what a PostgreSQL or MySQL backend declares
    async with admin.unchanged():
        err = await admin.error("POST", BACKUPS, status=400, code="BAD_REQUEST")
    assert err["message"] == "Database backup via VACUUM INTO is only supported for SQLite (storage backend: sqlite)"


async def test_an_unusable_backup_dir_is_a_500(make_admin, tmp_path):
    (tmp_path / "file").write_text("")
    admin = await make_admin(config={"storage": {"backup_dir": str(tmp_path / "file" / "backups")}})
    err = await admin.error("POST", BACKUPS, status=500, code="INTERNAL_ERROR")
    assert "storage.backup_dir" in err["message"]
    assert await admin.call("GET", BACKUPS, status=200) == {"data": []}
