"""The 福码 statistics page and its exports: who may see them, the table, the exports (no
personal data), bad parameters."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from onecity.analytics.models import PaymentHourlyStat, RefreshCursor
from onecity.analytics.services import payment_stats_rebuild
from onecity.analytics.tests.payments_support import NAME, PHONE

URL = "/analytics/payments/"
RANGE = {"start": "2026-11-01", "end": "2026-11-30"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def built(pay_stats_city):
    payment_stats_rebuild()
    return pay_stats_city


@pytest.mark.parametrize("who", ["supervisor", "administrator"])
def test_leaders_see_the_page(client, built, who):
    client.force_login(getattr(built, who))
    response = client.get(URL, {**RANGE, "dim": "scenario"}, **EN)
    assert response.status_code == 200
    assert [r["cells"] for r in response.context["rows"]] == [
        ["Education", "5", "5,000.00", "500.00", "1,000.00", "92.08%"],
        ["Health care", "—", "—", "—", "—", "—"],
        ["Parking", "—", "—", "—", "—", "—"]]
    assert response.context["kpis"] == [("Number of payments", "8"), ("Amount (¥)", "5,430.00"), ("Refunded (¥)", "500.00"),
                                        ("Average ticket (¥)", "678.75")]
    assert response.context["channel_shares"] == [("Alipay", "92.08%"), ("UnionPay", "—"), ("WeChat Pay", "—")]
    assert response.context["heat_chart"]["series"][0]["data"] == [[9, 0, 5]]
    hours = response.context["hour_chart"]["series"]
    assert hours[1]["data"][9] == 5 and hours[1]["data"][14] is None and hours[0]["data"][9] == 5000.0
    body = response.content.decode()
    assert PHONE not in body and NAME not in body


@pytest.mark.parametrize("who", ["auditor", "handler", "cashier"])
def test_other_staff_are_refused(client, built, who):
    client.force_login(getattr(built, who))
    for path in (URL, URL + "export.csv", URL + "export.xlsx"):
        assert client.get(path, RANGE).status_code == 403


def test_residents_are_sent_to_sign_in(client, built):
    assert client.get(URL).status_code == 302


def test_default_range_is_the_last_thirty_days(client, built):
    client.force_login(built.supervisor)
    query = client.get(URL, **EN).context["query"]
    assert (query.start.isoformat(), query.end.isoformat(), query.dimension, query.sort) == (
        "2026-10-25", "2026-11-23", "scenario", "amount_fen")


def test_hour_table_is_in_hour_order(client, built):
    client.force_login(built.supervisor)
    rows = client.get(URL, {**RANGE, "dim": "hour"}, **EN).context["rows"]
    assert [r["cells"][0] for r in rows][:2] == ["00:00–01:00", "01:00–02:00"]
    assert rows[9]["cells"][:3] == ["09:00–10:00", "5", "5,000.00"]


def test_csv_export_is_the_table_without_personal_data(client, built):
    client.force_login(built.supervisor)
    response = client.get(URL + "export.csv", {**RANGE, "dim": "district"}, **EN)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="payment-stats-district-20261101-20261130.csv"'
    text = response.content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [
        ["Rank", "District", "Number of payments", "Amount (¥)", "Refunded (¥)", "Average ticket (¥)", "Share of amount"],
        ["1", "Gulou District", "6", "5030.00", "500.00", "838.33", "92.63%"],
        ["2", "福建省福州市晋安区", "—", "—", "—", "—", "—"]]
    for personal in (PHONE, "138****8000", NAME, "TRADE"):
        assert personal not in text


def test_xlsx_export(client, built):
    client.force_login(built.administrator)
    response = client.get(URL + "export.xlsx", {**RANGE, "dim": "channel"}, **EN)
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == ["Rank", "Channel", "Number of payments", "Amount (¥)", "Refunded (¥)", "Average ticket (¥)",
                         "Share of amount"]
    assert values[1] == [1, "Alipay", 5, 5000.0, 500.0, 1000.0, 500000 / 543000]
    assert values[2] == [2, "UnionPay", None, None, None, None, None]
    assert all(PHONE not in str(v) and NAME not in str(v) for row in values for v in row)


@pytest.mark.parametrize(("params", "message"), [
    ({"start": "2026-13-01"}, "The start date must be a date such as 2026-01-31."),
    ({"start": "2026-11-30", "end": "2026-11-01"}, "The start date must not be after the end date."),
    ({"start": "2020-01-01", "end": "2026-11-30"}, "Please choose a range of at most three years."),
    ({"dim": "payer"}, "Please choose a breakdown: scenario, district, channel or hour of day."),
    ({"sort": "phone"}, "The table cannot be sorted by that column."),
    ({"order": "up"}, "The sort order must be ascending or descending."),
])
def test_bad_parameters_are_400_and_change_nothing(client, built, params, message):
    client.force_login(built.supervisor)
    rows = sorted(PaymentHourlyStat.objects.values_list("day", "hour", "scenario", "payments"))
    cursor = RefreshCursor.objects.values_list("name", "since", "last_run_at").order_by("name")
    before = list(cursor)
    response = client.get(URL, params, **EN)
    assert response.status_code == 400
    assert response.context["error"] == message
    assert message in response.content.decode()
    export = client.get(URL + "export.csv", params, **EN)
    assert (export.status_code, export.content.decode()) == (400, message)
    assert sorted(PaymentHourlyStat.objects.values_list("day", "hour", "scenario", "payments")) == rows
    assert list(cursor) == before


def test_nav_entry_for_leaders_only(client, built):
    client.force_login(built.supervisor)
    assert 'href="/analytics/payments/"' in client.get("/analytics/hotline/").content.decode()
    client.force_login(built.handler)
    page = client.get("/analytics/hotline/")
    assert page.status_code == 200
    assert 'href="/analytics/payments/"' not in page.content.decode()
