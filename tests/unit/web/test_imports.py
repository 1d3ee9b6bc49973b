"""Every module of ``web`` imports on its own, first, in a fresh interpreter.

An import cycle between two packages (``web.api`` ↔ ``web.design``) only breaks when one
particular module happens to be imported first — e.g. running one test file alone — so
each module is imported first once, in its own process.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _modules() -> list[str]:
    found = []
    for path in sorted((ROOT / "web").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def _import_alone(module: str) -> tuple[str, int, str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    return module, done.returncode, done.stderr[-2000:]


def test_every_web_module_imports_first_on_its_own() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        failed = [(m, err) for m, code, err in pool.map(_import_alone, _modules()) if code != 0]
    assert not failed, failed
