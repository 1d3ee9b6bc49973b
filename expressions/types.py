"""The static types of the expression language.

Types are small frozen values so that they hash and compare structurally; a scope built
from the same definition always produces equal types, which the compile cache relies on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ExprType:
    """A scalar type named by ``name`` (``integer``, ``decimal``, ``text`` ...)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class RecordType(ExprType):
    """A reference to one record of ``entity`` (the value of a link field)."""

    entity: str = ""

    def __str__(self) -> str:
        return f"record<{self.entity}>"


@dataclass(frozen=True, slots=True)
class ListType(ExprType):
    """A list of values of one item type (multi-choice values, projections)."""

    item: ExprType = ExprType("null")

    def __str__(self) -> str:
        return f"list<{self.item}>"


@dataclass(frozen=True, slots=True)
class CollectionType(ExprType):
    """The related records of one entity that link back to the current record."""

    entity: str = ""

    def __str__(self) -> str:
        return f"collection<{self.entity}>"


INTEGER = ExprType("integer")
DECIMAL = ExprType("decimal")
TEXT = ExprType("text")
BOOLEAN = ExprType("boolean")
DATE = ExprType("date")
DATETIME = ExprType("datetime")
DURATION = ExprType("duration")
LOCATION = ExprType("location")
USER = ExprType("user")
FILE = ExprType("file")
NULL = ExprType("null")


def record_of(entity: str) -> RecordType:
    """The type of a link to ``entity``."""
    return RecordType("record", entity)


def list_of(item: ExprType) -> ListType:
    """The type of a list of ``item``."""
    return ListType("list", item)


def collection_of(entity: str) -> CollectionType:
    """The type of the related records of ``entity``."""
    return CollectionType("collection", entity)
