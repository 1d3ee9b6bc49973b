"""The zh catalogue: complete, compiled, and in step with the strings the templates use."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from builder.model import LocalizedText
from web.i18n import normalize

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "web" / "translations"


def _source_strings() -> set[str]:
    """The UI strings the code and templates use now (what ``pybabel extract`` would find)."""
    method_map = [("web/**.py", "python"), ("web/**/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords
    ):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def test_every_ui_string_has_a_chinese_translation() -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        template = read_po(f)
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    wanted = {m.id for m in template if m.id}
    translated = {m.id for m in catalog if m.id and m.string}
    assert wanted <= translated, sorted(wanted - translated)


def test_the_template_catalogue_is_up_to_date_with_the_code() -> None:
    """Run the ``pybabel extract`` / ``update`` / ``compile`` of docs/web.md after adding UI strings."""
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        translated = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id and m.string}
    missing = _source_strings() - translated
    assert not missing, sorted(missing)


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
