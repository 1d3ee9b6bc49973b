"""Loads the action handlers into the registry of :mod:`runtime.automation.actions.base`.

Handlers register themselves when their module is imported; this imports the built-in
ones once. A module that is not installed yet is skipped (its actions then fail with a
recorded "no handler" error instead of crashing the worker).
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

BUILTIN_ACTION_MODULES = (
    "runtime.automation.actions.record_actions",
    "runtime.automation.actions.notify",
    "runtime.automation.actions.assign",
    "runtime.automation.actions.http_webhook",
    "runtime.automation.actions.report",
    "runtime.automation.actions.send_report",
)

_loaded = False


def load_handlers() -> None:
    """Imports every built-in action module (once per process)."""
    global _loaded
    if _loaded:
        return
    for name in BUILTIN_ACTION_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            log.info("action module %s is not installed", name)
    _loaded = True
