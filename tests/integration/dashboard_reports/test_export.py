"""A widget's data as CSV and XLSX, through the REST API and the page route, on both databases:
only the rows the viewer may read, formula cells neutralised, a BOM for Excel."""

from __future__ import annotations

import csv
import io

from flask.testing import FlaskClient
from openpyxl import load_workbook

from tests.fixtures_reports import report_app
from tests.integration.browser_session import sign_in_as
from tests.integration.conftest import Api, Tenant, install

EXPORT = "/apps/review/dashboards/weekly_review/widgets/{widget}/export"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _seed(admin_api: Api, rep_api: Api) -> None:
    install(admin_api, report_app())
    for api, name, region, amount in ((rep_api, "=HYPERLINK(\"http://evil\")", "east", 100),
                                      (rep_api, "华联超市", "east", 50),
                                      (admin_api, "总部大单", "south", 900)):
        answer = api.post("/apps/review/entities/opportunity/records",
                          json={"name": name, "region": region, "amount": amount})
        assert answer.status_code == 201, answer.get_json()


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), data[:10]
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def test_csv_export_follows_the_viewers_row_permissions(client: FlaskClient, tenant: Tenant,
                                                        admin_api: Api, rep_api: Api) -> None:
    _seed(admin_api, rep_api)
    manager = Api(client, tenant.manager_token)
    answer = manager.get(EXPORT.format(widget="topics") + "?format=csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"] and "topics.csv" in answer.headers["Content-Disposition"]
    assert _csv(answer.get_data()) == [["区域", "数量"], ["华东", "2"], ["华南", "1"]]
    # csv is the default; only the rep's own records are counted.
    assert _csv(rep_api.get(EXPORT.format(widget="topics")).get_data()) == [["区域", "数量"], ["华东", "2"]]
    english = client.get("/api/v1" + EXPORT.format(widget="topics"),
                         headers={"Authorization": f"Bearer {tenant.rep_token}", "Accept-Language": "en"})
    assert _csv(english.get_data())[0] == ["Region", "Count"]

    # A record table: formula-like text is neutralised; other people's records are absent.
    rows = _csv(rep_api.get(EXPORT.format(widget="biggest") + "?format=csv").get_data())
    cells = [c for row in rows[1:] for c in row]
    assert "'=HYPERLINK(\"http://evil\")" in cells and "华联超市" in cells
    assert "总部大单" not in cells  # the admin's record is not the rep's to read
    assert not any(c.startswith("=") for c in cells)


def _sheet(data: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(data)).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)  # no formula anywhere
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_xlsx_export(client: FlaskClient, tenant: Tenant, admin_api: Api, rep_api: Api) -> None:
    _seed(admin_api, rep_api)
    manager = Api(client, tenant.manager_token)
    answer = manager.get(EXPORT.format(widget="topics") + "?format=xlsx")
    assert answer.status_code == 200 and answer.mimetype == XLSX
    assert _sheet(answer.get_data()) == [["区域", "数量"], ["华东", 2], ["华南", 1]]  # counts stay numbers
    records = _sheet(manager.get(EXPORT.format(widget="biggest") + "?format=xlsx").get_data())
    flat = [v for row in records[1:] for v in row]
    assert "总部大单" in flat and "'=HYPERLINK(\"http://evil\")" in flat
    assert _sheet(rep_api.get(EXPORT.format(widget="topics") + "?format=xlsx").get_data()) == [["区域", "数量"], ["华东", 2]]


def test_unknown_things_and_the_page_route(client: FlaskClient, tenant: Tenant, admin_api: Api, rep_api: Api) -> None:
    _seed(admin_api, rep_api)
    assert rep_api.get(EXPORT.format(widget="nope")).status_code == 404
    assert rep_api.get(EXPORT.format(widget="topics") + "?format=pdf").status_code == 404
    assert rep_api.get("/apps/ghost/dashboards/weekly_review/widgets/topics/export").status_code == 404
    assert client.get("/api/v1" + EXPORT.format(widget="topics")).status_code == 401

    # The page route, with the session of a signed-in user.
    page = "/apps/review/dashboards/weekly_review/widgets/topics/export"
    assert client.get(page + ".csv").status_code == 302  # to the sign-in page
    sign_in_as(client, tenant.rep)
    answer = client.get(page + ".csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert _csv(answer.get_data()) == [["区域", "数量"], ["华东", "2"]]
    assert client.get(page + ".xlsx").mimetype == XLSX
    assert client.get(page + ".pdf").status_code == 404
