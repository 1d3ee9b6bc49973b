"""File uploads of photo / file fields, and downloads restricted to the user's workspace.

The form's script uploads each chosen file here at once and keeps only the returned id in
the form, so a rep on a slow connection sees each photo land and a later save posts ids,
not megabytes. The checks (name, size, content type sniffed from the bytes) are
:class:`runtime.files.FileService`'s.
"""

from __future__ import annotations

from flask import Response, abort, jsonify, request, send_file, url_for
from flask_login import login_required

from builder.model import FieldType
from runtime.apps import PublishedApp
from runtime.errors import NotFound
from web.apps import bp
from web.apps.services import files, published, reads
from web.apps.views import _accept
from web.login import signed_in

INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


@bp.post("/<app_key>/<entity_key>/upload/<field_key>")
@login_required  # type: ignore[misc]
def upload(app_key: str, entity_key: str, field_key: str) -> tuple[Response, int]:
    """Stores the posted ``file`` for field ``field_key``; answers its id (201)."""
    app = published(app_key)
    entity = app.entity(entity_key)
    field = entity.field(field_key)
    if field is None or field.type not in (FieldType.PHOTO, FieldType.FILE):
        abort(404)
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        abort(400, description="Send the file in the form part 'file'.")
    row = files().store(
        storage.filename,
        storage.stream,
        actor_id=signed_in().user.id,
        accept=_accept(field),
        max_bytes=(field.max_size_mb or 0) * 1024 * 1024 or None,
    )
    return (
        jsonify(
            id=row.id,
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            url=url_for("apps.download", file_id=row.id),
        ),
        201,
    )


def _near() -> tuple[PublishedApp | None, dict[str, list[int]]]:
    """The record a page says the file is shown on (ignored when it is not valid)."""
    app_key, entity = request.args.get("app"), request.args.get("entity")
    record = request.args.get("record", type=int)
    if not app_key or not entity or record is None:
        return None, {}
    try:
        return published(app_key), {entity: [record]}
    except NotFound:
        return None, {}


@bp.get("/files/<int:file_id>")
@login_required  # type: ignore[misc]
def download(file_id: int) -> Response:
    """A file the user may read (404 for any other); images inline, others attached.

    Readable means: a record the user may read refers to it, or the user uploaded it and
    no record refers to it yet (:meth:`runtime.reads.RecordReads.file`). Pages add
    ``?app=…&entity=…&record=…``, the record they show the file on: that record is
    checked first (by id), which spares the search of every record that may refer to it;
    the hint can never make a file readable that otherwise isn't.
    """
    service = files()
    app, near = _near()
    row = reads(app).file(file_id, near=near)
    inline = row.content_type in INLINE_TYPES
    response = send_file(
        service.open(row),
        mimetype=row.content_type,
        as_attachment=not inline,
        download_name=row.filename,
        max_age=3600,
        etag=row.sha256,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.cache_control.private = True
    return response
