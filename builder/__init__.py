"""The metadata engine: app definitions loaded, validated, scoped and planned.

Pure (no I/O) except :mod:`builder.repository`, which stores definitions. The public
entry points:

* :func:`load_definition` — a JSON document to an :class:`~builder.model.App`, or
  :class:`DefinitionInvalid` listing every :class:`Problem`;
* :func:`dump_definition` — the reverse;
* :func:`scope_for` — the expression scope of one entity (cached per app).
"""

from builder.errors import BuilderError, DefinitionInvalid, Problem
from builder.model import FORMAT, App
from builder.schemas import dump_definition
from builder.scope import scope_for
from builder.validation import load_definition, validate_app

__all__ = [
    "FORMAT",
    "App",
    "BuilderError",
    "DefinitionInvalid",
    "Problem",
    "dump_definition",
    "load_definition",
    "scope_for",
    "validate_app",
]
