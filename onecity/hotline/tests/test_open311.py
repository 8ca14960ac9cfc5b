"""Open311 GeoReport v2 at /open311/v2/, checked field by field against the specification in
JSON and XML (http://wiki.open311.org/GeoReport_v2): discovery, services, service
definitions, filing requests and reading back those filed with the same key (never the portal's,
the phone's or another client's), errors with their status codes, API keys, and an
independent client (`requests`, form-encoded as the specification says) against a live server."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from onecity.core.audit import AuditEvent
from onecity.hotline.enums import CaseState, Channel
from onecity.hotline.models import Case, Category, Open311Key
from onecity.hotline.open311.districts import DISTRICT_BOXES, region_for
from onecity.hotline.open311.keys import (
    key_hash,
    open311_key_authenticate,
    open311_key_create,
    open311_key_revoke,
)
from onecity.hotline.services import cases as svc
from onecity.hotline.tests.support import S, advance, at, register

BASE = "/open311/v2"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]
TEXT = "五四路人行道上的井盖缺失，晚上很危险，请尽快处理。"


@pytest.fixture
def key(city):
    return open311_key_create(actor=None, name="福州市民通 App")


def get(client, path, fmt, **params):
    return client.get(f"{BASE}/{path}.{fmt}", params, **EN)


def read(client, key, path, fmt, **params):
    """GET as the client holding `key`."""
    return get(client, path, fmt, api_key=key.key, **params)


def filed_with(key, *cases):
    """Link cases brought to a state through the services to `key`, as if its client had filed
    them."""
    row = Open311Key.objects.get(public_id=key.public_id)
    assert Case.objects.filter(pk__in=[c.pk for c in cases]).update(open311_key=row) == len(cases)


def body(response, fmt):
    """The parsed document: JSON as is, XML as its root element (after checking the declaration
    and content type)."""
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        return json.loads(response.content)
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(response.content)


def xml_record(element) -> dict:
    """Child elements of a flat XML record as {tag: text or ""}, keeping their order."""
    assert all(len(child) == 0 for child in element)
    return {child.tag: child.text or "" for child in element}


def errors(response, fmt) -> list[tuple[int, str]]:
    doc = body(response, fmt)
    if fmt == "json":
        assert all(set(e) == {"code", "description"} for e in doc)
        return [(e["code"], e["description"]) for e in doc]
    assert doc.tag == "errors"
    assert [e.tag for e in doc] == ["error"] * len(doc)
    return [(int(e.find("code").text), e.find("description").text) for e in doc]


def form(key, **extra):
    data = {"api_key": key.key, "jurisdiction_id": "fuzhou", "service_code": "urban.roads",
            "address_string": "鼓楼区五四路 158 号", "attribute[district]": "350102", "description": TEXT,
            "phone": "13912345678", "first_name": "小明", "last_name": "林", "email": "lin@example.cn"}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def post(client, data, fmt="json"):
    return client.post(f"{BASE}/requests.{fmt}", data, **EN)


# --- discovery, services, service definitions ---------------------------------------------------


@pytest.mark.django_db
def test_discovery_json(client):
    response = get(client, "discovery", "json")
    assert response.status_code == 200
    doc = body(response, "json")
    assert list(doc) == ["changeset", "contact", "key_service", "endpoints"]
    assert doc["changeset"] == "2026-11-24T00:00:00+08:00"
    assert doc["contact"] == "Fuzhou 12345 Citizen Service Hotline: call 12345, or ask the platform operators."
    assert doc["key_service"] == ("API keys for filing requests are issued by the platform operators "
                                  "(onecity open311 key create --name NAME).")
    assert doc["endpoints"] == [{"specification": "http://wiki.open311.org/GeoReport_v2",
                                 "url": "http://testserver/open311/v2", "changeset": "2026-11-24T00:00:00+08:00",
                                 "type": "production", "formats": ["text/xml", "application/json"]}]


@pytest.mark.django_db
def test_discovery_xml(client):
    root = body(get(client, "discovery", "xml"), "xml")
    assert root.tag == "discovery"
    assert [c.tag for c in root] == ["changeset", "contact", "key_service", "endpoints"]
    assert root.findtext("changeset") == "2026-11-24T00:00:00+08:00"
    endpoints = root.find("endpoints")
    assert [e.tag for e in endpoints] == ["endpoint"]
    endpoint = endpoints.find("endpoint")
    assert [c.tag for c in endpoint] == ["specification", "url", "changeset", "type", "formats"]
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint.findtext("url") == "http://testserver/open311/v2"
    assert endpoint.findtext("type") == "production"
    assert [(f.tag, f.text) for f in endpoint.find("formats")] == [("format", "text/xml"),
                                                                   ("format", "application/json")]


@pytest.mark.django_db
def test_services_both_formats_list_active_leaf_categories(client, city):
    Category.objects.create(code="urban.retired", name="已停用", parent=city.roads, is_active=False)
    expected = [
        {"service_code": "urban.roads", "service_name": "Damaged roads",
         "description": "Urban management › Damaged roads", "metadata": True, "type": "realtime", "keywords": "",
         "group": "Urban management"},
        {"service_code": "utility.water", "service_name": "Water supply", "description": "Water supply",
         "metadata": True, "type": "realtime", "keywords": "", "group": ""},
    ]
    assert body(get(client, "services", "json"), "json") == expected
    root = body(get(client, "services", "xml"), "xml")
    assert root.tag == "services"
    assert [s.tag for s in root] == ["service", "service"]
    assert [xml_record(s) for s in root] == [
        {**s, "metadata": "true"} for s in expected]
    # in Chinese by default
    zh = json.loads(client.get(f"{BASE}/services.json").content)
    assert [(s["service_name"], s["group"]) for s in zh] == [("道路破损", "城市管理"), ("供水", "")]


@pytest.mark.django_db
def test_service_definition_json(client, city):
    doc = body(get(client, "services/urban.roads", "json"), "json")
    assert list(doc) == ["service_code", "attributes"]
    assert doc["service_code"] == "urban.roads"
    assert doc["attributes"] == [{
        "variable": True, "code": "district", "datatype": "singlevaluelist", "required": False,
        "datatype_description": "The region code of the district or county.", "order": 1,
        "description": "District or county where it happened. Required unless lat and long are given inside "
                       "the city.",
        "values": [{"key": "350102", "name": "鼓楼区人民政府"}, {"key": "350103", "name": "台江区人民政府"}],
    }]


@pytest.mark.django_db
def test_service_definition_xml(client, city):
    city.district.short_name = "鼓楼区"
    city.district.save()
    root = body(client.get(f"{BASE}/services/utility.water.xml"), "xml")  # Chinese: the short name
    assert root.tag == "service_definition"
    assert [c.tag for c in root] == ["service_code", "attributes"]
    assert root.findtext("service_code") == "utility.water"
    attributes = root.find("attributes")
    assert [a.tag for a in attributes] == ["attribute"]
    attribute = attributes.find("attribute")
    assert [c.tag for c in attribute] == ["variable", "code", "datatype", "required", "datatype_description",
                                          "order", "description", "values"]
    assert (attribute.findtext("variable"), attribute.findtext("code"), attribute.findtext("datatype"),
            attribute.findtext("required"), attribute.findtext("order")) == (
        "true", "district", "singlevaluelist", "false", "1")
    values = attribute.find("values")
    assert [xml_record(v) for v in values] == [{"key": "350102", "name": "鼓楼区"},
                                               {"key": "350103", "name": "台江区人民政府"}]
    assert [v.tag for v in values] == ["value", "value"]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_definition_is_a_404_in_the_spec_format(client, city, fmt):
    response = get(client, "services/urban", fmt)  # a parent category is not a service
    assert response.status_code == 404
    assert errors(response, fmt) == [(404, "service_code urban was not found.")]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_wrong_jurisdiction_is_a_404_everywhere(client, city, fmt):
    for path in ("discovery", "services", "services/urban.roads", "requests"):
        response = get(client, path, fmt, jurisdiction_id="xiamen")
        assert response.status_code == 404
        assert errors(response, fmt) == [(404, "jurisdiction_id xiamen was not found.")]
    assert get(client, "services", fmt, jurisdiction_id="fuzhou").status_code == 200


@pytest.mark.django_db
def test_jurisdiction_comes_from_settings(client, city, settings):
    settings.OPEN311_JURISDICTION = "fuzhou.gov.cn"
    assert get(client, "services", "json", jurisdiction_id="fuzhou.gov.cn").status_code == 200
    assert get(client, "services", "json", jurisdiction_id="fuzhou").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_other_methods_are_refused_in_the_spec_format(client, fmt):
    response = client.put(f"{BASE}/services.{fmt}", **EN)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert errors(response, fmt) == [(405, "Method PUT is not allowed here.")]
    assert client.get(f"{BASE}/services.csv").status_code == 404


# --- filing requests ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_post_json_creates_one_case_through_intake(client, city, clock, key):
    response = post(client, form(key, lat="26.085000", long="119.296000"))
    assert response.status_code == 200
    case = Case.objects.get()
    assert body(response, "json") == [{
        "service_request_id": "FZ12345-20261123-000001",
        "service_notice": "Registered as FZ12345-20261123-000001. The 12345 hotline will review it and tell the "
                          "resident the outcome by SMS.",
        "account_id": None}]
    assert (case.tracking_number, case.channel, case.state) == ("FZ12345-20261123-000001", Channel.OPEN311,
                                                                 CaseState.REGISTERED)
    assert (case.category, case.district, case.address, case.text) == (city.potholes, city.district,
                                                                        "鼓楼区五四路 158 号", TEXT)
    assert (str(case.latitude), str(case.longitude)) == ("26.085000", "119.296000")
    assert (case.contact_name, case.contact_phone, case.reporter, case.registered_by) == (
        "林小明", "13912345678", None, None)
    assert case.created_at == at(2026, 11, 23, 10)
    assert list(case.events.values_list("action", flat=True)) == ["register"]
    assert case.open311_key.public_id == key.public_id
    audit = AuditEvent.objects.get(action="open311_request_file")
    assert audit.detail == {"key": key.public_id, "client": "福州市民通 App",
                            "tracking_number": "FZ12345-20261123-000001"}
    assert Open311Key.objects.get().last_used_at == at(2026, 11, 23, 10)


@pytest.mark.django_db
def test_post_xml_and_media_url(client, city, clock, key):
    response = post(client, form(key, service_code="utility.water", media_url="https://img.example.cn/p/1.jpg"),
                    fmt="xml")
    assert response.status_code == 200
    root = body(response, "xml")
    assert root.tag == "service_requests"
    assert [r.tag for r in root] == ["request"]
    assert xml_record(root.find("request")) == {
        "service_request_id": "FZ12345-20261123-000001",
        "service_notice": "Registered as FZ12345-20261123-000001. The 12345 hotline will review it and tell the "
                          "resident the outcome by SMS.",
        "account_id": ""}
    case = Case.objects.get()
    assert case.category == city.water
    assert case.text == TEXT + "\nPhoto: https://img.example.cn/p/1.jpg"


@pytest.mark.django_db
@pytest.mark.parametrize(("lat", "lng", "district"), [("26.050000", "119.300000", "other_district"),
                                                      ("26.090000", "119.290000", "district")])
def test_district_from_coordinates(client, city, key, lat, lng, district):
    response = post(client, form(key, lat=lat, long=lng, address_string=None, **{"attribute[district]": None}))
    assert response.status_code == 200, response.content
    case = Case.objects.get()
    assert case.district == getattr(city, district)
    assert case.address == f"{lat},{lng}"


def test_district_boxes_cover_the_thirteen_districts():
    assert len({code for code, _ in DISTRICT_BOXES}) == 13
    assert region_for(26.0745, 119.2965) == "350102"  # 鼓楼区 (五一广场 area)
    assert region_for(26.0520, 119.3140) == "350103"  # 台江区
    assert region_for(25.9790, 119.3300) == "350104"  # 仓山区
    assert region_for(25.4960, 119.7900) == "350128"  # 平潭
    assert region_for(25.7200, 119.3800) == "350181"  # 福清
    assert region_for(24.4798, 118.0894) is None  # 厦门


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("change", "status", "description"), [
    ({"api_key": None}, 403, "api_key was not provided."),
    ({"api_key": "0" * 48}, 403, "api_key is not valid."),
    ({"jurisdiction_id": "xiamen"}, 404, "jurisdiction_id xiamen was not found."),
    ({"service_code": None}, 400, "service_code was not provided."),
    ({"service_code": "urban"}, 400, "service_code urban was not found."),
    ({"service_code": "no.such"}, 400, "service_code no.such was not found."),
    ({"attribute[district]": None}, 400, "attribute[district] is required when lat and long are not given."),
    ({"attribute[district]": "999999"}, 400,
     "attribute[district] must be one of the values in the service definition."),
    ({"attribute[colour]": "red"}, 400, "Unknown attribute: colour."),
    ({"address_string": None}, 400, "A location is required: address_string, or lat and long."),
    ({"address_string": None, "address_id": "A-17"}, 400,
     "address_id is not supported here: please send address_string or lat and long."),
    ({"lat": "26.08"}, 400, "lat and long must be given together."),
    ({"lat": "24.4798", "long": "118.0894", "attribute[district]": None}, 400,
     "The position is outside the districts of the city: please send attribute[district]."),
    ({"lat": "north", "long": "119.3"}, 400, "lat: The map position is not valid. Please pick the place again."),
    ({"phone": None}, 400, "phone is required: the 12345 hotline tells the resident the outcome by SMS."),
    ({"phone": "12345"}, 400, "phone: Please enter an 11-digit mainland China mobile number."),
    ({"description": ""}, 400, "description: Please describe what happened."),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url must be an http or https address."),
])
def test_post_refused_creates_nothing(client, city, key, fmt, change, status, description):
    response = post(client, form(key, **change), fmt=fmt)
    assert response.status_code == status
    assert errors(response, fmt) == [(status, description)]
    assert Case.objects.count() == 0
    assert not AuditEvent.objects.filter(action="open311_request_file").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_with_revoked_key_creates_nothing(client, city, key, fmt):
    open311_key_revoke(actor=None, key_id=key.public_id)
    response = post(client, form(key), fmt=fmt)
    assert response.status_code == 403
    assert errors(response, fmt) == [(403, "api_key is not valid.")]
    assert Case.objects.count() == 0


@pytest.mark.django_db
def test_post_is_rate_limited_per_key(client, city, key, settings):
    settings.ONECITY_RATE_LIMITS = {**settings.ONECITY_RATE_LIMITS, "open311_post": (2, 3600)}
    other = open311_key_create(actor=None, name="另一个客户端")
    assert post(client, form(key)).status_code == 200
    assert post(client, form(key, phone=None)).status_code == 400  # refused attempts count too
    response = post(client, form(key), fmt="xml")
    assert response.status_code == 429
    assert errors(response, "xml") == [(429, "Too many attempts. Please wait a moment and try again.")]
    assert 0 < int(response["Retry-After"]) <= 3600
    assert Case.objects.count() == 1
    assert post(client, form(other)).status_code == 200  # another key has its own budget
    assert Case.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unexpected_failure_is_a_500_in_the_spec_format(client, city, monkeypatch, fmt, caplog):
    from onecity.hotline.open311 import queries

    def broken():
        raise RuntimeError("database went away")

    monkeypatch.setattr(queries, "services_offered", broken)
    response = get(client, "services", fmt)
    assert response.status_code == 500
    assert errors(response, fmt) == [(500, "The service had an internal error. Please try again later.")]
    assert "Open311 GET /open311/v2/services." in caplog.text


@pytest.mark.django_db
def test_errors_in_chinese_by_default(client, city, key):
    response = client.post(f"{BASE}/requests.json", form(key, api_key="wrong"))
    assert response.status_code == 403
    assert json.loads(response.content) == [{"code": 403, "description": "api_key 无效。"}]


# --- reading requests ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_get_one_request_field_by_field(client, city, clock, key, fmt):
    case = register(city, latitude="26.080000", longitude="119.300000", contact_name="林小明")
    filed_with(key, case)
    response = read(client, key, f"requests/{case.tracking_number}", fmt)
    assert response.status_code == 200
    expected = {
        "service_request_id": "FZ12345-20261123-000001", "status": "open", "status_notes": "",
        "service_name": "", "service_code": "",
        "description": "鼓楼区五四路与湖东路交叉口有一个大坑，电动车经过很危险。", "agency_responsible": "",
        "service_notice": "Received. The 12345 hotline will check it and accept it, normally within one working "
                          "day.",
        "requested_datetime": "2026-11-23T10:00:00+08:00",
        "updated_datetime": "2026-11-23T10:00:00+08:00", "expected_datetime": None, "address": "五四路与湖东路交叉口",
        "address_id": "", "zipcode": "", "lat": 26.08, "long": 119.3, "media_url": ""}
    if fmt == "json":
        doc = body(response, fmt)
        assert doc == [expected]
        assert list(doc[0]) == REQUEST_FIELDS
    else:
        root = body(response, fmt)
        assert root.tag == "service_requests"
        assert [r.tag for r in root] == ["request"]
        record = xml_record(root.find("request"))
        assert list(record) == REQUEST_FIELDS
        assert record == {**expected, "expected_datetime": "", "lat": "26.080000", "long": "119.300000"}
    text = response.content.decode()
    for personal in ("13800138000", "138****8000", "林小明", city.resident.public_id):
        assert personal not in text


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_get_closed_request_shows_reply_unit_and_deadline(client, city, clock, key, fmt):
    case = register(city, anonymous=True)
    filed_with(key, case)
    clock.advance(hours=1)
    advance(city, case, S.CLOSED)
    case.refresh_from_db()
    doc = body(read(client, key, f"requests/{case.tracking_number}", fmt), fmt)
    record = doc[0] if fmt == "json" else xml_record(doc.find("request"))
    assert record["status"] == "closed"
    assert record["status_notes"] == "已安排修补，路面已恢复。"
    assert (record["service_code"], record["service_name"]) == ("urban.roads", "Damaged roads")
    assert record["agency_responsible"] == "福州市城市管理委员会"
    assert record["service_notice"] == ""
    assert record["requested_datetime"] == "2026-11-23T10:00:00+08:00"
    assert record["updated_datetime"] == "2026-11-23T11:00:00+08:00"
    assert record["expected_datetime"] == case.due_at.astimezone(at(2026, 1, 1).tzinfo).isoformat()
    assert "+08:00" in record["expected_datetime"]


@pytest.mark.django_db
def test_phone_and_id_numbers_in_free_text_are_masked(client, city, clock, key):
    case = register(city, text="路灯坏了，联系我 13812345678，身份证 350102199001011238。")
    filed_with(key, case)
    svc.case_reject(actor=city.operator, case_id=case.public_id, reason="已致电 13812345678 说明情况")
    record = body(read(client, key, f"requests/{case.tracking_number}", "json"), "json")[0]
    assert record["description"] == "路灯坏了，联系我 138****5678，身份证 3****************8。"
    assert record["status_notes"] == "已致电 138****5678 说明情况"


@pytest.mark.django_db
def test_api_key_and_jurisdiction_in_the_query_string(client, city, key):
    data = form(key, api_key=None, jurisdiction_id=None)
    response = client.post(f"{BASE}/requests.json?api_key={key.key}&jurisdiction_id=fuzhou", data, **EN)
    assert response.status_code == 200
    assert Case.objects.count() == 1
    response = client.post(f"{BASE}/requests.json?api_key={key.key}&jurisdiction_id=xiamen", data, **EN)
    assert response.status_code == 404
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_status_notes_for_requests_not_accepted_or_merged(client, city, clock, key):
    rejected = register(city)
    svc.case_reject(actor=city.operator, case_id=rejected.public_id, reason="不属于12345受理范围")
    merged = register(city)
    target = register(city)
    svc.case_merge(actor=city.dispatcher, case_id=merged.public_id, into_case_id=target.public_id)
    filed_with(key, rejected, merged)
    doc = body(read(client, key, "requests", "json", service_request_id=f"{rejected.tracking_number},"
                                                                  f"{merged.tracking_number}"), "json")
    assert [(r["service_request_id"], r["status"], r["status_notes"]) for r in doc] == [
        (rejected.tracking_number, "closed", "不属于12345受理范围"),
        (merged.tracking_number, "closed", f"Merged into request {target.tracking_number}."),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_request_is_a_404(client, city, key, fmt):
    response = read(client, key, "requests/FZ12345-20261123-999999", fmt)
    assert response.status_code == 404
    assert errors(response, fmt) == [(404, "service_request_id FZ12345-20261123-999999 was not found.")]


def ids(response, fmt="json"):
    doc = body(response, fmt)
    if fmt == "json":
        return [r["service_request_id"] for r in doc]
    assert doc.tag == "service_requests"
    return [r.findtext("service_request_id") for r in doc]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_get_requests_filters(client, city, clock, key, fmt):
    clock.set(at(2026, 7, 1, 9))
    old = register(city)  # more than 90 days before "now"
    clock.set(at(2026, 11, 20, 9))
    roads = register(city, category=city.potholes)
    clock.set(at(2026, 11, 21, 15))
    water = register(city, category=city.water)
    closed = register(city)
    svc.case_reject(actor=city.operator, case_id=closed.public_id, reason="重复来电")
    clock.set(at(2026, 11, 23, 10))
    filed_with(key, old, roads, water, closed)

    assert ids(read(client, key, "requests", fmt), fmt) == [closed.tracking_number, water.tracking_number,
                                                      roads.tracking_number]
    assert ids(read(client, key, "requests", fmt, status="open"), fmt) == [water.tracking_number, roads.tracking_number]
    assert ids(read(client, key, "requests", fmt, status="closed"), fmt) == [closed.tracking_number]
    assert ids(read(client, key, "requests", fmt, status="open,closed"), fmt) == ids(read(client, key, "requests", fmt), fmt)
    assert ids(read(client, key, "requests", fmt, service_code="utility.water,urban.roads"), fmt) == [
        water.tracking_number, roads.tracking_number]
    assert ids(read(client, key, "requests", fmt, start_date="2026-11-21T00:00:00+08:00"), fmt) == [
        closed.tracking_number, water.tracking_number]
    assert ids(read(client, key, "requests", fmt, end_date="2026-11-20T23:59:59+08:00",
                   start_date="2026-06-01T00:00:00Z"), fmt) == [roads.tracking_number, old.tracking_number]
    # an end date alone covers the 90 days before it
    assert ids(read(client, key, "requests", fmt, end_date="2026-07-02T00:00:00+08:00"), fmt) == [old.tracking_number]
    # service_request_id wins over every other filter, in the order asked
    assert ids(read(client, key, "requests", fmt, service_request_id=f"{old.tracking_number},{roads.tracking_number},X",
                   status="closed"), fmt) == [old.tracking_number, roads.tracking_number]


@pytest.mark.django_db
def test_get_requests_at_most_1000(client, city, clock, key, monkeypatch):
    from onecity.hotline.open311 import queries

    monkeypatch.setattr(queries, "MAX_RESULTS", 2)
    filed_with(key, *(register(city) for _ in range(3)))
    assert len(body(read(client, key, "requests", "json"), "json")) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("params", "description"), [
    ({"start_date": "yesterday"}, "start_date must be a W3C date and time, e.g. 2026-11-23T10:00:00+08:00."),
    ({"end_date": "2026-13-01T00:00:00Z"}, "end_date must be a W3C date and time, e.g. 2026-11-23T10:00:00+08:00."),
    ({"start_date": "2026-11-23T00:00:00Z", "end_date": "2026-11-22T00:00:00Z"},
     "end_date must not be before start_date."),
    ({"status": "pending"}, "status must be open, closed or both (comma-separated)."),
])
def test_get_requests_bad_parameters(client, city, key, fmt, params, description):
    response = read(client, key, "requests", fmt, **params)
    assert response.status_code == 400
    assert errors(response, fmt) == [(400, description)]


# --- reads are per key --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("api_key", "description"), [
    (None, "api_key was not provided."),
    ("  ", "api_key was not provided."),
    ("0" * 48, "api_key is not valid."),
])
def test_get_requests_without_a_valid_key_is_a_403(client, city, clock, key, fmt, api_key, description):
    case = register(city)
    filed_with(key, case)
    params = {} if api_key is None else {"api_key": api_key}
    for path in ("requests", f"requests/{case.tracking_number}"):
        response = get(client, path, fmt, **params)
        assert response.status_code == 403
        assert errors(response, fmt) == [(403, description)]
        response = get(client, path, fmt, service_request_id=case.tracking_number, **params)
        assert response.status_code == 403
    assert Open311Key.objects.get().last_used_at is None
    # discovery, services and service definitions stay public
    for path in ("discovery", "services", "services/urban.roads"):
        assert get(client, path, fmt).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_get_with_a_revoked_key_is_a_403_even_for_its_own_requests(client, city, key, fmt):
    assert post(client, form(key)).status_code == 200
    case = Case.objects.get()
    assert ids(read(client, key, "requests", fmt), fmt) == [case.tracking_number]
    open311_key_revoke(actor=None, key_id=key.public_id)
    for path in ("requests", f"requests/{case.tracking_number}"):
        response = read(client, key, path, fmt)
        assert response.status_code == 403
        assert errors(response, fmt) == [(403, "api_key is not valid.")]
    assert Case.objects.get().open311_key.public_id == key.public_id


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_request_filed_with_another_key_is_not_found(client, city, key, fmt):
    other = open311_key_create(actor=None, name="另一个客户端")
    assert post(client, form(key)).status_code == 200
    assert post(client, form(other, description="台江区工业路路灯不亮已经一周了。")).status_code == 200
    mine, theirs = Case.objects.order_by("id")
    assert (mine.open311_key.public_id, theirs.open311_key.public_id) == (key.public_id, other.public_id)

    assert ids(read(client, key, "requests", fmt), fmt) == [mine.tracking_number]
    assert ids(read(client, other, "requests", fmt), fmt) == [theirs.tracking_number]
    response = read(client, key, f"requests/{theirs.tracking_number}", fmt)
    assert response.status_code == 404
    assert errors(response, fmt) == [(404, f"service_request_id {theirs.tracking_number} was not found.")]
    both = f"{theirs.tracking_number},{mine.tracking_number}"
    assert ids(read(client, key, "requests", fmt, service_request_id=both), fmt) == [mine.tracking_number]
    assert ids(read(client, other, "requests", fmt, service_request_id=both), fmt) == [theirs.tracking_number]
    assert "台江区工业路" not in read(client, key, "requests", fmt).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_requests_from_the_portal_or_the_phone_never_appear(client, city, clock, key, fmt):
    portal = register(city)  # a resident in the app
    phone = register(city, actor=city.operator, text="邻居家装修噪音太大，晚上十一点还在施工。")  # a 12345 call
    closed = register(city)
    advance(city, closed, S.CLOSED)
    assert post(client, form(key)).status_code == 200
    filed = Case.objects.get(channel=Channel.OPEN311)
    assert (portal.channel, phone.channel) == (Channel.APP, Channel.PHONE)
    assert Case.objects.filter(open311_key__isnull=True).count() == 3

    assert ids(read(client, key, "requests", fmt), fmt) == [filed.tracking_number]
    for status in ("open", "closed", "open,closed"):
        assert ids(read(client, key, "requests", fmt, status=status), fmt) == (
            [] if status == "closed" else [filed.tracking_number])
    wanted = ",".join(c.tracking_number for c in (portal, phone, closed))
    assert ids(read(client, key, "requests", fmt, service_request_id=wanted), fmt) == []
    for case in (portal, phone, closed):
        response = read(client, key, f"requests/{case.tracking_number}", fmt)
        assert response.status_code == 404
        assert errors(response, fmt) == [(404, f"service_request_id {case.tracking_number} was not found.")]
    assert "邻居" not in read(client, key, "requests", fmt).content.decode()


# --- API keys -----------------------------------------------------------------------------------


@pytest.fixture
def english():
    """The key commands speak the active language; these tests read their English."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.mark.django_db
@pytest.mark.usefixtures("english")
def test_key_command_create_list_revoke(city):
    out = StringIO()
    call_command("open311", "key", "create", "--name", "福州市民通 App", "--json", stdout=out)
    created = json.loads(out.getvalue())
    assert set(created) == {"id", "name", "prefix", "api_key", "created_at"}
    assert created["name"] == "福州市民通 App"
    assert len(created["api_key"]) == 48 and created["prefix"] == created["api_key"][:8]
    row = Open311Key.objects.get()
    assert row.key_hash == key_hash(created["api_key"]) and created["api_key"] not in row.key_hash
    assert open311_key_authenticate(created["api_key"]).pk == row.pk
    assert open311_key_authenticate(created["api_key"][:-1] + "x") is None

    out = StringIO()
    call_command("open311", "key", "list", "--json", stdout=out)
    listed = json.loads(out.getvalue())
    assert (listed["id"], listed["revoked_at"]) == (created["id"], None)
    assert created["api_key"] not in out.getvalue()

    out = StringIO()
    call_command("open311", "key", "revoke", created["prefix"], stdout=out)
    assert out.getvalue() == f"Revoked {created['id']} (福州市民通 App).\n"
    assert open311_key_authenticate(created["api_key"]) is None
    with pytest.raises(CommandError, match="This key was already revoked."):
        call_command("open311", "key", "revoke", created["id"], stdout=StringIO())
    with pytest.raises(CommandError, match="There is no such key."):
        call_command("open311", "key", "revoke", "nope", stdout=StringIO())
    assert list(AuditEvent.objects.filter(object_type="open311_key").values_list("action", flat=True)
                .order_by("id")) == ["open311_key_create", "open311_key_revoke"]


@pytest.mark.django_db
@pytest.mark.usefixtures("english")
def test_key_command_plain_output_shows_the_key_once():
    out = StringIO()
    call_command("open311", "key", "create", "--name", "  FixMyStreet  ", stdout=out)
    lines = out.getvalue().splitlines()
    row = Open311Key.objects.get()
    assert lines[0] == f"API key for FixMyStreet (id {row.public_id}):"
    assert key_hash(lines[1]) == row.key_hash
    with pytest.raises(CommandError, match="Please name the client this key is for."):
        call_command("open311", "key", "create", "--name", "  ", stdout=StringIO())
    assert Open311Key.objects.count() == 1


# --- an independent client ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_independent_client_files_and_follows_a_request(live_server, city, key):
    """A plain HTTP client speaking only the specification: discover, list services, read the
    definition, file a request form-encoded, follow it while the hotline handles it."""
    session = requests.Session()
    session.headers["Accept-Language"] = "en"
    discovery = session.get(f"{live_server.url}{BASE}/discovery.json", timeout=10).json()
    endpoint = discovery["endpoints"][0]["url"]
    assert endpoint == f"{live_server.url}/open311/v2"
    services = session.get(f"{endpoint}/services.xml", params={"jurisdiction_id": "fuzhou"}, timeout=10)
    codes = [s.findtext("service_code") for s in ET.fromstring(services.content)]
    assert codes == ["urban.roads", "utility.water"]
    definition = session.get(f"{endpoint}/services/{codes[0]}.json", timeout=10).json()
    district = definition["attributes"][0]["values"][0]["key"]

    filed = session.post(f"{endpoint}/requests.json", data={
        "jurisdiction_id": "fuzhou", "api_key": key.key, "service_code": codes[0], "lat": "26.0745",
        "long": "119.2965", "address_string": "鼓楼区五四路 158 号", f"attribute[{definition['attributes'][0]['code']}]":
        district, "description": TEXT, "phone": "13912345678", "device_id": "abc-123"}, timeout=10)
    assert filed.status_code == 200
    assert filed.headers["Content-Type"] == "application/json; charset=utf-8"
    request_id = filed.json()[0]["service_request_id"]
    case = Case.objects.get(tracking_number=request_id)
    assert (case.channel, case.district_id) == (Channel.OPEN311, city.district.pk)

    mine = {"api_key": key.key}
    followed = session.get(f"{endpoint}/requests/{request_id}.xml", params=mine, timeout=10)
    request = ET.fromstring(followed.content).find("request")
    assert (request.findtext("status"), request.findtext("service_code"), request.findtext("lat")) == (
        "open", "urban.roads", "26.074500")

    svc.case_accept(actor=city.operator, case_id=case.public_id)
    svc.case_dispatch(actor=city.dispatcher, case_id=case.public_id, unit=city.unit)
    listed = session.get(f"{endpoint}/requests.json", params={**mine, "service_request_id": request_id},
                         timeout=10).json()
    assert (listed[0]["status"], listed[0]["agency_responsible"]) == ("open", "福州市城市管理委员会")
    assert listed[0]["service_notice"].startswith("Passed to 福州市城市管理委员会, who will confirm receipt and "
                                                  "handle it")
    svc.case_sign(actor=city.handler, case_id=case.public_id)
    assert "13912345678" not in followed.text

    svc.case_start(actor=city.handler, case_id=case.public_id)
    svc.case_reply(actor=city.handler, case_id=case.public_id, reply="井盖已由市政部门补装。")
    listed = session.get(f"{endpoint}/requests.json", params={**mine, "service_request_id": request_id},
                         timeout=10).json()
    assert [(r["status"], r["status_notes"], r["service_notice"]) for r in listed] == [
        ("open", "井盖已由市政部门补装。", "")]
    svc.case_visit(actor=city.operator, case_id=case.public_id, satisfaction="satisfied")
    svc.case_close(actor=city.supervisor, case_id=case.public_id)
    listed = session.get(f"{endpoint}/requests.json", params={**mine, "service_request_id": request_id},
                         timeout=10).json()
    assert [(r["status"], r["status_notes"]) for r in listed] == [("closed", "井盖已由市政部门补装。")]
    refused = session.post(f"{endpoint}/requests.xml", data={"api_key": "bad", "service_code": codes[0]},
                           timeout=10)
    assert refused.status_code == 403
    assert ET.fromstring(refused.content).findtext("error/description") == "api_key is not valid."
    anonymous = session.get(f"{endpoint}/requests/{request_id}.json", timeout=10)  # following needs the key
    assert (anonymous.status_code, anonymous.json()) == (403, [{"code": 403, "description": "api_key was not "
                                                                                            "provided."}])
