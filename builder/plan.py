"""Migration planning: what publishing a new definition changes in the entity tables.

:func:`plan_migration` compares the published definition with the new one and returns a
:class:`Plan` of small, frozen steps; the runtime applies them (``runtime.schema_apply``)
in one transaction, and the designer shows :meth:`Plan.describe` as a preview. Planning is
pure: it reads two definitions and nothing else.

Elements are matched by their stable ``key``: a field whose label changed is relabelled,
not dropped and re-added. A removed field is *archived* (its column renamed, data kept)
unless the admin confirms dropping it by listing ``"<entity>.<field>"`` in
``confirm_drops``. A type change carries ``needs_conversion_check`` when existing values
must be checked before converting; conversions that can't work are plan problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from builder.errors import ROOT, Problem, join_path, problem
from builder.list_indexes import list_index_columns
from builder.model import App, Entity, Field, FieldType

T = FieldType

_TEXTUAL = frozenset({T.TEXT, T.LONG_TEXT, T.PHONE, T.EMAIL, T.URL, T.CHOICE})
_DECIMALS = frozenset({T.NUMBER, T.MONEY, T.PERCENT})
_INTEGERS = frozenset({T.INTEGER, T.RATING})
#: Types whose values are not plain scalars: they only "convert" to themselves.
_OPAQUE = frozenset({T.PHOTO, T.FILE, T.LOCATION, T.LINK, T.USER, T.FORMULA})

_SAFE: frozenset[tuple[FieldType, FieldType]] = frozenset(
    {(a, T.LONG_TEXT) for a in _TEXTUAL if a is not T.LONG_TEXT}
    | {(a, T.TEXT) for a in _TEXTUAL if a not in (T.TEXT, T.LONG_TEXT)}
    | {(a, b) for a in _DECIMALS for b in _DECIMALS if a is not b}
    | {(a, b) for a in _INTEGERS for b in _DECIMALS}
    | {(T.RATING, T.INTEGER), (T.DATE, T.DATETIME)}
    | {(a, b) for a in _DECIMALS | _INTEGERS | {T.BOOLEAN, T.DATE, T.DATETIME, T.DURATION}
       for b in (T.TEXT, T.LONG_TEXT)}
)  # fmt: skip


def conversion(old: FieldType, new: FieldType) -> str:
    """How values of type ``old`` become ``new``: ``same``, ``safe``, ``checked`` or ``impossible``.

    *safe* conversions can't fail (integer → number, text → long_text, date → datetime);
    *checked* ones may fail for some values, which the runtime checks before converting
    (text → number, number → integer, text → date); *impossible* ones have no meaning
    (photo → number, anything to or from a link, user, location or formula).
    """
    if old is new:
        return "same"
    if old in _OPAQUE or new in _OPAQUE:
        return "impossible"
    if (old, new) in _SAFE:
        return "safe"
    return "checked"


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One change to the entity tables; ``kind`` names the runtime handler."""

    kind: ClassVar[str] = ""
    destructive: ClassVar[bool] = False

    entity: str

    def message(self) -> tuple[str, str]:
        """What the step does, in English and Chinese."""
        return (self.kind, self.kind)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready preview of the step (kind, entity, field, messages, destructive)."""
        en, zh = self.message()
        out: dict[str, Any] = {"kind": self.kind, "entity": self.entity}
        for name in ("field", "step", "unique", "old_type", "new_type", "needs_conversion_check", "columns"):
            if hasattr(self, name):
                value = getattr(self, name)
                out[name] = value.value if isinstance(value, FieldType) else list(value) if isinstance(value, tuple) else value
        out.update(message=en, message_zh=zh, destructive=self.destructive)
        return out


@dataclass(frozen=True, slots=True)
class CreateEntity(PlanStep):
    """A new entity: create its table with every field, step and stage column."""

    kind: ClassVar[str] = "create_entity"

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        return (f"Create the table of {self.entity}", f"创建实体 {self.entity} 的数据表")


@dataclass(frozen=True, slots=True)
class AddField(PlanStep):
    """A new field: add its column(s)."""

    kind: ClassVar[str] = "add_field"
    field: str

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        return (
            f"Add field {self.entity}.{self.field}",
            f"新增字段 {self.entity}.{self.field}",
        )


@dataclass(frozen=True, slots=True)
class AddIndex(PlanStep):
    """Index a field (``unique`` makes it a unique index)."""

    kind: ClassVar[str] = "add_index"
    field: str
    unique: bool = False

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        what, what_zh = ("unique index", "唯一索引") if self.unique else ("index", "索引")
        return (
            f"Add a {what} on {self.entity}.{self.field}",
            f"为 {self.entity}.{self.field} 添加{what_zh}",
        )


@dataclass(frozen=True, slots=True)
class AddListIndex(PlanStep):
    """Index the columns a list is filtered and ordered by (``builder.list_indexes``)."""

    kind: ClassVar[str] = "add_list_index"
    columns: tuple[str, ...]

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        cols = ", ".join(self.columns)
        return (f"Add a list index on {self.entity} ({cols})", f"为 {self.entity} 添加列表索引({cols})")


@dataclass(frozen=True, slots=True)
class DropListIndex(PlanStep):
    """Remove a list index no role's condition needs any more (the data stays)."""

    kind: ClassVar[str] = "drop_list_index"
    columns: tuple[str, ...]

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        cols = ", ".join(self.columns)
        return (f"Remove the list index on {self.entity} ({cols})", f"移除 {self.entity} 的列表索引({cols})")


@dataclass(frozen=True, slots=True)
class DropIndex(PlanStep):
    """Remove a field's index (the data stays)."""

    kind: ClassVar[str] = "drop_index"
    field: str
    unique: bool = False

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        what, what_zh = ("unique index", "唯一索引") if self.unique else ("index", "索引")
        return (
            f"Remove the {what} on {self.entity}.{self.field}",
            f"移除 {self.entity}.{self.field} 的{what_zh}",
        )


@dataclass(frozen=True, slots=True)
class RelabelField(PlanStep):
    """Only the label changed: nothing to do in the database."""

    kind: ClassVar[str] = "relabel_field"
    field: str

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        return (
            f"Rename the label of {self.entity}.{self.field} (no data change)",
            f"修改 {self.entity}.{self.field} 的显示名称(数据不变)",
        )


@dataclass(frozen=True, slots=True)
class ChangeFieldType(PlanStep):
    """Convert a field's values to a new type (checked first when it may fail)."""

    kind: ClassVar[str] = "change_field_type"
    field: str
    old_type: FieldType
    new_type: FieldType
    needs_conversion_check: bool = False

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        check, check_zh = (
            ("; existing values are checked first", ";将先检查现有数据")
            if self.needs_conversion_check
            else ("", "")
        )
        return (
            f"Change {self.entity}.{self.field} from {self.old_type.value} to "
            f"{self.new_type.value}{check}",
            f"将 {self.entity}.{self.field} 从 {self.old_type.value} 改为 "
            f"{self.new_type.value}{check_zh}",
        )


@dataclass(frozen=True, slots=True)
class ArchiveField(PlanStep):
    """A removed field: keep its column under an archive name, with its data."""

    kind: ClassVar[str] = "archive_field"
    field: str

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        return (
            f"Archive field {self.entity}.{self.field} (its data is kept)",
            f"归档字段 {self.entity}.{self.field}(保留数据)",
        )


@dataclass(frozen=True, slots=True)
class DropField(PlanStep):
    """A removed field whose drop the admin confirmed: its data is deleted."""

    kind: ClassVar[str] = "drop_field"
    destructive: ClassVar[bool] = True
    field: str

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        return (
            f"Drop field {self.entity}.{self.field} and delete its data",
            f"删除字段 {self.entity}.{self.field} 及其数据",
        )


@dataclass(frozen=True, slots=True)
class ArchiveEntity(PlanStep):
    """A removed entity: its table is kept but no longer used."""

    kind: ClassVar[str] = "archive_entity"

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        return (
            f"Archive entity {self.entity} (its table and data are kept)",
            f"归档实体 {self.entity}(保留数据表和数据)",
        )


@dataclass(frozen=True, slots=True)
class AddStep(PlanStep):
    """A new step: add its completion-timestamp column."""

    kind: ClassVar[str] = "add_step"
    step: str

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        return (f"Add step {self.entity}.{self.step}", f"新增步骤 {self.entity}.{self.step}")


@dataclass(frozen=True, slots=True)
class RemoveStep(PlanStep):
    """A removed step: its completion-timestamp column is archived."""

    kind: ClassVar[str] = "remove_step"
    step: str

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        return (
            f"Remove step {self.entity}.{self.step} (completion times are archived)",
            f"移除步骤 {self.entity}.{self.step}(完成时间归档保留)",
        )


@dataclass(frozen=True, slots=True)
class AddStages(PlanStep):
    """The entity gets a pipeline: add the stage columns."""

    kind: ClassVar[str] = "add_stages"

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        return (f"Add stages to {self.entity}", f"为 {self.entity} 启用阶段")


@dataclass(frozen=True, slots=True)
class RemoveStages(PlanStep):
    """The entity loses its pipeline (the stage columns and history are kept)."""

    kind: ClassVar[str] = "remove_stages"

    def message(self) -> tuple[str, str]:
        """See :meth:`PlanStep.message`."""
        return (
            f"Remove the stages of {self.entity} (stage history is kept)",
            f"停用 {self.entity} 的阶段(保留阶段历史)",
        )


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True, slots=True)
class Plan:
    """The steps that take the tables from the old definition to the new one.

    ``problems`` are changes that can't be applied (an impossible type conversion, a link
    retargeted); a plan with problems must not be applied.
    """

    steps: tuple[PlanStep, ...] = ()
    problems: tuple[Problem, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        """Whether nothing changes in the database (relabels change nothing)."""
        return all(isinstance(s, RelabelField) for s in self.steps) and not self.problems

    @property
    def destructive(self) -> bool:
        """Whether applying the plan deletes data."""
        return any(s.destructive for s in self.steps)

    def describe(self) -> dict[str, Any]:
        """The JSON preview: steps, problems, ``is_empty`` and ``destructive``."""
        return {
            "steps": [s.describe() for s in self.steps],
            "problems": [p.as_dict() for p in self.problems],
            "is_empty": self.is_empty,
            "destructive": self.destructive,
        }


def plan_migration(
    old: App | None, new: App, *, confirm_drops: frozenset[str] = frozenset()
) -> Plan:
    """The plan taking the tables of ``old`` (None: nothing published yet) to ``new``."""
    steps: list[PlanStep] = []
    problems: list[Problem] = []
    old_entities = {e.key: e for e in old.entities} if old is not None else {}
    for i, entity in enumerate(new.entities):
        before = old_entities.get(entity.key)
        if before is None:
            steps.append(CreateEntity(entity.key))
            continue
        _plan_entity(before, entity, join_path(ROOT, "entities", i), confirm_drops, steps, problems)
    new_keys = {e.key for e in new.entities}
    steps.extend(ArchiveEntity(key) for key in old_entities if key not in new_keys)
    return Plan(tuple(steps), tuple(problems))


def _indexed(f: Field) -> tuple[bool, bool]:
    """(has an index, is it unique) — link and user fields are always indexed."""
    return (f.unique or f.index or f.type in (T.LINK, T.USER), f.unique)


def _plan_entity(
    old: Entity,
    new: Entity,
    base: str,
    confirm_drops: frozenset[str],
    steps: list[PlanStep],
    problems: list[Problem],
) -> None:
    key = new.key
    removed = [f for f in old.fields if new.field(f.key) is None]
    for f in removed:
        if _indexed(f)[0]:
            steps.append(DropIndex(key, f.key, f.unique))
        if f"{key}.{f.key}" in confirm_drops:
            steps.append(DropField(key, f.key))
        else:
            steps.append(ArchiveField(key, f.key))
    later: list[PlanStep] = []
    for j, f in enumerate(new.fields):
        before = old.field(f.key)
        path = join_path(base, "fields", j)
        if before is None:
            steps.append(AddField(key, f.key))
            indexed, unique = _indexed(f)
            if indexed:
                later.append(AddIndex(key, f.key, unique))
            continue
        _plan_field(key, before, f, path, steps, later, problems)
    steps.extend(later)
    if new.stages and not old.stages:
        steps.append(AddStages(key))
    elif old.stages and not new.stages:
        steps.append(RemoveStages(key))
    new_steps = {s.key for s in new.steps}
    old_steps = {s.key for s in old.steps}
    steps.extend(RemoveStep(key, s.key) for s in old.steps if s.key not in new_steps)
    steps.extend(AddStep(key, s.key) for s in new.steps if s.key not in old_steps)
    old_lists, new_lists = list_index_columns(old), list_index_columns(new)
    steps.extend(DropListIndex(key, c) for c in old_lists if c not in new_lists)
    steps.extend(AddListIndex(key, c) for c in new_lists if c not in old_lists)


def _plan_field(
    entity: str,
    old: Field,
    new: Field,
    path: str,
    steps: list[PlanStep],
    later: list[PlanStep],
    problems: list[Problem],
) -> None:
    kind = conversion(old.type, new.type)
    if kind == "impossible":
        problems.append(
            problem(
                join_path(path, "type"),
                "conversion_impossible",
                reason=f"{entity}.{new.key} can't change from {old.type.value} to "
                f"{new.type.value}; add a new field instead",
                reason_zh=f"{entity}.{new.key} 无法从 {old.type.value} 改为 "
                f"{new.type.value},请新建字段",
                old_type=old.type.value,
                new_type=new.type.value,
            )
        )
        return
    if new.type is T.LINK and old.target != new.target:
        problems.append(
            problem(
                join_path(path, "target"),
                "conversion_impossible",
                reason=f"{entity}.{new.key} can't point to {new.target} instead of "
                f"{old.target}; add a new link field instead",
                reason_zh=f"{entity}.{new.key} 无法从关联 {old.target} 改为关联 "
                f"{new.target},请新建关联字段",
            )
        )
        return
    was, was_unique = _indexed(old)
    now, now_unique = _indexed(new)
    index_changes = was != now or was_unique != now_unique
    if index_changes and was:
        steps.append(DropIndex(entity, new.key, was_unique))
    if kind != "same":
        steps.append(ChangeFieldType(entity, new.key, old.type, new.type, kind == "checked"))
    if index_changes and now:
        later.append(AddIndex(entity, new.key, now_unique))
    if old.label != new.label:
        later.append(RelabelField(entity, new.key))
