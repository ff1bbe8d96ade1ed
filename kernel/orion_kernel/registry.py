"""Lifecycle of versioned workflows and channels (api-admin.md §3.3, §4.3) on top of storage.

Policy only: every operation validates first, writes inside one storage transaction (so an
error leaves storage unchanged), then records an audit entry with a before/after summary and,
for changes to what is live, bumps the revision and reloads the engine. Failures are raised as
:class:`ApiError`.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from .audit import changed_fields, record_audit, version_states
from .errors import ApiError, FieldError, bad_request, conflict, not_found, validation_error
from .expressions import ExpressionEngine
from .governance import PolicyCatalog
from .message import storage_now
from .storage import CHANNEL, CHANNEL_FIELDS, WORKFLOW, WORKFLOW_FIELDS, StorageBackend, StorageConflict, StorageTransaction
from .types import TaskFunction
from .validation import channels as channel_rules
from .validation import workflows as workflow_rules
from .validation.common import summarize
from .validation.ids import new_id, shorten

if TYPE_CHECKING:
    from .kernel import Kernel

ANONYMOUS = "anonymous"
DRAFT, ACTIVE, ARCHIVED = "draft", "active", "archived"
LABELS = {WORKFLOW: "Workflow", CHANNEL: "Channel"}
ID_FIELDS = {WORKFLOW: "workflow_id", CHANNEL: "channel_id"}
ROW_FIELDS = {WORKFLOW: WORKFLOW_FIELDS, CHANNEL: CHANNEL_FIELDS}
CONTENT_FIELDS = {WORKFLOW: workflow_rules.CONTENT_FIELDS, CHANNEL: channel_rules.CONTENT_FIELDS}

Row = dict[str, Any]


class Registry:
    """Create, edit, version, activate, archive and delete workflows and channels."""

    def __init__(
        self,
        storage: StorageBackend,
        functions: Mapping[str, TaskFunction],
        engine: ExpressionEngine,
        reload: Callable[[], Awaitable[object]],
        policies: PolicyCatalog | None = None,
    ) -> None:
        self.storage = storage
        self.functions = functions
        self.engine = engine
        self.reload = reload
        self.policies = policies  # checks channel config blocks the way they will be bound

    @classmethod
    def for_kernel(cls, kernel: Kernel) -> Registry:
        """The registry over a kernel's storage, functions, expression engine and engine runtime."""
        assert kernel.plugins.expression_engine is not None  # Kernel refuses to start without one
        return cls(kernel.storage, kernel.plugins.functions, kernel.plugins.expression_engine, kernel.runtime.reload,
                   kernel.runtime.policies)

    # --- reads ---------------------------------------------------------------------------------

    async def get(self, kind: str, entity_id: str) -> Row:
        """The latest version (any status); 404 when the entity does not exist."""
        row = await self.storage.get_latest(kind, entity_id)
        if row is None:
            raise _not_found(kind, entity_id)
        return row

    # --- content -------------------------------------------------------------------------------

    def check_new(self, kind: str, body: Any) -> tuple[Row, list[FieldError], str]:
        """Validate a create body: ``(version-1 draft row, errors, error message)``; the row
        (with a generated id when none was sent) is usable only when there are no errors."""
        if kind == WORKFLOW:
            fields, errors = workflow_rules.validate_create(body, self.functions, self.engine)
            message = summarize("Invalid workflow", errors)
        else:
            fields, errors = channel_rules.validate_create(body, self.policies)
            message = channel_rules.error_message(fields, errors)
        if errors:
            return {}, errors, message
        id_field = ID_FIELDS[kind]
        now = storage_now()
        values = {**fields, id_field: fields[id_field] or new_id(), "version": 1, "status": DRAFT,
                  "rollout_percentage": 100, "created_at": now, "updated_at": now}
        return {name: values[name] for name in ROW_FIELDS[kind]}, [], message

    async def create(self, kind: str, body: Any, *, principal: str = ANONYMOUS) -> Row:
        """Store version 1 of a new entity as a draft; 400 invalid body, 409 id (or channel name) taken."""
        row, errors, message = self.check_new(kind, body)
        if errors:
            raise validation_error(message, errors)
        entity_id = row[ID_FIELDS[kind]]
        async with self._transaction() as tx:
            problem = await new_entity_conflict(tx, kind, row)
            if problem:
                raise conflict(problem)
            await tx.insert_version(kind, row)
        await self._audit("create", kind, entity_id, principal, {"name": row["name"], "after": version_states([row])})
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
                merged, errors = channel_rules.validate_update(body, entity_id, draft, self.policies)
                message = channel_rules.error_message(merged, errors)
            if errors:
                raise validation_error(message, errors)
            if kind == CHANNEL and merged["name"] != draft["name"]:
                await _check_channel_name(tx, merged["name"], entity_id)
            changes = {**merged, "updated_at": storage_now()}
            await tx.update_version(kind, entity_id, draft["version"], changes)
        details = {"version": draft["version"], **changed_fields(draft, merged, CONTENT_FIELDS[kind])}
        await self._audit("update", kind, entity_id, principal, details)
        return {**draft, **changes}

    async def new_version(
        self, kind: str, entity_id: str, *, from_version: int | None = None, principal: str = ANONYMOUS
    ) -> Row:
        """Copy the latest version (or ``from_version``) into a new draft numbered latest + 1.

        404 unknown entity or version, 409 a draft exists.
        """
        async with self._transaction() as tx:
            versions = await tx.versions(kind, entity_id)
            if not versions:
                raise _not_found(kind, entity_id)
            if any(v["status"] == DRAFT for v in versions):
                raise conflict(f"{LABELS[kind]} '{entity_id}' already has a draft version")
            source = versions[0] if from_version is None else _version_of(kind, entity_id, versions, from_version)
            row = _next_version(kind, source, versions[0]["version"] + 1, DRAFT)
            await tx.insert_version(kind, row)
        await self._audit("create_version", kind, entity_id, principal,
                          {"from_version": source["version"], "after": version_states([row])})
        return row

    # --- what is live: these bump the revision and reload the engine ---------------------------

    async def delete(self, kind: str, entity_id: str, *, principal: str = ANONYMOUS) -> None:
        """Delete every version; 404 when there was none."""
        async with self._transaction() as tx:
            versions = await tx.versions(kind, entity_id)
            if await tx.delete_entity(kind, entity_id) == 0:
                raise _not_found(kind, entity_id)
            await tx.bump_revision()
        await self._audit("delete", kind, entity_id, principal, {"before": version_states(versions), "after": []})
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
            after = await tx.versions(kind, entity_id)
        await self._audit(f"status_{status}", kind, entity_id, principal, _transition(versions, after))
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
            after = await tx.versions(WORKFLOW, entity_id)
        await self._audit("update_rollout", WORKFLOW, entity_id, principal, _transition(versions, after))
        await self.reload()
        return newest

    async def rollback(
        self, kind: str, entity_id: str, version: int, *, discard_draft: bool = False, principal: str = ANONYMOUS
    ) -> Row:
        """Put the content of an earlier ``version`` back into service at once, in one transaction.

        The copy becomes a new version (latest + 1; with ``discard_draft`` the pending draft is
        overwritten instead) active at 100 %, and every other active version is archived.
        Returns the new active version. 404 unknown entity or version; 400 ``version`` is the
        draft, or no longer valid; 409 a draft exists and ``discard_draft`` is false.
        """
        async with self._transaction() as tx:
            versions = await tx.versions(kind, entity_id)
            if not versions:
                raise _not_found(kind, entity_id)
            source = _version_of(kind, entity_id, versions, version)
            if source["status"] == DRAFT:
                raise bad_request(f"{LABELS[kind]} '{entity_id}' version {version} is the draft and never ran; "
                                  f"activate it with PATCH .../status instead of rolling back to it")
            draft = next((v for v in versions if v["status"] == DRAFT), None)
            if draft is not None and not discard_draft:
                raise conflict(f"{LABELS[kind]} '{entity_id}' has a draft (version {draft['version']}) that a rollback "
                               f"would replace; activate it first, or send {{\"version\": {version}, \"discard_draft\": true}}")
            errors = self.check_definition(kind, source)
            if errors:
                raise validation_error(summarize(f"{LABELS[kind]} '{entity_id}' version {version} cannot be restored", errors), errors)
            now = storage_now()
            for row in versions:
                if row["status"] == ACTIVE:
                    await _update(tx, kind, entity_id, row, {"status": ARCHIVED, "updated_at": now})
            if draft is not None:
                restored = _next_version(kind, source, draft["version"], ACTIVE)
                changes = {k: v for k, v in restored.items() if k not in (ID_FIELDS[kind], "version", "created_at")}
                restored = await _update(tx, kind, entity_id, draft, changes)
            else:
                restored = _next_version(kind, source, versions[0]["version"] + 1, ACTIVE)
                await tx.insert_version(kind, restored)
            await tx.bump_revision()
            after = await tx.versions(kind, entity_id)
        await self._audit("rollback", kind, entity_id, principal, {"from_version": version, **_transition(versions, after)})
        await self.reload()
        return restored

    async def _activate(self, tx: StorageTransaction, kind: str, entity_id: str, versions: list[Row], pct: int) -> Row:
        """Re-validate the draft (functions may be gone since it was saved), then swap it in."""
        draft = _draft_of(kind, entity_id, versions)
        errors = self.check_definition(kind, draft)
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

    def check_definition(self, kind: str, row: Row) -> list[FieldError]:
        """The create-time rules on a stored version (its functions may be gone since it was saved)."""
        if kind == WORKFLOW:
            return workflow_rules.check_definition(row, self.functions, self.engine)
        return channel_rules.check_definition(row, self.policies)

    # --- plumbing ------------------------------------------------------------------------------

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[StorageTransaction]:
        """A storage transaction whose store-rule refusals (a race lost to another worker) are 409s."""
        try:
            async with self.storage.transaction() as tx:
                yield tx
        except StorageConflict as exc:
            raise conflict(str(exc)) from exc

    async def _audit(self, action: str, kind: str, entity_id: str, principal: str, details: dict[str, Any]) -> None:
        await record_audit(self.storage, action, kind, entity_id, principal, details)


def _not_found(kind: str, entity_id: str) -> ApiError:
    return not_found(f"{LABELS[kind]} '{shorten(entity_id)}' not found")


def _version_of(kind: str, entity_id: str, versions: list[Row], version: int) -> Row:
    for row in versions:
        if row["version"] == version:
            return row
    known = ", ".join(str(v["version"]) for v in reversed(versions))
    raise not_found(f"{LABELS[kind]} '{shorten(entity_id)}' has no version {version}; its versions are {known}")


def _next_version(kind: str, source: Row, version: int, status: str) -> Row:
    """A new row with ``source``'s content, numbered ``version``, in ``status`` (rollout 100)."""
    now = storage_now()
    row: Row = {**source, "version": version, "status": status, "created_at": now, "updated_at": now}
    if kind == WORKFLOW:
        row["rollout_percentage"] = 100
    return row


def _transition(before: list[Row], after: list[Row]) -> dict[str, Any]:
    """Audit details of a lifecycle change: the states of the versions it touched."""
    old = {row["version"]: row for row in before}
    touched = [row for row in after if old.get(row["version"]) is None or version_states([old[row["version"]]]) != version_states([row])]
    versions = {row["version"] for row in touched}
    return {"before": version_states(r for r in before if r["version"] in versions), "after": version_states(touched)}


async def new_entity_conflict(tx: StorageTransaction, kind: str, row: Row) -> str | None:
    """Why a new entity cannot be stored (id taken, or channel name taken), or None."""
    entity_id = row[ID_FIELDS[kind]]
    if await tx.versions(kind, entity_id):
        return f"{LABELS[kind]} '{entity_id}' already exists"
    if kind == CHANNEL and await tx.name_in_use(CHANNEL, row["name"], entity_id):
        return f"Channel with name '{shorten(row['name'])}' already exists"
    return None


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
