"""Filing a request through Open311: check the client's parameters against the service and its
definition, then register the work order through intake (`case_register`, channel open311).

What the hotline needs beyond the GeoReport v2 core (told to clients in the service
definition and in errors): the district (`attribute[district]`, a region code, or coordinates
inside one of the district boxes of districts.py), a description, and a mobile `phone` so the
hotline can report the outcome (12345 answers by SMS; `email` is accepted but not used).

The case records the key it was filed with (`Case.open311_key`): that key, and only that key,
reads it back through GET requests (decision 0008, "Reads are per key").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError
from onecity.core.ratelimit import ratelimit_hit
from onecity.hotline.enums import Channel
from onecity.hotline.models import Case, Open311Key
from onecity.hotline.open311 import queries
from onecity.hotline.open311.districts import region_for
from onecity.hotline.services.intake import case_register

DISTRICT_ATTRIBUTE = "district"
CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Submission:
    """The POST parameters of GeoReport v2 that the hotline uses."""

    service_code: str = ""
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    email: str = ""
    device_id: str = ""
    account_id: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    description: str = ""
    media_url: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)


def _bad(message: str, code: str) -> ApplicationError:
    return ApplicationError(message, code=code, status=400)


def contact_name(first: str, last: str) -> str:
    """Chinese names read family name first, without a space; others "first last"."""
    first, last = first.strip(), last.strip()
    if CJK.search(first + last):
        return f"{last}{first}"
    return " ".join(p for p in (first, last) if p)


def _district(sub: Submission, lat, lng):
    values = sub.attributes.get(DISTRICT_ATTRIBUTE) or []
    code = values[0].strip() if values else ""
    if code:
        district = queries.district_by_region(code)
        if district is None:
            raise _bad(_("attribute[district] must be one of the values in the service definition."),
                       "district_invalid")
        return district
    if lat and lng:
        try:
            region = region_for(lat, lng)
        except ValueError:
            region = None
        district = queries.district_by_region(region) if region else None
        if district is not None:
            return district
        raise _bad(_("The position is outside the districts of the city: please send attribute[district]."),
                   "district_required")
    raise _bad(_("attribute[district] is required when lat and long are not given."), "district_required")


#: case_register's field names as the Open311 parameters a client sent
PARAMETERS = {"text": "description", "address": "address_string", "contact_phone": "phone",
              "contact_name": "first_name", "latitude": "lat", "longitude": "long"}


def open311_request_file(*, key: Open311Key, submission: Submission, ip: str | None = None) -> Case:
    """Register `submission` as a work order for the client holding `key`. Nothing is created
    unless every check passes. Every attempt counts against the key's budget
    (settings.ONECITY_RATE_LIMITS["open311_post"]), outside the transaction so that refused
    attempts count too."""
    ratelimit_hit("open311_post", key.public_id)
    return _file(key=key, sub=submission, ip=ip)


@transaction.atomic
def _file(*, key: Open311Key, sub: Submission, ip: str | None) -> Case:
    code = sub.service_code.strip()
    if not code:
        raise _bad(_("service_code was not provided."), "service_code_required")
    category = queries.service_by_code(code)
    if category is None:
        raise _bad(_("service_code %(code)s was not found.") % {"code": code}, "service_code_unknown")
    lat, lng = sub.lat.strip(), sub.long.strip()
    address = " ".join(sub.address_string.split())
    if not address and not (lat and lng):
        if sub.address_id.strip():
            raise _bad(_("address_id is not supported here: please send address_string or lat and long."),
                       "address_id_unsupported")
        raise _bad(_("A location is required: address_string, or lat and long."), "location_required")
    if bool(lat) != bool(lng):
        raise _bad(_("lat and long must be given together."), "coordinates_invalid")
    known = {DISTRICT_ATTRIBUTE}
    unknown = sorted(set(sub.attributes) - known)
    if unknown:
        raise _bad(_("Unknown attribute: %(code)s.") % {"code": unknown[0]}, "attribute_unknown")
    district = _district(sub, lat, lng)
    if not sub.phone.strip():
        raise _bad(_("phone is required: the 12345 hotline tells the resident the outcome by SMS."),
                   "phone_required")
    media = sub.media_url.strip()
    if media:
        try:
            URLValidator(schemes=["http", "https"])(media)
        except ValidationError:
            raise _bad(_("media_url must be an http or https address."), "media_url_invalid") from None
    text = sub.description.strip()
    if text and media:
        text = "{text}\n{label}: {url}".format(text=text, label=_("Photo"), url=media)
    if not address:
        address = f"{lat},{lng}"
    try:
        case = case_register(actor=None, channel=Channel.OPEN311, text=text, district=district, address=address,
                             category=category, latitude=lat or None, longitude=lng or None,
                             contact_name=contact_name(sub.first_name, sub.last_name), contact_phone=sub.phone)
    except ApplicationError as exc:
        param = PARAMETERS.get(exc.field or "", "")
        raise _bad(f"{param}: {exc.message}" if param else str(exc.message), exc.code) from None
    Case.objects.filter(pk=case.pk).update(open311_key=key)  # only this key may read it back
    case.open311_key = key
    audit_record(actor=None, action="open311_request_file", object_type="hotline_case", object_id=case.public_id,
                 ip=ip, detail={"key": key.public_id, "client": key.name, "tracking_number": case.tracking_number})
    return case
