"""Which keys a definition may use.

A key (of an app, entity, field, step, stage, rule or role) becomes a SQL identifier and a
name in expressions, so it is deliberately plain:

* it matches ``^[a-z][a-z0-9_]{0,62}$`` — a lowercase ASCII letter, then up to 62
  lowercase letters, digits or underscores (63 characters at most, PostgreSQL's limit);
* it contains no double underscore ``__`` and does not end with ``_`` (the runtime derives
  internal names such as ``<step>__done_at`` and ``<field>__archived`` from keys, so these
  shapes stay free for it).

Some keys are reserved: field keys may not shadow system columns or words of the
expression language, and entity keys may not shadow platform tables.
"""

from __future__ import annotations

import re

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_KEY_LENGTH = 63

#: Words of the expression language; no element may be called like one.
EXPRESSION_KEYWORDS: frozenset[str] = frozenset(
    {"and", "or", "not", "in", "where", "true", "false", "null", "if"}
)

#: System columns of every entity table and names the expression scope gives meaning to.
SYSTEM_FIELD_NAMES: frozenset[str] = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "created_by",
        "owner",
        "version",
        "stage",
        "stage_entered_at",
        "steps",
        "parent",
        "me",
        "workspace",
        "workspace_id",
        "archived",
        "deleted_at",
    }
)

RESERVED_FIELD_KEYS: frozenset[str] = SYSTEM_FIELD_NAMES | EXPRESSION_KEYWORDS

#: Platform tables and URL segments an entity key must not collide with.
RESERVED_ENTITY_KEYS: frozenset[str] = EXPRESSION_KEYWORDS | frozenset(
    {
        "users",
        "user",
        "workspaces",
        "workspace",
        "memberships",
        "apps",
        "app",
        "revisions",
        "outbox",
        "trigger_runs",
        "events",
        "event",
        "files",
        "file",
        "notifications",
        "roles",
        "permissions",
        "steps",
        "stages",
        "me",
        "parent",
        "api",
        "admin",
        "static",
        "alembic_version",
    }
)

#: Step keys live under ``steps.<key>``; only the language words are off limits.
RESERVED_STEP_KEYS: frozenset[str] = EXPRESSION_KEYWORDS
RESERVED_STAGE_KEYS: frozenset[str] = EXPRESSION_KEYWORDS
RESERVED_ROLE_KEYS: frozenset[str] = EXPRESSION_KEYWORDS


def is_identifier(value: object) -> bool:
    """Whether ``value`` is a string usable as a key (see the module docstring)."""
    return (
        isinstance(value, str)
        and IDENTIFIER.fullmatch(value) is not None
        and "__" not in value
        and not value.endswith("_")
    )
