"""The zh catalogue: complete, compiled, and in step with the strings the templates use."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from builder.model import LocalizedText
from web.i18n import normalize

TRANSLATIONS = Path(__file__).resolve().parents[3] / "web" / "translations"


def test_every_ui_string_has_a_chinese_translation() -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        template = read_po(f)
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    wanted = {m.id for m in template if m.id}
    translated = {m.id for m in catalog if m.id and m.string}
    assert wanted <= translated, sorted(wanted - translated)


def test_the_compiled_catalogue_matches_its_source() -> None:
    """Run ``pybabel compile -d web/translations`` after editing the .po file."""
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        source = {m.id: m.string for m in read_po(f) if m.id}
    compiled = read_mo(io.BytesIO((TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.mo").read_bytes()))
    assert {m.id: m.string for m in compiled if m.id} == source


def test_locale_names_are_normalized() -> None:
    assert normalize("zh-CN") == normalize("zh_Hans") == normalize("zh") == "zh_CN"
    assert normalize("en-US") == "en"
    assert normalize("fr") is None and normalize(None) is None


def test_metadata_texts_fall_back_to_the_other_language() -> None:
    assert LocalizedText(zh="客户").get("en") == "客户"
    assert LocalizedText(en="Customer").get("zh") == "Customer"
