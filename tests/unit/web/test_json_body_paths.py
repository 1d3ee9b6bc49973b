"""The JSON body walk names the member with unstorable text by its JSON path."""

from __future__ import annotations

from typing import Any

import pytest

import web.api  # noqa: F401  (the API package first: web.api.body is imported through it)
from runtime.errors import Invalid
from web.api.body import check_document


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"a": [1, {"b": "x\x00"}]}, "$.a[1].b"),
        ([["ok"], ["ok", "\ud800"]], "$[1][1]"),
        ({"a": {"bad\x00key": 1}}, "$.a"),  # a bad key is reported at its object
        ("\x00", "$"),
        ({"k" * 150: {"v": "\x00"}}, "$." + "k" * 100 + ".v"),
    ],
)
def test_unstorable_text_is_reported_at_its_path(document: Any, path: str) -> None:
    with pytest.raises(Invalid) as raised:
        check_document(document)
    assert list(raised.value.errors) == [path]


def test_storable_documents_pass() -> None:
    check_document({"name": "大单", "qty": 3, "tags": ["a", {"b": None}], "ok": True})
