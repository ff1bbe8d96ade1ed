"""The audit log of admin changes (api-admin.md §9): who did what to which resource, and when.

``details`` is JSON text (the spec's column is a string) with a before/after summary of the
change; :func:`version_states` and :func:`changed_fields` build the usual parts of it.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from .message import storage_now
from .sql import dump_json
from .storage import StorageBackend

logger = logging.getLogger("orion.audit")

#: a stored or changed value is shown in ``details`` only when it is a scalar (not tasks, config, ...)
_SCALARS = (str, int, float, bool, type(None))


async def record_audit(
    storage: StorageBackend,
    action: str,
    resource_type: str,
    resource_id: str,
    principal: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append one audit entry; a failure is logged and never raised (api-admin.md §1.7)."""
    row = {
        "id": str(uuid.uuid4()), "principal": principal, "action": action, "resource_type": resource_type,
        "resource_id": resource_id, "details": dump_json(details) if details is not None else None,
        "created_at": storage_now(),
    }
    logger.info("%s %s '%s' by %s", action, resource_type, resource_id, principal,
                extra={"action": action, "resource_type": resource_type, "resource_id": resource_id, "principal": principal})
    try:
        await storage.insert_audit(row)
    except Exception:
        logger.exception("audit entry %s %s '%s' could not be written", action, resource_type, resource_id)


def version_states(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``[{version, status, rollout_percentage?}]`` of version rows (rollout only for workflows)."""
    out = []
    for row in rows:
        state = {"version": row["version"], "status": row["status"]}
        if "rollout_percentage" in row:
            state["rollout_percentage"] = row["rollout_percentage"]
        out.append(state)
    return out


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """``{"changed": [...], "before": {...}, "after": {...}}`` for the fields whose value differs;
    values are included only for scalars (a changed ``tasks`` array is just named)."""
    changed = [name for name in names if before.get(name) != after.get(name)]
    return {
        "changed": changed,
        "before": {n: before.get(n) for n in changed if isinstance(before.get(n), _SCALARS)},
        "after": {n: after.get(n) for n in changed if isinstance(after.get(n), _SCALARS)},
    }
