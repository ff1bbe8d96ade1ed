"""Lifecycle of versioned workflows and channels (api-admin.md §3.3, §4.3) on top of storage.

Policy only: every operation validates first, writes inside one storage transaction (so an
error leaves storage unchanged), then records an audit entry and, for changes to what is live,
bumps the revision and reloads the engine. Failures are raised as :class:`ApiError`.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from .errors import ApiError, FieldError, bad_request, conflict, not_found, validation_error
from .expressions import ExpressionEngine
from .message import storage_now
from .storage import CHANNEL, CHANNEL_FIELDS, WORKFLOW, WORKFLOW_FIELDS, StorageBackend, StorageConflict, StorageTransaction
from .types import TaskFunction
from .validation import channels as channel_rules
from .validation import workflows as workflow_rules
from .validation.common import summarize
from .validation.ids import new_id, shorten

if TYPE_CHECKING:
    from .kernel import Kernel

logger = logging.getLogger("orion.registry")

ANONYMOUS = "anonymous"
DRAFT, ACTIVE, ARCHIVED = "draft", "active", "archived"
LABELS = {WORKFLOW: "Workflow", CHANNEL: "Channel"}
ID_FIELDS = {WORKFLOW: "workflow_id", CHANNEL: "channel_id"}
ROW_FIELDS = {WORKFLOW: WORKFLOW_FIELDS, CHANNEL: CHANNEL_FIELDS}

Row = dict[str, Any]


class Registry:
    """Create, edit, version, activate, archive and delete workflows and channels."""

    def __init__(
        self,
        storage: StorageBackend,
        functions: Mapping[str, TaskFunction],
        engine: ExpressionEngine,
        reload: Callable[[], Awaitable[object]],
    ) -> None:
        self.storage = storage
        self.functions = functions
        self.engine = engine
        self.reload = reload

    @classmethod
    def for_kernel(cls, kernel: Kernel) -> Registry:
        """The registry over a kernel's storage, functions, expression engine and engine runtime."""
        assert kernel.plugins.expression_engine is not None  # Kernel refuses to start without one
        return cls(kernel.storage, kernel.plugins.functions, kernel.plugins.expression_engine, kernel.runtime.reload)

    # --- reads ---------------------------------------------------------------------------------

    async def get(self, kind: str, entity_id: str) -> Row:
        """The latest version (any status); 404 when the entity does not exist."""
        row = await self.storage.get_latest(kind, entity_id)
        if row is None:
            raise _not_found(kind, entity_id)
        return row

    # --- content -------------------------------------------------------------------------------

    async def create(self, kind: str, body: Any, *, principal: str = ANONYMOUS) -> Row:
        """Store version 1 of a new entity as a draft; 400 invalid body, 409 id (or channel name) taken."""
        if kind == WORKFLOW:
            fields, errors = workflow_rules.validate_create(body, self.functions, self.engine)
            message = summarize("Invalid workflow", errors)
        else:
            fields, errors = channel_rules.validate_create(body, self.engine)
            message = channel_rules.error_message(fields, errors)
        if errors:
            raise validation_error(message, errors)
        id_field = ID_FIELDS[kind]
        entity_id = fields[id_field] or new_id()
        now = storage_now()
        values = {**fields, id_field: entity_id, "version": 1, "status": DRAFT, "rollout_percentage": 100,
                  "created_at": now, "updated_at": now}
        row: Row = {name: values[name] for name in ROW_FIELDS[kind]}
        async with self._transaction() as tx:
            if await tx.versions(kind, entity_id):
                raise conflict(f"{LABELS[kind]} '{entity_id}' already exists")
            if kind == CHANNEL:
                await _check_channel_name(tx, row["name"], entity_id)
            await tx.insert_version(kind, row)
        await self._audit("create", kind, entity_id, principal)
        return row

    async def update_draft(self, kind: str, entity_id: str, body: Any, *, principal: str = ANONYMOUS) -> Row:
        """Apply a partial update to the draft, validating the merged result like a create.

        404 unknown id, 400 no draft or invalid result, 409 channel name taken.
        """
        async with self._transaction() as tx:
            draft = _draft_of(kind, entity_id, await tx.versions(kind, entity_id))
            if kind == WORKFLOW:
                merged, errors = workflow_rules.validate_update(body, entity_id, draft, self.functions, self.engine)
                message = summarize("Invalid workflow", errors)
            else:
                merged, errors = channel_rules.validate_update(body, entity_id, draft, self.engine)
                message = channel_rules.error_message(merged, errors)
            if errors:
                raise validation_error(message, errors)
            if kind == CHANNEL and merged["name"] != draft["name"]:
                await _check_channel_name(tx, merged["name"], entity_id)
            changes = {**merged, "updated_at": storage_now()}
            await tx.update_version(kind, entity_id, draft["version"], changes)
        await self._audit("update", kind, entity_id, principal)
        return {**draft, **changes}

    async def new_version(self, kind: str, entity_id: str, *, principal: str = ANONYMOUS) -> Row:
        """Copy the latest version into a new draft (version + 1); 404 unknown, 409 a draft exists."""
        async with self._transaction() as tx:
            versions = await tx.versions(kind, entity_id)
            if not versions:
                raise _not_found(kind, entity_id)
            if any(v["status"] == DRAFT for v in versions):
                raise conflict(f"{LABELS[kind]} '{entity_id}' already has a draft version")
            now = storage_now()
            row: Row = {**versions[0], "version": versions[0]["version"] + 1, "status": DRAFT, "created_at": now, "updated_at": now}
            if kind == WORKFLOW:
                row["rollout_percentage"] = 100
            await tx.insert_version(kind, row)
        await self._audit("create_version", kind, entity_id, principal)
        return row

    # --- what is live: these bump the revision and reload the engine ---------------------------

    async def delete(self, kind: str, entity_id: str, *, principal: str = ANONYMOUS) -> None:
        """Delete every version; 404 when there was none."""
        async with self._transaction() as tx:
            if await tx.delete_entity(kind, entity_id) == 0:
                raise _not_found(kind, entity_id)
            await tx.bump_revision()
        await self._audit("delete", kind, entity_id, principal)
        await self.reload()

    async def change_status(
        self, kind: str, entity_id: str, status: str, rollout_percentage: int | None = None, *, principal: str = ANONYMOUS
    ) -> Row:
        """Activate the draft (``rollout_percentage``: workflows only, default 100) or archive
        every active version. Returns the newly active version, or the highest one archived."""
        if status == DRAFT:
            raise bad_request("Invalid status transition to 'draft'. Use 'active' or 'archived'")
        if status not in (ACTIVE, ARCHIVED):
            raise bad_request(f"Invalid status '{shorten(str(status))}'. Use 'active' or 'archived'")
        pct = 100 if rollout_percentage is None or kind != WORKFLOW else rollout_percentage
        if status == ACTIVE and not 0 <= pct <= 100:
            raise bad_request("rollout_percentage must be between 0 and 100")
        async with self._transaction() as tx:
            versions = await tx.versions(kind, entity_id)
            if not versions:
                raise _not_found(kind, entity_id)
            if status == ACTIVE:
                result = await self._activate(tx, kind, entity_id, versions, pct)
            else:
                result = await _archive(tx, kind, entity_id, versions)
            await tx.bump_revision()
        await self._audit(f"status_{status}", kind, entity_id, principal)
        await self.reload()
        return result

    async def change_rollout(self, entity_id: str, rollout_percentage: int, *, principal: str = ANONYMOUS) -> Row:
        """Move the traffic split between the two newest active workflow versions (100 completes
        the rollout by archiving the older). Returns the newest active version."""
        pct = rollout_percentage
        if not 1 <= pct <= 100:
            raise bad_request("rollout_percentage must be between 1 and 100")
        async with self._transaction() as tx:
            versions = await tx.versions(WORKFLOW, entity_id)
            if not versions:
                raise _not_found(WORKFLOW, entity_id)
            active = [v for v in versions if v["status"] == ACTIVE]
            if not active:
                raise bad_request(f"No active versions found for workflow '{entity_id}'")
            if len(active) == 1:
                if pct != 100:
                    raise bad_request("Cannot set partial rollout with only one active version")
                return active[0]  # already the whole rollout: nothing changes
            now = storage_now()
            newest = await _update(tx, WORKFLOW, entity_id, active[0], {"rollout_percentage": pct, "updated_at": now})
            older = {"status": ARCHIVED} if pct == 100 else {"rollout_percentage": 100 - pct}
            await _update(tx, WORKFLOW, entity_id, active[1], {**older, "updated_at": now})
            await tx.bump_revision()
        await self._audit("update_rollout", WORKFLOW, entity_id, principal)
        await self.reload()
        return newest

    async def _activate(self, tx: StorageTransaction, kind: str, entity_id: str, versions: list[Row], pct: int) -> Row:
        """Re-validate the draft (functions may be gone since it was saved), then swap it in."""
        draft = _draft_of(kind, entity_id, versions)
        errors: list[FieldError]
        if kind == WORKFLOW:
            errors = workflow_rules.check_definition(draft, self.functions, self.engine)
        else:
            errors = channel_rules.check_definition(draft, self.engine)
        if errors:
            raise validation_error(summarize(f"{LABELS[kind]} '{entity_id}' version {draft['version']} cannot be activated", errors), errors)
        now = storage_now()
        active = [v for v in versions if v["status"] == ACTIVE]
        for index, row in enumerate(active):  # newest first
            if kind == WORKFLOW and pct < 100 and index == 0:
                await _update(tx, kind, entity_id, row, {"rollout_percentage": 100 - pct, "updated_at": now})
            else:
                await _update(tx, kind, entity_id, row, {"status": ARCHIVED, "updated_at": now})
        changes: Row = {"status": ACTIVE, "updated_at": now}
        if kind == WORKFLOW:
            changes["rollout_percentage"] = pct
        return await _update(tx, kind, entity_id, draft, changes)

    # --- plumbing ------------------------------------------------------------------------------

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[StorageTransaction]:
        """A storage transaction whose store-rule refusals (a race lost to another worker) are 409s."""
        try:
            async with self.storage.transaction() as tx:
                yield tx
        except StorageConflict as exc:
            raise conflict(str(exc)) from exc

    async def _audit(self, action: str, kind: str, entity_id: str, principal: str) -> None:
        """Append an audit entry; a failure is logged and never fails the request (§1.7)."""
        row = {
            "id": str(uuid.uuid4()), "principal": principal, "action": action, "resource_type": kind,
            "resource_id": entity_id, "details": None, "created_at": storage_now(),
        }
        try:
            await self.storage.insert_audit(row)
        except Exception:
            logger.exception("audit entry %s %s '%s' could not be written", action, kind, entity_id)


def _not_found(kind: str, entity_id: str) -> ApiError:
    return not_found(f"{LABELS[kind]} '{shorten(entity_id)}' not found")


def _draft_of(kind: str, entity_id: str, versions: list[Row]) -> Row:
    """The draft among ``versions``; 404 when there are no versions, 400 when none is a draft."""
    if not versions:
        raise _not_found(kind, entity_id)
    for row in versions:
        if row["status"] == DRAFT:
            return row
    raise bad_request(f"No draft version found for {kind} '{entity_id}'")


async def _archive(tx: StorageTransaction, kind: str, entity_id: str, versions: list[Row]) -> Row:
    """Archive every active version; return the highest of them."""
    active = [v for v in versions if v["status"] == ACTIVE]
    if not active:
        raise bad_request(f"No active version found for {kind} '{entity_id}'")
    now = storage_now()
    archived = [await _update(tx, kind, entity_id, row, {"status": ARCHIVED, "updated_at": now}) for row in active]
    return archived[0]


async def _update(tx: StorageTransaction, kind: str, entity_id: str, row: Row, changes: Row) -> Row:
    await tx.update_version(kind, entity_id, row["version"], changes)
    return {**row, **changes}


async def _check_channel_name(tx: StorageTransaction, name: str, channel_id: str) -> None:
    if await tx.name_in_use(CHANNEL, name, channel_id):
        raise conflict(f"Channel with name '{shorten(name)}' already exists")
