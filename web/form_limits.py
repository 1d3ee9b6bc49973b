"""Limits on the form posts of the pages, applied before a form is parsed.

Multipart forms are bounded by Flask's ``MAX_FORM_PARTS`` (parts) and
``MAX_FORM_MEMORY_SIZE`` (bytes of one non-file part), set in :func:`init_app`. Werkzeug
applies neither to url-encoded forms, whose whole body is parsed at once, so this module
refuses — with 413, before the body is parsed — an url-encoded body larger than
``MAX_FORM_MEMORY_SIZE`` or with more fields than ``MAX_FORM_PARTS`` (counted on the raw
bytes: an url-encoded body separates its fields with ``&``, which a value can't contain).
"""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024  # a long text of 100,000 characters, url-encoded, fits
MAX_FORM_PARTS = 1_000


def check_urlencoded_form() -> None:
    """Refuses an url-encoded body over the size or field-count limit (413)."""
    if request.method not in ("POST", "PUT", "PATCH") or request.mimetype != "application/x-www-form-urlencoded":
        return
    size_limit = current_app.config["MAX_FORM_MEMORY_SIZE"]
    declared = request.content_length
    if declared is not None and declared > size_limit:
        raise RequestEntityTooLarge(
            f"The form is larger than {size_limit // 1024} KB; send less text. / 表单超过 {size_limit // 1024} KB,请减少内容。"
        )
    raw = request.get_data(cache=True)  # parsing the form later reads this cached copy
    if len(raw) > size_limit:
        raise RequestEntityTooLarge(f"The form is larger than {size_limit // 1024} KB. / 表单过大。")
    parts_limit = current_app.config["MAX_FORM_PARTS"]
    if raw.count(b"&") + 1 > parts_limit:
        raise RequestEntityTooLarge(
            f"The form has more than {parts_limit} fields. / 表单字段超过 {parts_limit} 个。"
        )


def init_app(app: Flask) -> None:
    """Sets the form limits and checks url-encoded forms before anything reads them.

    Call before the CSRF protection is installed: its check parses the form.
    """
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_FORM_MEMORY_SIZE
    app.config["MAX_FORM_PARTS"] = MAX_FORM_PARTS
    app.before_request(check_urlencoded_form)
