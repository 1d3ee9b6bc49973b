"""From an app definition to the :class:`~expressions.scope.Scope` its expressions see.

Every entity exposes its fields (typed per :data:`FIELD_TYPES`), the system names
(``id``, ``created_at``, ``updated_at``, ``created_by``, ``owner``, and ``stage`` /
``stage_entered_at`` when it has stages), its steps, and the related collections that other
entities' link fields create (``related_name``). A formula field has the type the checker
infers for its source; formulas are typed in dependency order so that formulas may use
formulas, and formulas in a cycle (or with errors) are left out of the scope.

Scopes are computed once per app object and cached (they are on the runtime's hot path).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from graphlib import TopologicalSorter

from builder import checker
from builder.model import App, Entity, FieldType
from expressions import types as t
from expressions.scope import CollectionSpec, EntitySpec, FieldSpec, Scope

#: The expression type of every non-formula field type.
FIELD_TYPES: dict[FieldType, t.ExprType] = {
    FieldType.TEXT: t.TEXT,
    FieldType.LONG_TEXT: t.TEXT,
    FieldType.CHOICE: t.TEXT,
    FieldType.PHONE: t.TEXT,
    FieldType.EMAIL: t.TEXT,
    FieldType.URL: t.TEXT,
    FieldType.NUMBER: t.DECIMAL,
    FieldType.MONEY: t.DECIMAL,
    FieldType.PERCENT: t.DECIMAL,
    FieldType.INTEGER: t.INTEGER,
    FieldType.RATING: t.INTEGER,
    FieldType.BOOLEAN: t.BOOLEAN,
    FieldType.DATE: t.DATE,
    FieldType.DATETIME: t.DATETIME,
    FieldType.DURATION: t.DURATION,
    FieldType.MULTI_CHOICE: t.list_of(t.TEXT),
    FieldType.USER: t.USER,
    FieldType.LOCATION: t.LOCATION,
    FieldType.PHOTO: t.list_of(t.FILE),
    FieldType.FILE: t.list_of(t.FILE),
}

SYSTEM_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", t.INTEGER),
    FieldSpec("created_at", t.DATETIME),
    FieldSpec("updated_at", t.DATETIME),
    FieldSpec("created_by", t.USER),
    FieldSpec("owner", t.USER),
)
STAGE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("stage", t.TEXT),
    FieldSpec("stage_entered_at", t.DATETIME),
)


@dataclass(frozen=True, slots=True)
class FormulaTyping:
    """The outcome of typing an app's formulas.

    ``types`` maps ``(entity, field)`` to the inferred type of every formula that checked;
    ``outcomes`` holds the checker's last outcome per formula (for diagnostics) and
    ``cycles`` the formula keys of each entity that depend on each other in a cycle.
    """

    types: dict[tuple[str, str], t.ExprType]
    outcomes: dict[tuple[str, str], checker.Outcome]
    cycles: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class AppScopes:
    """Every entity's scope of one app, and how its formulas were typed."""

    scopes: dict[str, Scope]
    formulas: FormulaTyping


def field_type(
    entity: Entity, key: str, formulas: dict[tuple[str, str], t.ExprType]
) -> t.ExprType | None:
    """The expression type of field ``key`` of ``entity`` (None: unknown/untyped formula)."""
    f = entity.field(key)
    if f is None:
        return None
    if f.type is FieldType.FORMULA:
        return formulas.get((entity.key, key))
    if f.type is FieldType.LINK:
        return t.record_of(f.target or "")
    return FIELD_TYPES[f.type]


def _collections(app: App) -> dict[str, list[CollectionSpec]]:
    out: dict[str, list[CollectionSpec]] = {e.key: [] for e in app.entities}
    for child in app.entities:
        for f in child.fields:
            if f.type is FieldType.LINK and f.target in out and f.related_name:
                out[f.target].append(CollectionSpec(f.related_name, child.key, f.key))
    return out


def _entity_specs(app: App, formulas: dict[tuple[str, str], t.ExprType]) -> tuple[EntitySpec, ...]:
    collections = _collections(app)
    specs = []
    for entity in app.entities:
        fields: list[FieldSpec] = list(SYSTEM_FIELDS)
        if entity.stages:
            fields.extend(STAGE_FIELDS)
        for f in entity.fields:
            typ = field_type(entity, f.key, formulas)
            if typ is not None:
                fields.append(FieldSpec(f.key, typ))
        specs.append(
            EntitySpec(
                key=entity.key,
                fields=tuple(fields),
                collections=tuple(collections.get(entity.key, ())),
                steps=tuple(s.key for s in entity.steps),
            )
        )
    return tuple(specs)


def _scopes(app: App, formulas: dict[tuple[str, str], t.ExprType]) -> dict[str, Scope]:
    specs = _entity_specs(app, formulas)
    return {entity.key: Scope(entity.key, specs) for entity in app.entities}


def find_cycles(graph: Mapping[str, Sequence[str]]) -> list[tuple[str, ...]]:
    """The cycles of a dependency graph, one per strongly connected component.

    Each cycle is given as a path ``(a, b, ..., a)`` starting from its first node in the
    graph's order; a node depending on itself is a cycle ``(a, a)``. Iterative (Tarjan).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, [n for n in graph[root] if n in graph])]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, [n for n in graph[nxt] if n in graph]))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    order = {n: i for i, n in enumerate(graph)}
    cycles: list[tuple[str, ...]] = []
    for component in components:
        members = set(component)
        if len(component) == 1 and component[0] not in set(graph[component[0]]):
            continue
        start = min(component, key=order.__getitem__)
        cycles.append(_walk_cycle(graph, start, members))
    cycles.sort(key=lambda c: order[c[0]])
    return cycles


def _walk_cycle(
    graph: Mapping[str, Sequence[str]], start: str, members: set[str]
) -> tuple[str, ...]:
    # Breadth-first search for a shortest path from ``start`` back to itself in the SCC.
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in graph[node]:
                if nxt not in members:
                    continue
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return (start, *reversed(path[:-1]), start)
                if nxt not in parents:
                    parents[nxt] = node
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    return (start, start)  # pragma: no cover - every SCC with an edge has a cycle


def _type_formulas(app: App) -> FormulaTyping:
    """Infer formula types in dependency order (see the module docstring)."""
    pending: dict[tuple[str, str], str] = {}
    cycles: list[tuple[str, tuple[str, ...]]] = []
    for entity in app.entities:
        sources = {
            f.key: f.formula or ""
            for f in entity.fields
            if f.type is FieldType.FORMULA and f.formula
        }
        graph = {
            k: sorted(checker.references(src).names & sources.keys()) for k, src in sources.items()
        }
        in_cycle: set[str] = set()
        for cycle in find_cycles(graph):
            cycles.append((entity.key, cycle))
            in_cycle.update(cycle)
        for key in _topological(graph, in_cycle):
            pending[(entity.key, key)] = sources[key]
    types: dict[tuple[str, str], t.ExprType] = {}
    outcomes: dict[tuple[str, str], checker.Outcome] = {}
    if not checker.available():
        return FormulaTyping(types, outcomes, tuple(cycles))
    # Fixpoint: a formula whose inputs are typed checks clean; repeat while progress is
    # made (formulas may reach formulas of other entities through links and collections).
    progress = True
    while pending and progress:
        progress = False
        scopes = _scopes(app, types)
        for ident, source in list(pending.items()):
            outcome = checker.check_source(source, scopes[ident[0]])
            outcomes[ident] = outcome
            if outcome.ok and outcome.type is not None:
                types[ident] = outcome.type
                del pending[ident]
                progress = True
                scopes = _scopes(app, types)
    return FormulaTyping(types, outcomes, tuple(cycles))


def _topological(graph: dict[str, list[str]], skip: set[str]) -> list[str]:
    acyclic = {k: [d for d in v if d not in skip] for k, v in graph.items() if k not in skip}
    return list(TopologicalSorter(acyclic).static_order())


_CACHE_SIZE = 64
_cache: OrderedDict[int, tuple[App, AppScopes]] = OrderedDict()
_cache_lock = threading.Lock()


def app_scopes(app: App) -> AppScopes:
    """The scopes of every entity of ``app`` (cached per app object)."""
    ident = id(app)
    with _cache_lock:
        hit = _cache.get(ident)
        # The cache keeps the app alive, so its id can't be reused while the entry exists.
        if hit is not None and hit[0] is app:
            _cache.move_to_end(ident)
            return hit[1]
    typing = _type_formulas(app)
    result = AppScopes(_scopes(app, typing.types), typing)
    with _cache_lock:
        _cache[ident] = (app, result)
        _cache.move_to_end(ident)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def scope_for(app: App, entity_key: str) -> Scope:
    """The scope expressions on records of ``entity_key`` are checked against.

    Raises :class:`KeyError` when the app has no such entity.
    """
    return app_scopes(app).scopes[entity_key]


def derived_sources(entity: Entity) -> list[str]:
    """The expressions whose values ``entity`` stores: its formulas and step states.

    That is every formula, every step's ``done_when`` / ``unlock_when``, and the
    ``required_when`` / ``visible_when`` of fields a step owns (they decide whether the step
    is done). Stage exit criteria are evaluated when a record moves and store nothing.
    """
    owned = {k for s in entity.steps for k in s.fields}
    sources = [f.formula for f in entity.fields if f.formula]
    sources += [src for s in entity.steps for src in (s.done_when, s.unlock_when) if src]
    sources += [
        src for f in entity.fields if f.key in owned for src in (f.required_when, f.visible_when) if src
    ]
    return sources


def derives_from(entity: Entity, name: str) -> bool:
    """Whether ``entity`` stores anything computed from ``name`` (e.g. a related collection).

    Used after a child record changed: only parents whose formulas or step states read the
    child's collection need recomputing.
    """
    return any(name in checker.references(src).names for src in derived_sources(entity))
