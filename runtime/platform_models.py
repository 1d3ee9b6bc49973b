"""Imports every module that declares platform tables, so metadata is complete.

Alembic's environment and ``create_all`` in tests import this one module.
"""

from __future__ import annotations

import runtime.assignment  # noqa: F401
import runtime.automation.models  # noqa: F401
import runtime.automation.rollups  # noqa: F401
import runtime.models  # noqa: F401
import runtime.retention  # noqa: F401
