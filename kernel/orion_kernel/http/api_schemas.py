"""Marshmallow schemas of the HTTP API's bodies, envelopes and query strings.

The OpenAPI document is generated from these classes, and handlers load the small bodies and
query strings with them (``admin_common.load_body``, ``common.load_query``). Workflow and channel
definitions keep their own validators (``validation/``); their schemas here document the shape
and a test keeps both key sets equal.
"""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, post_load, validate

from ..fields import AnyJson
from ..registry import ACTIVE, ARCHIVED, DRAFT
from ..validation.channels import CHANNEL_TYPES, HTTP_METHODS, PROTOCOLS
from ..validation.common import INT32_MAX, INT32_MIN, MAX_DESCRIPTION_BYTES, MAX_NAME_BYTES, is_int, json_type
from ..validation.ids import MAX_ID_LENGTH, shorten

STATUSES = (DRAFT, ACTIVE, ARCHIVED)
MAX_LIMIT = 1000
MAX_OFFSET = 2**63 - 1  # what SQL OFFSET takes (a signed 64-bit integer)
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
TIMESTAMP = "UTC, ISO-8601 without a zone suffix, e.g. 2026-04-16T11:50:24"
WORKFLOW_SORT_COLUMNS = ("priority", "name", "status", "created_at", "updated_at")
CHANNEL_SORT_COLUMNS = ("priority", "name", "status", "channel_type", "protocol", "created_at", "updated_at")
TRACE_SORT_COLUMNS = ("created_at", "updated_at", "status", "channel", "mode")


def _doc(text: str) -> dict[str, str]:
    return {"description": text}


# --- strict JSON fields: a JSON value of exactly this type, never a coerced one ---------------


class StrictInteger(fields.Integer):
    """A JSON integer; booleans, floats and numeric strings are type errors."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not is_int(value):
            raise ValidationError(f"invalid type: {json_type(value)}, expected an integer for `{attr}`")
        return value


class Choice(fields.String):
    """One of a fixed set of strings; the message names the bad value and the allowed ones."""

    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(validate=validate.OneOf(choices), **kwargs)
        self.choices = choices

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if value not in self.choices:
            shown = f"'{shorten(value)}'" if isinstance(value, str) else json_type(value)
            raise ValidationError(f"invalid {attr} {shown}, expected one of: {', '.join(self.choices)}")
        return value


class QueryInteger(fields.Integer):
    """An integer query parameter (decimal digits with an optional sign)."""

    default_error_messages = {"invalid": "invalid digit found in string"}


def _id(text: str, **kwargs: Any) -> fields.String:
    return fields.String(validate=[validate.Length(1, MAX_ID_LENGTH), validate.Regexp(ID_PATTERN)],
                         metadata=_doc(text + "; 1-128 characters, a letter or digit then letters, digits, `.`, `-`, `_`"),
                         **kwargs)


def _name(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1), metadata=_doc(f"non-blank, at most {MAX_NAME_BYTES} bytes (UTF-8)"), **kwargs)


def _description() -> fields.String:
    return fields.String(allow_none=True, metadata=_doc(f"at most {MAX_DESCRIPTION_BYTES} bytes (UTF-8)"))


def _int32(text: str, **kwargs: Any) -> StrictInteger:
    return StrictInteger(validate=validate.Range(INT32_MIN, INT32_MAX), metadata=_doc(text), **kwargs)


def _timestamp() -> fields.String:
    return fields.String(metadata=_doc(TIMESTAMP))


def _server_managed() -> AnyJson:
    return AnyJson(metadata=_doc("server-managed; accepted and ignored"))


# --- errors -------------------------------------------------------------------------------------


class FieldError(Schema):
    """One field-level problem, pointing into the submitted JSON."""

    path = fields.String(required=True, metadata=_doc("e.g. `name`, `tasks[2].function.input.connector`, `body.status`"))
    code = fields.String(required=True, metadata=_doc("REQUIRED, REQUIRED_FOR_PROTOCOL, TYPE_MISMATCH, INVALID, ...; tolerate unknown codes"))
    message = fields.String(required=True)
    expected = AnyJson(metadata=_doc("what would have been accepted"))
    got = AnyJson(metadata=_doc("the value received"))


class ErrorBody(Schema):
    code = fields.String(required=True, metadata=_doc("machine-readable error code, e.g. NOT_FOUND, VALIDATION_ERROR"))
    message = fields.String(required=True)
    details = fields.List(fields.Nested(FieldError), metadata=_doc("present only when the failure names fields"))
    request_id = fields.String(metadata=_doc("the request's x-request-id"))


class ErrorEnvelope(Schema):
    """Every error response: ``{"error": {"code", "message", "details"?, "request_id"?}}``."""

    error = fields.Nested(ErrorBody, required=True)


class ErrorInfo(Schema):
    """An error a workflow tolerated (``continue_on_error``, validation rules)."""

    class Meta:
        unknown = INCLUDE

    code = fields.String(required=True)
    message = fields.String(required=True)
    path = fields.String(allow_none=True)
    workflow_id = fields.String()
    task_id = fields.String()
    timestamp = fields.String()
    retry_attempted = fields.Boolean()
    retry_count = fields.Integer()


# --- workflows ----------------------------------------------------------------------------------


class TaskFunctionCall(Schema):
    name = fields.String(required=True, metadata=_doc("a registered task function (or alias)"))
    input = AnyJson(required=True, metadata=_doc("checked against the function's input schema"))


class Task(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1), metadata=_doc("unique within the workflow"))
    name = fields.String(required=True, validate=validate.Length(min=1))
    description = fields.String(allow_none=True)
    condition = AnyJson(metadata=_doc("JSONLogic; the task runs when it is truthy"))
    function = fields.Nested(TaskFunctionCall, required=True)
    continue_on_error = fields.Boolean(allow_none=True)


class WorkflowContent(Schema):
    """The fields a client writes."""

    description = _description()
    priority = _int32("lower runs first among the workflows of one channel; default 0")
    condition = AnyJson(metadata=_doc("JSONLogic deciding whether the workflow runs; default true"))
    tags = fields.List(fields.String(), metadata=_doc("default []"))
    continue_on_error = fields.Boolean(metadata=_doc("default false"))
    channel = fields.String(allow_none=True, metadata=_doc("name of the channel this workflow belongs to"))
    rollout_key = fields.Dict(allow_none=True, metadata=_doc(
        'sticky rollout: {"header": "<name>"} or {"client": "address"} picks the caller key hashed into a bucket'))


class WorkflowInput(WorkflowContent):
    """Create body: a new workflow stored as draft version 1."""

    workflow_id = _id("generated (UUID v4) when omitted")
    id = _id("alias of workflow_id")
    name = _name(required=True)
    tasks = fields.List(fields.Nested(Task), required=True, validate=validate.Length(min=1))
    version = _server_managed()
    status = _server_managed()
    rollout_percentage = _server_managed()
    created_at = _server_managed()
    updated_at = _server_managed()


class WorkflowUpdate(WorkflowInput):
    """PUT body: a partial update of the draft; omitted and null fields keep their stored value."""

    name = _name(allow_none=True)
    tasks = fields.List(fields.Nested(Task), allow_none=True, validate=validate.Length(min=1))


class Workflow(WorkflowContent):
    """One stored version of a workflow."""

    workflow_id = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    status = Choice(STATUSES, required=True)
    rollout_percentage = fields.Integer(required=True, metadata=_doc("share of traffic while active, 0-100"))
    tasks = fields.List(fields.Nested(Task), required=True)
    created_at = _timestamp()
    updated_at = _timestamp()


class WorkflowEnvelope(Schema):
    data = fields.Nested(Workflow, required=True)


class WorkflowList(Schema):
    data = fields.List(fields.Nested(Workflow), required=True)
    total = fields.Integer(required=True, metadata=_doc("matching rows before paging"))
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class WorkflowStatusBody(Schema):
    """Activate (optionally as a canary) or archive."""

    status = Choice(STATUSES, required=True, metadata=_doc("`active` or `archived`; `draft` is refused"))
    rollout_percentage = StrictInteger(allow_none=True, metadata=_doc("0-100 (default 100), only used when activating"))


class ChannelStatusBody(Schema):
    status = Choice(STATUSES, required=True, metadata=_doc("`active` or `archived`; `draft` is refused"))


class RolloutBody(Schema):
    rollout_percentage = StrictInteger(required=True, metadata=_doc("1-100: the newest active version's share"))


# --- channels -----------------------------------------------------------------------------------


class ChannelContent(Schema):
    description = _description()
    methods = fields.List(fields.String(), allow_none=True,
                          metadata=_doc(f"HTTP methods, each listed once, any case (stored upper-case): {', '.join(HTTP_METHODS)}"))
    route_pattern = fields.String(allow_none=True, metadata=_doc("e.g. `/orders/{id}`; each `{param}` fills a whole segment"))
    topic = fields.String(allow_none=True, metadata=_doc("Kafka topic (protocol kafka)"))
    consumer_group = fields.String(allow_none=True)
    transport_config = fields.Dict(metadata=_doc("default {}"))
    workflow_id = fields.String(allow_none=True, metadata=_doc("the workflow this channel runs"))
    config = fields.Dict(metadata=_doc("governance blocks (rate_limit, timeout_ms, validation_logic, backpressure, cors, "
                                       "deduplication, cache, tracing), each owned by a policy plugin; see docs/governance.md"))
    priority = _int32("higher wins when several routes match; default 0")


class ChannelInput(ChannelContent):
    """Create body: a new channel stored as draft version 1 (only `name` is required)."""

    channel_id = _id("generated (UUID v4) when omitted")
    name = _name(required=True)
    channel_type = Choice(CHANNEL_TYPES, metadata=_doc("default sync"))
    protocol = Choice(PROTOCOLS, metadata=_doc("default http"))
    version = _server_managed()
    status = _server_managed()
    created_at = _server_managed()
    updated_at = _server_managed()


class ChannelUpdate(ChannelInput):
    """PUT body: a partial update of the draft; `channel_type` and `protocol` are fixed at creation."""

    name = _name(allow_none=True)


class Channel(ChannelContent):
    """One stored version of a channel."""

    channel_id = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    channel_type = Choice(CHANNEL_TYPES, required=True)
    protocol = Choice(PROTOCOLS, required=True)
    status = Choice(STATUSES, required=True)
    created_at = _timestamp()
    updated_at = _timestamp()


class ChannelEnvelope(Schema):
    data = fields.Nested(Channel, required=True)


class ChannelList(Schema):
    data = fields.List(fields.Nested(Channel), required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


# --- query strings ------------------------------------------------------------------------------


class PagingQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = QueryInteger(load_default=50, metadata=_doc(f"page size, default 50, clamped to 1-{MAX_LIMIT}"))
    offset = QueryInteger(load_default=0, metadata=_doc(f"rows to skip, default 0, clamped to 0-{MAX_OFFSET}"))

    @post_load
    def clamp(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["limit"] = min(max(data["limit"], 1), MAX_LIMIT)
        data["offset"] = min(max(data["offset"], 0), MAX_OFFSET)
        return data


class SortedQuery(PagingQuery):
    sort_order = fields.String(metadata=_doc("`asc`; anything else sorts descending (the default)"))


class WorkflowFilters(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(metadata=_doc("exact status: draft, active or archived"))
    tag = fields.String(metadata=_doc("workflows whose tags contain exactly this string"))


class ChannelFilters(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(metadata=_doc("exact status: draft, active or archived"))
    channel_type = fields.String(metadata=_doc("sync or async"))
    protocol = fields.String(metadata=_doc("rest, http or kafka"))


class WorkflowListQuery(SortedQuery, WorkflowFilters):
    sort_by = fields.String(metadata=_doc(f"one of {', '.join(WORKFLOW_SORT_COLUMNS)}; anything else means priority"))


class ChannelListQuery(SortedQuery, ChannelFilters):
    sort_by = fields.String(metadata=_doc(f"one of {', '.join(CHANNEL_SORT_COLUMNS)}; anything else means priority"))


class TraceListQuery(SortedQuery):
    status = fields.String(metadata=_doc("pending, running, completed or failed"))
    channel = fields.String(metadata=_doc("channel name"))
    mode = fields.String(metadata=_doc("sync or async"))
    sort_by = fields.String(metadata=_doc(f"one of {', '.join(TRACE_SORT_COLUMNS)}; anything else means created_at"))


class EntityPath(Schema):
    id = fields.String(required=True, metadata=_doc("workflow or channel id; one that breaks the id rule answers 404"))


# --- admin tooling: validate, import/export, dry-run, audit log, engine, catalog, backups -------


class Issue(FieldError):
    """A validate finding: a FieldError plus ``field``, the same path under the spec's name."""

    field = fields.String(required=True)


class ValidationReport(Schema):
    valid = fields.Boolean(required=True, metadata=_doc("true exactly when errors is empty"))
    errors = fields.List(fields.Nested(Issue), required=True, metadata=_doc("what create would refuse"))
    warnings = fields.List(fields.Nested(Issue), required=True, metadata=_doc("what would not work once live"))


class ImportQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    dry_run = fields.Boolean(metadata=_doc("true: check the batch and report, write nothing (default false)"))


class ImportFailure(Schema):
    index = fields.Integer(required=True, metadata=_doc("position in the submitted array"))
    error = fields.String(required=True)
    details = fields.List(fields.Nested(FieldError), metadata=_doc("field problems, paths relative to the item"))


class ImportResult(Schema):
    """All or nothing: when anything failed, nothing was written and ``imported`` is 0."""

    imported = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    errors = fields.List(fields.Nested(ImportFailure), required=True)
    ids = fields.List(fields.String(), metadata=_doc("the created ids (not on a dry run)"))
    dry_run = fields.Boolean(metadata=_doc("present (true) on a dry run"))
    would_create = fields.Integer(metadata=_doc("dry run: items that would be created"))
    would_fail = fields.Integer(metadata=_doc("dry run: items that would fail"))


class WorkflowExport(Schema):
    data = fields.List(fields.Nested(Workflow), required=True, metadata=_doc("priority descending, then name"))


class ChannelExport(Schema):
    data = fields.List(fields.Nested(Channel), required=True, metadata=_doc("priority descending, then name"))


class DryRunStep(Schema):
    class Meta:
        unknown = INCLUDE

    workflow_id = fields.String(required=True)
    task_id = fields.String(required=True, allow_none=True, metadata=_doc("null for a workflow-level skip"))
    result = Choice(("executed", "skipped"), required=True)
    message = AnyJson(metadata=_doc("executed steps: the message after the step"))
    input = AnyJson(metadata=_doc("executed steps: the message before the step"))
    reason = fields.String(metadata=_doc("skipped steps: why"))
    condition = AnyJson(metadata=_doc("skipped steps: the condition that was false"))


class DryRunTrace(Schema):
    steps = fields.List(fields.Nested(DryRunStep), required=True)


class DryRunResult(Schema):
    workflow_id = fields.String(required=True)
    version = fields.Integer(required=True)
    matched = fields.Boolean(required=True, metadata=_doc("the workflow's condition held"))
    trace = fields.Nested(DryRunTrace, required=True)
    output = AnyJson(required=True, metadata=_doc("the message's data context after the run"))
    errors = fields.List(fields.Nested(ErrorInfo), required=True)


class AuditQuery(PagingQuery):
    action = fields.String(metadata=_doc("e.g. create, update, delete, status_active, rollback, import, reload"))
    resource_type = fields.String(metadata=_doc("workflow, channel, engine, backup, ..."))
    resource_id = fields.String()
    principal = fields.String(metadata=_doc("`anonymous`, or the first 8 characters of the admin key and `...`"))


class AuditEntry(Schema):
    id = fields.String(required=True)
    principal = fields.String(required=True)
    action = fields.String(required=True)
    resource_type = fields.String(required=True)
    resource_id = fields.String(required=True)
    details = fields.String(allow_none=True, metadata=_doc("JSON text, or null"))
    created_at = _timestamp()


class Pagination(Schema):
    offset = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    total = fields.Integer(required=True)


class AuditLogList(Schema):
    data = fields.List(fields.Nested(AuditEntry), required=True, metadata=_doc("newest first"))
    pagination = fields.Nested(Pagination, required=True)


class LoadedWorkflow(Schema):
    workflow_id = fields.String(required=True)
    version = fields.Integer(required=True)
    priority = fields.Integer(required=True)
    rollout_buckets = fields.List(fields.Integer(), allow_none=True, metadata=_doc("[start, end) of 0-99, null when not split"))


class ChannelState(Schema):
    name = fields.String(required=True)
    channel_id = fields.String(required=True)
    version = fields.Integer(required=True)
    channel_type = fields.String(required=True)
    protocol = fields.String(required=True)
    state = Choice(("serving", "no_workflows"), required=True)
    workflows = fields.List(fields.Nested(LoadedWorkflow), required=True)
    rollout_key = fields.Dict(allow_none=True)


class DlqSize(Schema):
    size = fields.Integer(required=True, metadata=_doc("entries in the dead-letter queue (all processes)"))
    exhausted = fields.Integer(required=True, metadata=_doc("of which exhausted"))


class QueueStatus(Schema):
    """The async queue of the process that answered (counters since it started), and the DLQ size."""

    depth = fields.Integer(required=True, metadata=_doc("jobs waiting for a worker"))
    bytes = fields.Integer(required=True, metadata=_doc("their payload and metadata bytes"))
    running = fields.Integer(required=True)
    workers = fields.Integer(required=True)
    accepted = fields.Integer(required=True)
    rejected = fields.Integer(required=True, metadata=_doc("submissions answered 503: queue full"))
    completed = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    duration_ms_total = fields.Float(required=True, metadata=_doc("run time of completed and failed jobs"))
    duration_ms_max = fields.Float(required=True)
    dead_lettered = fields.Integer(required=True)
    dlq_retries = fields.Integer(required=True, metadata=_doc("entries the retry task put back on the queue"))
    dlq_requeued = fields.Integer(required=True, metadata=_doc("entries an operator put back"))
    dlq_exhausted = fields.Integer(required=True)
    resumed = fields.Integer(required=True, metadata=_doc("pending jobs of a stopped process resumed here"))
    interrupted = fields.Integer(required=True, metadata=_doc("running jobs of a stopped process marked failed here"))
    lost_claims = fields.Integer(required=True)
    retention_deleted = fields.Integer(required=True)
    dlq = fields.Nested(DlqSize, required=True)


class EngineStatus(Schema):
    version = fields.String(required=True)
    uptime_seconds = fields.Integer(required=True)
    workflows_count = fields.Integer(required=True, metadata=_doc("workflow instances loaded (per channel)"))
    active_workflows = fields.Integer(required=True)
    channels = fields.List(fields.String(), required=True, metadata=_doc("channels with at least one workflow"))
    revision = fields.Integer(required=True)
    reloads = fields.Integer(required=True)
    loaded_at = fields.String(required=True, metadata=_doc("RFC 3339"))
    channel_states = fields.List(fields.Nested(ChannelState), required=True)
    queue = fields.Nested(QueueStatus, required=True)


class EngineReload(Schema):
    reloaded = fields.Boolean(required=True)
    workflows_count = fields.Integer(required=True)


class InputField(Schema):
    name = fields.String(required=True)
    kind = Choice(("string", "number", "bool", "object", "array", "any"), required=True)
    required = fields.Boolean(required=True)
    description = fields.String(required=True)
    jsonlogic = fields.Boolean(metadata=_doc("present (true) when the value is a JSONLogic expression"))
    allowed = fields.List(AnyJson(), metadata=_doc("the allowed values, when the field is an enumeration"))


class FunctionInfo(Schema):
    name = fields.String(required=True)
    description = fields.String(required=True)
    category = fields.String(required=True)
    plugin = fields.String(required=True, metadata=_doc("the plugin that provides it"))
    aliases = fields.List(fields.String(), required=True)
    strict_input = fields.Boolean(required=True, metadata=_doc("unknown input keys are errors"))
    input_fields = fields.List(fields.Nested(InputField), required=True)
    connector_kinds = fields.List(fields.String(), metadata=_doc("connector types its `connector` input accepts"))


class FunctionList(Schema):
    data = fields.List(fields.Nested(FunctionInfo), required=True)


class PluginInfo(Schema):
    name = fields.String(required=True, metadata=_doc("the entry-point name"))
    module = fields.String(required=True)
    distribution = fields.String(required=True)
    version = fields.String(required=True)
    hooks = fields.List(fields.String(), required=True)
    essential = fields.Boolean(required=True, metadata=_doc("cannot be disabled"))
    functions = fields.List(fields.String(), required=True)


class PluginList(Schema):
    data = fields.List(fields.Nested(PluginInfo), required=True)


class Backup(Schema):
    filename = fields.String(required=True)
    path = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    created_at = fields.String(required=True, metadata=_doc("RFC 3339"))


class BackupEnvelope(Schema):
    data = fields.Nested(Backup, required=True)


class BackupFile(Schema):
    filename = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    modified_at = fields.String(required=True, metadata=_doc("RFC 3339"))


class BackupList(Schema):
    data = fields.List(fields.Nested(BackupFile), required=True, metadata=_doc("newest first"))


class BackupPath(Schema):
    name = fields.String(required=True, metadata=_doc("a file name from the backup list, orion_backup_<YYYYMMDD_HHMMSS>.db"))


# --- trace dead-letter queue --------------------------------------------------------------------

DLQ_PURGE_SCOPES = ("exhausted", "all")


class DlqQuery(PagingQuery):
    channel = fields.String(metadata=_doc("channel name (exact match)"))
    exhausted = fields.String(metadata=_doc("`true`: only entries that used up their retries; `false`: only entries "
                                            "still retried; absent: both"))


class DlqEntry(Schema):
    """A failed async job waiting for its next retry, or exhausted; ``*_json`` are strings holding JSON."""

    id = fields.String(required=True, metadata=_doc("stays the same across the retries of one item"))
    trace_id = fields.String(required=True, metadata=_doc("the trace of the run that failed last"))
    channel = fields.String(required=True)
    payload_json = fields.String(required=True, metadata=_doc("the submitted `data`"))
    metadata_json = fields.String(required=True, metadata=_doc("the message metadata (HTTP method, headers, ...)"))
    error_message = fields.String(required=True, metadata=_doc("why the last run failed"))
    retry_count = fields.Integer(required=True, metadata=_doc("retries already run (0 after the first failure)"))
    max_retries = fields.Integer(required=True, metadata=_doc("`queue.dlq_max_retries` when it failed"))
    next_retry_at = fields.String(required=True, metadata=_doc(TIMESTAMP + "; 2^retry_count seconds after the failure"))
    created_at = _timestamp()
    updated_at = _timestamp()
    exhausted = fields.Boolean(required=True, metadata=_doc("retry_count >= max_retries: no more automatic retries"))


class DlqList(Schema):
    data = fields.List(fields.Nested(DlqEntry), required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class DlqEnvelope(Schema):
    data = fields.Nested(DlqEntry, required=True)


class DlqPath(Schema):
    id = fields.String(required=True, metadata=_doc("dead-letter entry id"))


class DlqRequeued(Schema):
    id = fields.String(required=True, metadata=_doc("the entry; a failure of the new run files it under this id again"))
    channel = fields.String(required=True)
    trace_id = fields.String(required=True, allow_none=True,
                             metadata=_doc("the new run's trace (null when the channel stores none)"))


class DlqRequeuedEnvelope(Schema):
    data = fields.Nested(DlqRequeued, required=True)


class DlqPurgeBody(Schema):
    """What to delete; an empty object deletes every exhausted entry."""

    scope = Choice(DLQ_PURGE_SCOPES, metadata=_doc("`exhausted` (default): entries that used up their retries; `all`"))
    older_than_hours = StrictInteger(allow_none=True, validate=validate.Range(min=0, max=1_000_000),
                                     metadata=_doc("only entries created at least this many hours ago"))


class DlqPurged(Schema):
    purged = fields.Integer(required=True)
    scope = Choice(DLQ_PURGE_SCOPES, required=True)
    older_than_hours = fields.Integer(required=True, allow_none=True)


# --- data plane ---------------------------------------------------------------------------------


class DataRequest(Schema):
    """A message for a channel; an empty body means ``{"data": {}, "metadata": {}}``."""

    class Meta:
        unknown = INCLUDE  # other keys are ignored

    data = AnyJson(required=True, metadata=_doc("becomes the message payload"))
    metadata = AnyJson(metadata=_doc("an object merged into the message metadata; anything else is ignored"))


class AsyncAccepted(Schema):
    trace_id = fields.String(required=True, allow_none=True,
                             metadata=_doc("poll `GET /api/v1/data/traces/{trace_id}`; null when the channel stores "
                                           "no trace for this job (the `Warning` header says why)"))


class DataResponse(Schema):
    id = fields.String(required=True, metadata=_doc("the message id (not a trace id)"))
    status = fields.String(required=True, validate=validate.OneOf(["ok"]))
    data = AnyJson(required=True, metadata=_doc("the message's data context after the run"))
    errors = fields.List(fields.Nested(ErrorInfo), required=True)


class TraceRow(Schema):
    """A stored trace row; ``*_json`` columns are strings holding JSON."""

    id = fields.String(required=True)
    channel = fields.String(required=True)
    channel_id = fields.String(allow_none=True)
    mode = fields.String(required=True, metadata=_doc("sync or async"))
    status = fields.String(required=True, metadata=_doc("pending, running, completed or failed"))
    input_json = fields.String(allow_none=True)
    result_json = fields.String(allow_none=True)
    error_message = fields.String(allow_none=True)
    duration_ms = fields.Float(allow_none=True)
    started_at = fields.String(allow_none=True)
    completed_at = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    task_trace_json = fields.String(allow_none=True)


class TraceList(Schema):
    data = fields.List(fields.Nested(TraceRow), required=True)
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class Trace(Schema):
    """One trace; absent values are omitted."""

    id = fields.String(required=True)
    status = fields.String(required=True)
    mode = fields.String(required=True)
    created_at = fields.String(required=True)
    channel = fields.String()
    channel_id = fields.String()
    message = AnyJson(metadata=_doc("completed runs: the parsed result (the sync response envelope)"))
    error = fields.String(metadata=_doc("failed runs: the error text"))
    started_at = fields.String()
    completed_at = fields.String()
    duration_ms = fields.Float()
    task_trace_json = AnyJson(metadata=_doc("per-task steps when per-task tracing stored them"))


class TracePath(Schema):
    id = fields.String(required=True, metadata=_doc("trace id"))


class DataPath(Schema):
    path = fields.String(required=True, metadata=_doc("a channel name, or a path matched against the channels' route patterns (may contain `/`)"))


# --- operational --------------------------------------------------------------------------------


class HealthComponents(Schema):
    database = Choice(("ok", "error"), required=True)
    engine = Choice(("ok", "error"), required=True)


class Health(Schema):
    status = Choice(("ok", "degraded"), required=True)
    version = fields.String(required=True)
    git_hash = fields.String(required=True)
    build_timestamp = fields.String(required=True)
    uptime_seconds = fields.Integer(required=True)
    workflows_loaded = fields.Integer(required=True)
    components = fields.Nested(HealthComponents, required=True)
    connectors = fields.Dict(required=True, metadata=_doc('{"circuit_breakers": {"<channel>:<connector>": "closed"|"open"|"half_open"}}'))


class Liveness(Schema):
    status = Choice(("ok",), required=True)


class ReadinessComponents(Schema):
    database = Choice(("ok", "error"), required=True)
    engine = Choice(("ok", "error"), required=True)
    initialized = fields.Boolean(required=True)


class Readiness(Schema):
    status = Choice(("ready", "not_ready"), required=True)
    components = fields.Nested(ReadinessComponents, required=True)
