"""GeoReport v2 endpoints: parse the parameters, call a query or the filing service, render
JSON or XML by the extension of the path.

Discovery, services and service definitions are public. Requests need an API key, to file
(POST) and to read (GET): a client reads only the requests it filed with its key, since 12345
cases are not public records (decision 0008). The API is never authenticated by session cookie,
so it is exempt from CSRF."""

from __future__ import annotations

import datetime as dt
import logging
from functools import wraps

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from onecity.core.audit import client_ip
from onecity.core.errors import ApplicationError, RateLimited
from onecity.hotline.models import Open311Key
from onecity.hotline.open311 import queries
from onecity.hotline.open311.filing import DISTRICT_ATTRIBUTE, Submission, open311_request_file
from onecity.hotline.open311.formats import CLOSED_STATES, render, render_errors, service_request
from onecity.hotline.open311.keys import open311_key_authenticate

logger = logging.getLogger(__name__)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: when this endpoint's behaviour last changed (discovery `changeset`)
CHANGESET = "2026-11-24T00:00:00+08:00"
STATUSES = frozenset({"open", "closed"})


def jurisdiction() -> str:
    return getattr(settings, "OPEN311_JURISDICTION", "fuzhou")


def _error(status: int, message: str) -> ApplicationError:
    return ApplicationError(message, code="open311", status=status)


def open311_endpoint(*methods: str):
    """Exempt from CSRF, limited to `methods` (405 otherwise), checked for `jurisdiction_id`
    (404 if it names another jurisdiction), ApplicationError rendered in the format asked."""
    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, fmt: str, **kwargs):
            if request.method not in methods:
                response = render_errors(fmt, 405, _("Method %(method)s is not allowed here.")
                                         % {"method": request.method})
                response["Allow"] = ", ".join(methods)
                return response
            given = (request.POST.get("jurisdiction_id", "") if request.method == "POST" else "") \
                or request.GET.get("jurisdiction_id", "")
            given = given.strip()
            if given and given != jurisdiction():
                return render_errors(fmt, 404, _("jurisdiction_id %(id)s was not found.") % {"id": given})
            try:
                return view(request, fmt, **kwargs)
            except RateLimited as exc:
                response = render_errors(fmt, exc.status, str(exc.message))
                response["Retry-After"] = str(exc.retry_after)
                return response
            except ApplicationError as exc:
                return render_errors(fmt, exc.status, str(exc.message))
            except Exception:  # a client gets the spec's error document, operators the traceback
                logger.exception("Open311 %s %s failed", request.method, request.path)
                return render_errors(fmt, 500, _("The service had an internal error. Please try again later."))
        return wrapper
    return decorate


def _contact() -> str:
    return getattr(settings, "OPEN311_CONTACT", "") or _(
        "Fuzhou 12345 Citizen Service Hotline: call 12345, or ask the platform operators.")


@open311_endpoint("GET", "HEAD")
def discovery(request, fmt):
    base = request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": fmt})).rsplit("/", 1)[0]
    return render(fmt, "discovery", {
        "changeset": CHANGESET,
        "contact": _contact(),
        "key_service": _("API keys for filing requests are issued by the platform operators "
                         "(onecity open311 key create --name NAME)."),
        "endpoints": [{"specification": SPECIFICATION, "url": base, "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    })


def _service(category) -> dict:
    parent = category.parent
    return {
        "service_code": category.code,
        "service_name": category.display_name(),
        "description": f"{parent.display_name()} › {category.display_name()}" if parent else
        category.display_name(),
        "metadata": True,
        "type": "realtime",
        "keywords": "",
        "group": parent.display_name() if parent else "",
    }


@open311_endpoint("GET", "HEAD")
def services(request, fmt):
    return render(fmt, "services", [_service(c) for c in queries.services_offered()])


def _district_name(org) -> str:
    if (get_language() or "").startswith("en"):
        return org.name_en or org.name
    return org.short_name or org.name


@open311_endpoint("GET", "HEAD")
def service_definition(request, fmt, service_code):
    category = queries.service_by_code(service_code)
    if category is None:
        raise _error(404, _("service_code %(code)s was not found.") % {"code": service_code})
    return render(fmt, "service_definition", {
        "service_code": category.code,
        "attributes": [{
            "variable": True,
            "code": DISTRICT_ATTRIBUTE,
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": _("The region code of the district or county."),
            "order": 1,
            "description": _("District or county where it happened. Required unless lat and long are "
                             "given inside the city."),
            "values": [{"key": d.region_code, "name": _district_name(d)} for d in queries.districts_offered()],
        }],
    })


def _date(params, name: str) -> dt.datetime | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        moment = parse_datetime(raw.replace(" ", "+"))  # an unencoded "+08:00" arrives as " 08:00"
    except ValueError:
        moment = None
    if moment is None:
        raise _error(400, _("%(name)s must be a W3C date and time, e.g. 2026-11-23T10:00:00+08:00.")
                     % {"name": name})
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _authenticated_key(request) -> Open311Key:
    """The active key sent as `api_key` (in the form body of a POST, or in the query string);
    403 if it is missing, unknown or revoked."""
    supplied = ((request.POST.get("api_key", "") if request.method == "POST" else "")
                or request.GET.get("api_key", "")).strip()
    if not supplied:
        raise _error(403, _("api_key was not provided."))
    key = open311_key_authenticate(supplied)
    if key is None:
        raise _error(403, _("api_key is not valid."))
    return key


def _list(params, name: str) -> list[str]:
    return [v.strip() for v in params.get(name, "").split(",") if v.strip()]


@open311_endpoint("GET", "HEAD", "POST")
def requests_collection(request, fmt):
    key = _authenticated_key(request)
    if request.method == "POST":
        return _file(request, fmt, key)
    params = request.GET
    ids = _list(params, "service_request_id")
    if ids:
        cases = queries.requests_by_ids(ids, key=key)
    else:
        statuses = set(_list(params, "status"))
        if statuses - STATUSES:
            raise _error(400, _("status must be open, closed or both (comma-separated)."))
        start, end = _date(params, "start_date"), _date(params, "end_date")
        if start and end and end < start:
            raise _error(400, _("end_date must not be before start_date."))
        cases = queries.requests_search(key=key, service_codes=_list(params, "service_code"), start=start, end=end,
                                        statuses=statuses, closed_states=CLOSED_STATES)
    return render(fmt, "service_requests", [service_request(c) for c in cases])


def _file(request, fmt, key: Open311Key):
    params = request.POST
    attributes = {name[len("attribute["):-1]: params.getlist(name) for name in params
                  if name.startswith("attribute[") and name.endswith("]")}
    fields = {f: params.get(f, "") for f in ("service_code", "lat", "long", "address_string", "address_id", "email",
                                            "device_id", "account_id", "first_name", "last_name", "phone",
                                            "description", "media_url")}
    case = open311_request_file(key=key, submission=Submission(**fields, attributes=attributes),
                                ip=client_ip(request))
    notice = _("Registered as %(number)s. The 12345 hotline will review it and tell the resident the outcome "
               "by SMS.") % {"number": case.tracking_number}
    return render(fmt, "service_requests", [{"service_request_id": case.tracking_number, "service_notice": notice,
                                             "account_id": None}])


@open311_endpoint("GET", "HEAD")
def request_detail(request, fmt, service_request_id):
    key = _authenticated_key(request)
    cases = queries.requests_by_ids([service_request_id], key=key)  # filed otherwise: the same 404
    if not cases:
        raise _error(404, _("service_request_id %(id)s was not found.") % {"id": service_request_id})
    return render(fmt, "service_requests", [service_request(cases[0])])
