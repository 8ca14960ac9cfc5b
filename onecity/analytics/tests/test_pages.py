"""The statistics page and its exports: who sees what, the table, the exports, bad input."""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from openpyxl import load_workbook

from onecity.analytics.models import HotlineDailyStat, RefreshCursor
from onecity.analytics.services import hotline_stats_rebuild
from onecity.core.models import AuditEvent
from onecity.hotline.tests.support import at
from onecity.identity.models import User
from onecity.identity.tests.accounts_support import make_staff

URL = "/analytics/hotline/"
RANGE = {"start": "2026-11-01", "end": "2026-11-30"}


@pytest.fixture
def built(stats_city):
    hotline_stats_rebuild()
    return stats_city


def login(client, user):
    client.force_login(user)


def test_supervisor_sees_the_city(client, built):
    login(client, built.city.supervisor)
    response = client.get(URL, {**RANGE, "dim": "department"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["cells"][:3] for r in rows] == [["Not dispatched (the hotline)", "3", "0.1"],
                                              ["福州市城市管理委员会", "2", "0.1"], ["福州市水务局", "1", "0.0"]]
    assert {c.key: v for c, v in response.context["kpis"]}["received"] == "6"
    assert b"chart-trend" in response.content and b"echarts.min.js" in response.content
    assert response.context["updated_at"] == at(2026, 11, 10, 9)
    assert b"Last updated 10 Nov 2026, 09:00." in response.content


def test_table_sorts_by_any_column(client, built):
    login(client, built.city.supervisor)
    response = client.get(URL, {**RANGE, "dim": "channel", "sort": "satisfaction_rate", "order": "asc"},
                          HTTP_ACCEPT_LANGUAGE="en")
    assert [[r["cells"][0], r["cells"][5]] for r in response.context["rows"]] == [["Mobile app", "0.00%"],
                                                                                 ["Phone", "100.00%"]]
    response = client.get(URL, {**RANGE, "dim": "channel", "sort": "satisfaction_rate", "order": "desc"},
                          HTTP_ACCEPT_LANGUAGE="en")
    assert [r["cells"][0] for r in response.context["rows"]] == ["Phone", "Mobile app"]
    response = client.get(URL, {**RANGE, "dim": "month", "sort": "label", "order": "asc"})
    assert [r["cells"][:2] for r in response.context["rows"]] == [["2026年11月", "6"]]


def test_handler_sees_only_their_own_unit(client, built):
    city = built.city
    login(client, city.handler)
    response = client.get(URL, {**RANGE, "dim": "district"})
    assert response.status_code == 200
    kpis = {c.key: v for c, v in response.context["kpis"]}
    assert kpis["received"] == "2"
    assert [r["cells"][:2] for r in response.context["rows"]] == [[city.district.name, "2"]]
    # no parameter widens the scope
    response = client.get(URL, {**RANGE, "dim": "department", "scope": "0", "unit": str(city.other_unit.pk)})
    assert [r["cells"][1] for r in response.context["rows"]] == ["2"]
    export = client.get(URL + "export.csv", {**RANGE, "dim": "department"})
    assert [row[2] for row in csv.reader(io.StringIO(export.content.decode("utf-8-sig")))][1:] == ["2"]


@pytest.mark.parametrize("who", ["resident", "operator", "dispatcher", "handler_without_unit"])
def test_others_are_refused(client, built, who):
    if who == "handler_without_unit":
        user = make_staff("department_handler", username="lonely")
        User.objects.filter(pk=user.pk).update(organization=None)
        user.refresh_from_db()
    else:
        user = getattr(built.city, who)
    login(client, user)
    for path in (URL, URL + "export.csv", URL + "export.xlsx"):
        assert client.get(path, RANGE).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, built):
    for path in (URL, URL + "export.csv", URL + "export.xlsx"):
        response = client.get(path, RANGE)
        assert response.status_code == 302
        assert response["Location"].split("?")[0] == resolve_url(settings.LOGIN_URL)


def test_csv_export_is_the_table(client, built):
    login(client, built.city.supervisor)
    params = {**RANGE, "dim": "category", "sort": "received", "order": "desc"}
    page = client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")
    response = client.get(URL + "export.csv", params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="hotline-stats-category-20261101-20261130.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Rank", "Category", "Requests", "Daily average", "Signed on time", "Handled on time",
                       "Satisfaction", "Resolution", "Average handling time (h)", "Reopen rate"]
    assert [row[1:] for row in rows[1:]] == [r["cells"] for r in page.context["rows"]]
    assert rows[1:] == [
        ["1", "Not categorised", "2", "0.1", "—", "100.00%", "—", "100.00%", "0.5", "0.00%"],
        ["2", "Urban management", "2", "0.1", "50.00%", "100.00%", "50.00%", "50.00%", "37.0", "0.00%"],
        ["3", "Water supply", "2", "0.1", "100.00%", "0.00%", "100.00%", "50.00%", "30.0", "50.00%"],
    ]


def test_xlsx_export_is_the_table_with_numbers(client, built):
    login(client, built.city.supervisor)
    params = {**RANGE, "dim": "channel"}
    response = client.get(URL + "export.xlsx", params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == ["Rank", "Channel", "Requests", "Daily average", "Signed on time", "Handled on time",
                         "Satisfaction", "Resolution", "Average handling time (h)", "Reopen rate"]
    assert values[1] == [1, "Phone", 5, pytest.approx(5 / 30), 1, pytest.approx(2 / 3), 1, 0.75,
                         pytest.approx(117000 / 10800), 0.2]
    assert values[2] == [2, "Mobile app", 1, pytest.approx(1 / 30), 0, 1, 0, 0, 72, 0]
    assert sheet["E2"].number_format == "0.00%"


@pytest.mark.parametrize(("params", "message"), [
    ({"start": "2026-13-01"}, "The start date must be a date such as 2026-01-31."),
    ({"start": "2026-11-30", "end": "2026-11-01"}, "The start date must not be after the end date."),
    ({"start": "2020-01-01", "end": "2026-11-01"}, "Please choose a range of at most three years."),
    ({"dim": "street"}, "Please choose a breakdown: department, district, category, channel or month."),
    ({"sort": "password"}, "The table cannot be sorted by that column."),
    ({"order": "sideways"}, "The sort order must be ascending or descending."),
])
def test_bad_parameters_give_a_clear_error_and_change_nothing(client, built, params, message):
    login(client, built.city.supervisor)
    before = (list(HotlineDailyStat.objects.order_by("pk").values_list()), list(RefreshCursor.objects.values_list()),
              AuditEvent.objects.count())
    response = client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.context["error"] == message
    assert message.encode() in response.content
    export = client.get(URL + "export.csv", params, HTTP_ACCEPT_LANGUAGE="en")
    assert (export.status_code, export.content.decode()) == (400, message)
    after = (list(HotlineDailyStat.objects.order_by("pk").values_list()), list(RefreshCursor.objects.values_list()),
             AuditEvent.objects.count())
    assert after == before


def test_chinese_is_the_default(client, built):
    login(client, built.city.supervisor)
    response = client.get(URL, RANGE)
    assert '<h1 class="page-title">12345 热线统计</h1>'.encode() in response.content
