"""The package's error root and the error raised for an invalid expression."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from expressions.diagnostics import Diagnostic


class ExpressionError(Exception):
    """Root of every error the expression package raises; ``code`` is stable."""

    code: str = "expression_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class ExpressionInvalid(ExpressionError, ValueError):
    """An expression failed its check; ``diagnostics`` says every reason and where."""

    code = "expression_invalid"

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        self.diagnostics = tuple(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        message = (
            f"{first.code} at {first.line}:{first.column}: {first.message}"
            if first is not None
            else "invalid expression"
        )
        if len(self.diagnostics) > 1:
            message += f" (and {len(self.diagnostics) - 1} more)"
        super().__init__(message)
