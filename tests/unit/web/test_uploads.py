"""The upload endpoint of photo/file fields and the plain-form (no script) upload path."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.unit.web.conftest import csrf_token
from tests.unit.web.support import Tenant, publish, tiny_png, visit_app

URL = "/a/store_visits/visit/upload/shelf_photos"


@pytest.fixture
def rep(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> FlaskClient:
    publish(app, tenant, visit_app())
    return client_for("acme-rep")


def _upload(client: FlaskClient, data: bytes, name: str, url: str = URL, lang: str = "zh-CN") -> tuple[int, dict[str, object]]:
    response = client.post(
        url,
        data={"file": (io.BytesIO(data), name)},
        headers={"X-CSRFToken": csrf_token(client, "/a/"), "Accept": "application/json", "Accept-Language": lang},
    )
    status, body = response.status_code, response.get_json()
    response.close()
    response.request.input_stream.close()  # the test client spools big bodies to a temp file
    return status, body


def test_a_photo_upload_answers_its_id(rep: FlaskClient) -> None:
    status, body = _upload(rep, tiny_png(), "shelf.png")
    assert status == 201
    assert body["content_type"] == "image/png" and body["filename"] == "shelf.png"
    photo = rep.get(str(body["url"]))
    assert photo.status_code == 200 and photo.mimetype == "image/png"
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    photo.close()


@pytest.mark.parametrize(
    ("data", "name", "status", "code"),
    [
        (b"hello, I am text", "shelf.png", 422, "file_refused"),
        (b"%PDF-1.7\n", "shelf.png", 422, "file_refused"),  # the field accepts jpeg/png only
        (tiny_png(), "../../../etc/cron.d/x.png", 422, "file_refused"),
        (tiny_png(), "..\\..\\x.png", 422, "file_refused"),
        (tiny_png() + b"\x00" * (3 * 1024 * 1024), "big.png", 413, "payload_too_large"),  # over the request limit
        (tiny_png() + b"\x00" * (2 * 1024 * 1024), "big.png", 413, "file_too_large"),  # over the platform limit
    ],
)
def test_bad_uploads_are_refused(rep: FlaskClient, data: bytes, name: str, status: int, code: str) -> None:
    got, body = _upload(rep, data, name)
    assert got == status
    assert body["code"] == code


def test_only_photo_and_file_fields_take_uploads(rep: FlaskClient) -> None:
    status, _body = _upload(rep, tiny_png(), "a.png", url="/a/store_visits/visit/upload/transcript")
    assert status == 404


def test_without_the_script_files_come_with_the_form(app: Flask, tenant: Tenant, rep: FlaskClient) -> None:
    from tests.unit.web.test_forms import _create, _get

    customer = _create(app, tenant, "store_visits", "customer", {"name": "华联"})
    visit = _create(app, tenant, "store_visits", "visit", {"customer": customer["id"]})
    edit = f"/a/store_visits/visit/{visit['id']}/edit"
    token = csrf_token(rep, edit)
    response = rep.post(
        edit,
        data={
            "v-csrf_token": token,
            "_version": str(visit["version"]),
            "v-shelf_photos__present": "1",
            "v-shelf_photos__upload": [(io.BytesIO(tiny_png()), "a.png"), (io.BytesIO(b"text"), "b.png")],
        },
        content_type="multipart/form-data",
    )
    # The text posing as a PNG is refused; nothing is saved and the form says why.
    assert response.status_code == 422
    assert "此处不接受该类型的文件" in response.get_data(as_text=True)
    response = rep.post(
        edit,
        data={
            "v-csrf_token": token,
            "_version": str(visit["version"]),
            "v-shelf_photos__present": "1",
            "v-shelf_photos__upload": [(io.BytesIO(tiny_png()), "a.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert len(_get(app, tenant, "store_visits", "visit", visit["id"])["shelf_photos"]) == 1
