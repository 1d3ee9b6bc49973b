"""Keys generated from labels: what the designer proposes when an admin names something.

A key must be a valid identifier (:mod:`builder.naming`), so a label is turned into one:
Chinese characters become their pinyin syllables (``客户名称`` → ``ke_hu_ming_cheng``),
letters and digits of other scripts are kept (accents dropped, lower-cased), everything
else separates words. The result is stable — the same label and the same ``taken`` keys
always give the same key — and never one of ``taken`` nor a reserved name: a clash gets
the first free numeric suffix (``name_2``, ``name_3`` ...).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from pypinyin import Style, lazy_pinyin

from builder.naming import (
    EXPRESSION_KEYWORDS,
    MAX_KEY_LENGTH,
    RESERVED_ENTITY_KEYS,
    RESERVED_FIELD_KEYS,
    RESERVED_ROLE_KEYS,
    RESERVED_STAGE_KEYS,
    RESERVED_STEP_KEYS,
    is_identifier,
)

#: What a key names, and the names it may not take.
RESERVED: dict[str, frozenset[str]] = {
    "app": EXPRESSION_KEYWORDS,
    "entity": RESERVED_ENTITY_KEYS,
    "field": RESERVED_FIELD_KEYS,
    "step": RESERVED_STEP_KEYS,
    "stage": RESERVED_STAGE_KEYS,
    "role": RESERVED_ROLE_KEYS,
    "rule": EXPRESSION_KEYWORDS,
    "trigger": EXPRESSION_KEYWORDS,
}

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[a-z0-9]+")


def label_text(label: Any) -> str:
    """The text a key is made from: a plain label, or a ``{zh, en}`` label's English
    text when it has letters or digits (readable keys), else its Chinese text."""
    if isinstance(label, Mapping):
        en, zh = label.get("en"), label.get("zh")
        if isinstance(en, str) and _words(en):
            return en
        if isinstance(zh, str) and zh.strip():
            return zh
        return en if isinstance(en, str) else ""
    return label if isinstance(label, str) else ""


def _ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    """The lower-case ASCII words of ``text``, Chinese characters as pinyin syllables."""
    text = unicodedata.normalize("NFKC", text)
    words: list[str] = []
    for piece in lazy_pinyin(text, style=Style.NORMAL, errors="default"):
        if _CJK.fullmatch(piece):  # a character pypinyin does not know: skip it
            continue
        words.extend(_WORD.findall(_ascii_fold(piece).lower()))
    return words


def _join(words: list[str], limit: int) -> str:
    out = ""
    for word in words:
        candidate = f"{out}_{word}" if out else word
        if len(candidate) > limit:
            if not out:
                out = word[:limit]
            break
        out = candidate
    return out.rstrip("_")


def slug(label: Any, *, kind: str = "field") -> str:
    """The key ``label`` suggests (no uniqueness): a valid identifier, never empty.

    A label with nothing usable (only punctuation, emoji ...) gives ``kind`` itself; one
    starting with a digit gets ``kind`` as its first word (``2024年`` → ``field_2024_nian``).
    """
    words = _words(label_text(label)[:200])
    if words and not words[0][0].isalpha():
        words.insert(0, kind)
    key = _join(words, MAX_KEY_LENGTH) or kind
    return key if is_identifier(key) else kind


def generate_key(label: Any, taken: Iterable[str] = (), *, kind: str = "field") -> str:
    """A key for ``label`` that is a valid identifier, not reserved for ``kind`` and not in
    ``taken`` (the first free ``_2``, ``_3`` ... suffix on a clash). Same input, same key."""
    used = set(taken) | RESERVED.get(kind, EXPRESSION_KEYWORDS)
    base = slug(label, kind=kind)
    if base not in used:
        return base
    n = 2
    while True:
        suffix = f"_{n}"
        head = _join(base.split("_"), MAX_KEY_LENGTH - len(suffix)) or kind
        candidate = head + suffix
        if candidate not in used and is_identifier(candidate):
            return candidate
        n += 1
