"""Bulk import of workflows or channels as drafts (api-admin.md §10), all or nothing.

Every item is validated like a single create, then checked against storage (id or channel name
taken) and against the items before it (the same id or channel name twice). A dry run stops
there; a real import writes every item in one transaction, and nothing at all when any item
failed.
"""
from __future__ import annotations

from typing import Any

from .audit import record_audit
from .errors import FieldError
from .registry import ANONYMOUS, ID_FIELDS, Registry, new_entity_conflict
from .storage import CHANNEL
from .validation.ids import shorten

#: most items one request may carry
MAX_BATCH = 1000

Row = dict[str, Any]


def _failure(index: int, message: str, details: list[FieldError] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"index": index, "error": message}
    if details:
        entry["details"] = [d.to_json() for d in details]
    return entry


def _check_items(registry: Registry, kind: str, items: list[Any]) -> tuple[list[tuple[int, Row]], list[dict[str, Any]]]:
    """``(valid rows with their index, failures)`` of a batch, storage aside."""
    rows: list[tuple[int, Row]] = []
    failures: list[dict[str, Any]] = []
    first_id: dict[str, int] = {}
    first_name: dict[str, int] = {}
    for index, item in enumerate(items):
        row, errors, message = registry.check_new(kind, item)
        if errors:
            failures.append(_failure(index, message, errors))
            continue
        entity_id = row[ID_FIELDS[kind]]
        if entity_id in first_id:
            failures.append(_failure(index, f"'{entity_id}' appears more than once in this batch (first at index {first_id[entity_id]})"))
            continue
        if kind == CHANNEL and row["name"] in first_name:
            failures.append(_failure(index, f"Channel name '{shorten(row['name'])}' appears more than once in this batch "
                                            f"(first at index {first_name[row['name']]})"))
            continue
        first_id[entity_id] = index
        first_name[row["name"]] = index
        rows.append((index, row))
    return rows, failures


async def import_batch(
    registry: Registry, kind: str, items: list[Any], *, dry_run: bool, principal: str = ANONYMOUS
) -> dict[str, Any]:
    """Import ``items`` (create bodies) as version-1 drafts; the §10 response object.

    Real import: ``{"imported", "failed", "errors", "ids"}``; when anything failed, ``imported``
    is 0 and nothing was written. Dry run: ``{"dry_run": true, "would_create", "would_fail",
    "imported": 0, "failed", "errors"}``. ``errors`` entries are ``{"index", "error"}`` plus
    ``details`` (FieldErrors, paths relative to the item) for validation failures, by index.
    """
    rows, failures = _check_items(registry, kind, items)
    async with registry.storage.transaction() as tx:
        valid: list[Row] = []
        for index, row in rows:
            problem = await new_entity_conflict(tx, kind, row)
            if problem:
                failures.append(_failure(index, problem))
            else:
                valid.append(row)
        failures.sort(key=lambda entry: entry["index"])
        if dry_run:
            return {"dry_run": True, "would_create": len(valid), "would_fail": len(failures), "imported": 0,
                    "failed": len(failures), "errors": failures}
        if not failures:
            for row in valid:
                await tx.insert_version(kind, row)
    if failures:
        return {"imported": 0, "failed": len(failures), "errors": failures, "ids": []}
    ids = [row[ID_FIELDS[kind]] for row in valid]
    if ids:
        await record_audit(registry.storage, "import", kind, f"{len(ids)} imported", principal, {"ids": ids})
    return {"imported": len(ids), "failed": 0, "errors": [], "ids": ids}
