"""Checking a draft: every problem of a definition in progress, even a badly broken one.

:func:`~builder.validation.load_definition` stops after the first stage that finds problems
(a shape error hides every reference and expression error). An admin editing a draft wants
all of them at once, so :func:`check_draft` keeps going: after the shape stage it sets
aside what is broken — an optional member whose value is wrong, or the smallest list item
(a field, a step, an option ...) holding a required member that is wrong — and checks the
rest again, until the shape holds; then it checks references and expressions on what
remains. Every problem's path points into the document as submitted.

The outcome is cached by the document's content hash: the designer asks again and again
about the same draft (every keystroke in the expression editor).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from builder.errors import ROOT, Problem, join_path, problem
from builder.limits import check_limits
from builder.model import FORMAT, App
from builder.naming import is_identifier
from builder.schemas import APP_SCHEMA
from builder.triggers import load_automation
from builder.validation import index_time_rule_fields, problems_from_messages, validate_app

#: Members an element can't do without: a problem there sets the element aside.
REQUIRED_MEMBERS = frozenset(
    {"key", "type", "label", "role", "assert", "message", "on", "actions", "entity", "value"}
)
#: What stands in for a broken member of the app itself (it has no enclosing item).
_STAND_INS: dict[str, Any] = {"key": "draft", "label": {"en": "Draft"}, "entities": []}
_MAX_PASSES = 12
_SEGMENT = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')

Segment = str | int
Path = tuple[Segment, ...]


@dataclass(frozen=True)
class DraftCheck:
    """The outcome of checking a draft.

    ``app`` is the definition as far as it could be read (None when not even its envelope
    could), good enough to build expression scopes from; ``problems`` lists everything
    wrong, with paths into the submitted document; ``valid`` says whether it would publish.
    """

    app: App | None
    problems: tuple[Problem, ...]
    digest: str

    @property
    def valid(self) -> bool:
        """Whether the definition has no problem at all."""
        return not self.problems and self.app is not None


def parse_path(path: str) -> Path | None:
    """The segments of a JSON path made by :func:`~builder.errors.join_path`, or None."""
    if not path.startswith(ROOT):
        return None
    out: list[Segment] = []
    pos = len(ROOT)
    while pos < len(path):
        match = _SEGMENT.match(path, pos)
        if match is None:
            return None
        name, index, quoted = match.groups()
        out.append(name if name is not None else int(index) if index is not None else json.loads(quoted))
        pos = match.end()
    return tuple(out)


def render_path(segments: Path) -> str:
    """The JSON path of ``segments``."""
    return join_path(ROOT, *segments)


_UNCACHED = "~"


def content_digest(document: Any) -> str:
    """A hash of a JSON document's content (member order does not matter).

    A value JSON can't write (an integer of thousands of digits, NaN, a cycle) gets a
    digest of its own that is never cached: such a document is refused anyway.
    """
    try:
        text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        return f"{_UNCACHED}{uuid.uuid4().hex}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class _Pruned:
    """The submitted document minus the parts set aside, and the way back to its paths."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.removed: set[Path] = set()
        self.replaced: dict[Path, Any] = {}
        self.kept: dict[Path, list[int]] = {}

    def build(self) -> Any:
        self.kept = {}
        return self._build(self.document, ())

    def _build(self, node: Any, path: Path) -> Any:
        if path in self.replaced:
            return copy.deepcopy(self.replaced[path])
        if isinstance(node, Mapping):
            return {k: self._build(v, (*path, k)) for k, v in node.items() if (*path, k) not in self.removed}
        if isinstance(node, list):
            kept = [i for i in range(len(node)) if (*path, i) not in self.removed]
            self.kept[path] = kept
            return [self._build(node[i], (*path, i)) for i in kept]
        return node

    def original(self, segments: Path) -> Path:
        """The path in the submitted document of ``segments`` (a path in the pruned one)."""
        out: list[Segment] = []
        for segment in segments:
            prefix = tuple(out)
            if isinstance(segment, int) and prefix in self.kept:
                kept = self.kept[prefix]
                out.append(kept[segment] if segment < len(kept) else segment)
            else:
                out.append(segment)
        return tuple(out)

    def _value(self, segments: Path) -> Any:
        node: Any = self.document
        for segment in segments:
            try:
                node = node[segment]
            except (KeyError, IndexError, TypeError):
                return None
        return node

    def set_aside(self, segments: Path) -> bool:
        """Sets aside what ``segments`` (an original path) points at; False if it can't.

        A wrong optional member is left out; a wrong label is replaced by the element's
        key; a field of a wrong type stands in as a text field (so what refers to it
        still finds it); otherwise the smallest list item holding the problem is left out.
        """
        if not segments:
            return False
        last = segments[-1]
        if len(segments) == 1:
            if last in _STAND_INS and segments not in self.replaced:
                self.replaced[segments] = _STAND_INS[str(last)]
                return True
            return False
        parent = self._value(segments[:-1])
        key = parent.get("key") if isinstance(parent, Mapping) else None
        named = key if is_identifier(key) else None
        if isinstance(last, str) and last not in REQUIRED_MEMBERS:
            if segments in self.removed:
                return False
            self.removed.add(segments)
            return True
        if last == "label" and named and segments not in self.replaced:
            self.replaced[segments] = {"en": named}
            return True
        item = segments[:-1]
        if last == "type" and named and len(item) == 4 and item[2] == "fields" and item not in self.replaced:
            self.replaced[item] = {"key": named, "type": "text", "label": {"en": named}}
            return True
        for end in range(len(segments), 0, -1):
            if isinstance(segments[end - 1], int):
                item = segments[:end]
                if item in self.removed:
                    return False
                self.replaced.pop(item, None)
                self.removed.add(item)
                return True
        return False


_PATH_IN_TEXT = re.compile(r"\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])+")


def _relocate(problems: list[Problem], pruned: _Pruned) -> list[Problem]:
    """``problems`` of the pruned document with every path (also in messages) moved back
    to the submitted one."""

    def moved(path: str) -> str:
        segments = parse_path(path)
        return path if segments is None else render_path(pruned.original(segments))

    def in_text(value: Any) -> Any:
        return _PATH_IN_TEXT.sub(lambda m: moved(m.group(0)), value) if isinstance(value, str) else value

    return [
        Problem(
            moved(p.path),
            p.code,
            in_text(p.message),
            in_text(p.message_zh),
            {k: in_text(v) for k, v in p.detail.items()},
        )
        for p in problems
    ]


def _publish_needs(app: App) -> list[Problem]:
    if app.entities:
        return []
    return [
        problem(
            join_path(ROOT, "entities"),
            "entities_required",
            reason="add at least one entity before publishing the app",
            reason_zh="发布应用前请至少添加一个实体",
        )
    ]


def _check(document: Any, digest: str) -> DraftCheck:
    if not isinstance(document, Mapping):
        return DraftCheck(None, (problem(ROOT, "invalid_type", expected="an object"),), digest)
    pruned = _Pruned(document)
    found: list[Problem] = []
    seen: set[tuple[str, str]] = set()

    def record(problems: list[Problem]) -> None:
        for p in problems:
            if (p.path, p.code) not in seen:
                seen.add((p.path, p.code))
                found.append(p)

    fmt = document.get("format")
    if fmt != FORMAT:
        shown = repr(fmt[:40]) if isinstance(fmt, str) else "(not a text)"
        record([problem(join_path(ROOT, "format"), "required")] if "format" not in document
               else [problem(join_path(ROOT, "format"), "format_unsupported", got=shown, expected=FORMAT)])
        pruned.replaced[("format",)] = FORMAT
    limits = check_limits(document)
    record(limits)
    for p in limits:
        segments = parse_path(p.path)
        if segments is None or not pruned.set_aside(segments):
            return DraftCheck(None, tuple(found), digest)
    app: App | None = None
    for _ in range(_MAX_PASSES):
        candidate = pruned.build()
        try:
            app = APP_SCHEMA.load(candidate)
            break
        except ValidationError as exc:
            problems = _relocate(problems_from_messages(exc.messages), pruned)
        except RecursionError:  # pragma: no cover - depth is bounded by the limits check
            return DraftCheck(None, tuple(found), digest)
        record(problems)
        progress = False
        for p in problems:
            segments = parse_path(p.path)
            if segments is not None and pruned.set_aside(segments):
                progress = True
        if not progress:
            break
    if app is None:
        return DraftCheck(None, tuple(found), digest)
    app, automation = load_automation(app)
    record(_relocate(automation + validate_app(app) + _publish_needs(app), pruned))
    return DraftCheck(index_time_rule_fields(app), tuple(found), digest)


_CACHE: OrderedDict[str, DraftCheck] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 128


def check_draft(document: Any, digest: str | None = None) -> DraftCheck:
    """Every problem of the draft ``document`` and the definition as far as it reads.

    ``digest`` (from :func:`content_digest`) may be given when the caller already has it.
    """
    digest = digest or content_digest(document)
    with _CACHE_LOCK:
        hit = _CACHE.get(digest)
        if hit is not None:
            _CACHE.move_to_end(digest)
            return hit
    outcome = _check(document, digest)
    if digest.startswith(_UNCACHED):
        return outcome
    with _CACHE_LOCK:
        _CACHE[digest] = outcome
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return outcome
