"""Every marketplace template is a valid definition with a README."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder import load_definition

TEMPLATES = sorted(p for p in (Path(__file__).parents[2] / "app_templates").iterdir() if p.is_dir() and not p.name.startswith("_"))


def test_there_are_templates() -> None:
    assert TEMPLATES, "app_templates/ holds no template"


@pytest.mark.parametrize("folder", TEMPLATES, ids=lambda p: p.name)
def test_template_is_valid(folder: Path) -> None:
    definition = load_definition(json.loads((folder / "app.json").read_text(encoding="utf-8")))
    assert definition.key == folder.name
    assert (folder / "README.md").read_text(encoding="utf-8").strip()
