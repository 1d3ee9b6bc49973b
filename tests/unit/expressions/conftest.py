"""Fixtures for the expression tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from expressions import clear_cache


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    yield
    clear_cache()
