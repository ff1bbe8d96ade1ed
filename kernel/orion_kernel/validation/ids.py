"""Entity ids (api-admin.md §1.2): the id rule, reserved sub-resource names, generated ids."""
from __future__ import annotations

import re
import uuid

from ..errors import FieldError, field_error

MAX_ID_LENGTH = 128
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

#: static admin sub-resource names; an entity with such an id could not be addressed by ``/{id}``
RESERVED_IDS = frozenset({
    "import", "export", "validate", "versions", "status", "rollout", "test", "circuit-breakers", "reload",
})

PATTERN_MESSAGE = (
    "ID must start with an alphanumeric character and contain only alphanumeric characters, "
    "dots, hyphens, or underscores"
)


def new_id() -> str:
    """A generated id: UUID v4, lower-case and hyphenated."""
    return str(uuid.uuid4())


def check_id(value: object, path: str) -> FieldError | None:
    """The FieldError for a client-supplied id that breaks the id rule, or None when it is valid."""
    if not isinstance(value, str):
        return field_error(path, "TYPE_MISMATCH", f"{path.rsplit('.', 1)[-1]} must be a string", expected="string", got=value)
    if len(value) > MAX_ID_LENGTH:
        return field_error(path, "INVALID", f"ID exceeds maximum length of {MAX_ID_LENGTH} characters (got {len(value)})")
    if not _ID.fullmatch(value):
        return field_error(path, "INVALID", PATTERN_MESSAGE, got=value)
    if value.lower() in RESERVED_IDS:
        return field_error(
            path, "INVALID",
            f"ID '{value}' is reserved: it names an admin sub-resource ({', '.join(sorted(RESERVED_IDS))}); choose another id",
            got=value,
        )
    return None


def is_valid_id(value: str) -> bool:
    """Whether an entity with this id could exist (used for ids taken from a URL path)."""
    return check_id(value, "id") is None


def shorten(value: str, limit: int = 64) -> str:
    """``value`` cut to ``limit`` characters for use inside a message."""
    return value if len(value) <= limit else value[:limit] + "..."
