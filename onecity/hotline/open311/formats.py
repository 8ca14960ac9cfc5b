"""GeoReport v2 documents in JSON and XML, and the mapping of a work order to a service request.

Both formats are built from the same plain structure (dicts, lists, scalars) so they cannot
drift apart. XML: UTF-8 with an XML declaration, one root element per document
(`discovery`, `services`, `service_definition`, `service_requests`, `errors`), list items
named as in the specification (`service`, `request`, `endpoint`, `format`, `attribute`,
`value`, `error`); empty or null values are empty elements, booleans `true`/`false`.
Dates are W3C ISO 8601 with the offset of Asia/Shanghai (2026-11-23T10:00:00+08:00).
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.masking import mask_text
from onecity.hotline.enums import CaseState
from onecity.hotline.models import Case
from onecity.hotline.selectors.resident_cases import next_step

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
#: element name of the items of each list, by the list's element name (root lists are given)
ITEM_NAMES = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value",
              "services": "service", "service_requests": "request", "errors": "error"}
#: work-order states that read as "closed" to Open311 clients; every other state is "open"
CLOSED_STATES = frozenset({CaseState.CLOSED, CaseState.REJECTED, CaseState.ANSWERED, CaseState.MERGED})
#: states whose "what happens next" sentence (the resident pages') is the service notice; later
#: states speak to the reporter personally (rate the reply, reopen), and status_notes has the outcome
NOTICE_STATES = frozenset({CaseState.REGISTERED, CaseState.ACCEPTED, CaseState.RETURNED, CaseState.DISPATCHED,
                           CaseState.SUB_DISPATCHED, CaseState.SIGNED, CaseState.IN_PROGRESS})


def w3c(moment: dt.datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        child = ITEM_NAMES[element.tag]
        for item in value:
            _fill(ET.SubElement(element, child), item)
    else:
        element.text = _text(value)


def to_xml(root: str, payload: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, payload)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element, encoding="utf-8",
                                                                      xml_declaration=False)


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value))


def render(fmt: str, root: str, payload: Any, *, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        body = to_xml(root, payload)
    else:
        body = json.dumps(payload, ensure_ascii=False, default=_json_default).encode("utf-8")
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
    response["Access-Control-Allow-Origin"] = "*"
    return response


def render_errors(fmt: str, status: int, *descriptions: str) -> HttpResponse:
    return render(fmt, "errors", [{"code": status, "description": str(d)} for d in descriptions], status=status)


def status_of(case: Case) -> str:
    return "closed" if case.state in CLOSED_STATES else "open"


def status_notes(case: Case) -> str:
    """What the resident was told: the unit's reply once there is one, the reason a request was
    not accepted, or the request it was merged into. Internal notes (returns between units)
    never appear."""
    if case.state == CaseState.REJECTED:
        return case.state_reason
    if case.state == CaseState.MERGED and case.merged_into_id:
        return _("Merged into request %(number)s.") % {"number": case.merged_into.tracking_number}
    return case.reply or ""


def service_request(case: Case) -> dict[str, Any]:
    """A work order as a GeoReport v2 service request. Personal data never appears: no name,
    phone or account of the reporter, anonymous or not, and mobile and ID numbers written into
    the free text are masked (138****1234)."""
    category = case.category
    unit = case.assigned_unit
    return {
        "service_request_id": case.tracking_number,
        "status": status_of(case),
        "status_notes": mask_text(status_notes(case)),
        "service_name": category.display_name() if category else "",
        "service_code": category.code if category else "",
        "description": mask_text(case.text),
        "agency_responsible": unit.display_name() if unit else "",
        "service_notice": next_step(case) if case.state in NOTICE_STATES else "",
        "requested_datetime": w3c(case.created_at),
        "updated_datetime": w3c(case.updated_at),
        "expected_datetime": w3c(case.due_at),
        "address": case.address,
        "address_id": "",
        "zipcode": "",
        "lat": case.latitude,
        "long": case.longitude,
        "media_url": "",
    }
