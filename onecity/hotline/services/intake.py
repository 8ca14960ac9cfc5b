"""Intake: a new request from any channel becomes a registered work order with a tracking number.

Tracking numbers read FZ12345-20261123-000123: prefix (settings.HOTLINE_TRACKING_PREFIX),
the local date of registration and the day's sequence. The sequence is a per-day counter row
incremented with an UPDATE ... SET last = last + 1 inside the registering transaction: the row
lock serialises concurrent registrations of the same day until they commit, so no two cases can
draw the same number and a rolled-back registration leaves no gap.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.bulk import insert_row
from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.core.validators import normalise_phone, validate_phone
from onecity.hotline.access import hotline_roles
from onecity.hotline.enums import Action, CaseState, Channel, Urgency
from onecity.hotline.models import Case, Category, TrackingCounter
from onecity.hotline.services.base import event_write
from onecity.identity.access import is_citizen
from onecity.identity.enums import OrganizationKind

TEXT_MIN = 5
TEXT_MAX = 2000
TITLE_MAX = 120
ADDRESS_MAX = 200
NAME_MAX = 40
#: channels a resident files through themselves; operators record any channel
RESIDENT_CHANNELS = frozenset({Channel.WEB, Channel.APP, Channel.WECHAT, Channel.MAYOR_MAILBOX})
INTAKE_ROLES = frozenset({"hotline_operator", "dispatcher"})


def tracking_prefix() -> str:
    return getattr(settings, "HOTLINE_TRACKING_PREFIX", "FZ12345")


def _counter_increment(day: dt.date) -> int | None:
    """last = last + 1 on the day's counter row, returning the new value (one statement:
    UPDATE ... RETURNING, in SQLite and PostgreSQL alike); None when the day has no row yet."""
    table = connection.ops.quote_name(TrackingCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET last = last + 1 WHERE day = %s RETURNING last",  # noqa: S608
                       [connection.ops.adapt_datefield_value(day)])
        row = cursor.fetchone()
    return row[0] if row else None


def tracking_number_next(*, now: dt.datetime | None = None) -> str:
    """Draw the next tracking number of the local day. Call inside the registering transaction."""
    day = timezone.localdate(now or timezone.now())
    last = _counter_increment(day)
    if last is None:
        try:
            with transaction.atomic():
                TrackingCounter.objects.create(day=day, last=1)
            last = 1
        except IntegrityError:  # another registration created the day's row first
            last = _counter_increment(day)
    return f"{tracking_prefix()}-{day:%Y%m%d}-{last:06d}"


def _coordinate(value, *, field: str, limit: int) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or abs(number) > limit:
        raise ApplicationError(_("The map position is not valid. Please pick the place again."),
                               code="coordinates_invalid", field=field)
    return number


def _text(value, *, field, max_length, required_message, min_length=0) -> str:
    value = " ".join((value or "").split()) if field != "text" else (value or "").strip()
    if not value and required_message:
        raise ApplicationError(required_message, code=f"{field}_required", field=field)
    if len(value) < min_length:
        raise ApplicationError(_("Please describe what happened in at least %(min)d characters.") % {"min": min_length},
                               code=f"{field}_short", field=field)
    if len(value) > max_length:
        raise ApplicationError(_("This can have at most %(max)d characters.") % {"max": max_length},
                               code=f"{field}_length", field=field)
    return value


def _title_from(text: str) -> str:
    first = text.splitlines()[0].strip()
    return first if len(first) <= 30 else first[:29] + "…"


@transaction.atomic
def case_register(*, actor, channel: str, text: str, district, address: str, title: str = "",
                  category: Category | None = None, urgency: str | None = None, latitude=None, longitude=None,
                  reporter=None, anonymous: bool = False, contact_name: str = "", contact_phone: str | None = None,
                  now: dt.datetime | None = None) -> Case:
    """Register a request. `actor` is the resident filing it (then the reporter is the actor),
    a hotline operator or dispatcher recording it on someone's behalf, or None for the system
    (Open311 with an API key). A request needs a way to answer the resident: a reporter account
    or a contact number."""
    now = now or timezone.now()
    if actor is None:
        pass
    elif is_citizen(actor):
        if reporter is not None and getattr(reporter, "pk", None) != actor.pk:
            raise PermissionDenied(_("Residents can only file requests for themselves."))
        reporter = actor
        if channel not in RESIDENT_CHANNELS:
            raise ApplicationError(_("Please choose how you are sending this request."), code="channel_invalid",
                                   field="channel")
    elif not hotline_roles(actor) & INTAKE_ROLES:
        raise PermissionDenied()
    if channel not in Channel.values:
        raise ApplicationError(_("Please choose how the request came in."), code="channel_invalid", field="channel")
    if reporter is not None and not is_citizen(reporter):
        raise ApplicationError(_("The reporter must be a resident's account."), code="reporter_invalid",
                               field="reporter")

    text = _text(text, field="text", max_length=TEXT_MAX, min_length=TEXT_MIN,
                 required_message=_("Please describe what happened."))
    title = _text(title, field="title", max_length=TITLE_MAX, required_message="") or _title_from(text)
    address = _text(address, field="address", max_length=ADDRESS_MAX,
                    required_message=_("Please tell us where it happened."))
    if district is None or getattr(district, "pk", None) is None or district.kind != OrganizationKind.DISTRICT \
            or not district.is_active:
        raise ApplicationError(_("Please choose the district or county where it happened."),
                               code="district_required", field="district")
    lat = _coordinate(latitude, field="latitude", limit=90)
    lng = _coordinate(longitude, field="longitude", limit=180)
    if (lat is None) != (lng is None):
        raise ApplicationError(_("The map position is not valid. Please pick the place again."),
                               code="coordinates_invalid", field="latitude")
    if category is not None and (getattr(category, "pk", None) is None or not category.is_active):
        raise ApplicationError(_("Please choose an active category."), code="category_invalid", field="category")
    if urgency is None:
        urgency = category.default_urgency if category is not None else Urgency.NORMAL
    if urgency not in Urgency.values:
        raise ApplicationError(_("Please choose the urgency."), code="urgency_invalid", field="urgency")

    contact_name = _text(contact_name, field="contact_name", max_length=NAME_MAX, required_message="")
    phone = (contact_phone or "").strip()
    if phone:
        try:
            validate_phone(phone)
        except ValidationError as exc:
            raise ApplicationError(exc.messages[0], code="phone_format", field="contact_phone") from None
        phone = normalise_phone(phone)
    if not phone and reporter is None:
        raise ApplicationError(_("Please leave a mobile number so that we can tell you the outcome."),
                               code="contact_required", field="contact_phone")
    if anonymous:
        contact_name = ""

    from onecity.hotline.services import dispatch  # (attribute read at call time: the demo's replay swaps it)

    awaiting = dispatch.smart_dispatch_wanted(category)
    case = insert_row(Case(
        tracking_number=tracking_number_next(now=now), channel=channel, state=CaseState.REGISTERED, title=title,
        text=text, category=category, district=district, address=address, latitude=lat, longitude=lng,
        reporter=reporter, registered_by=actor if getattr(actor, "pk", None) else None, anonymous=bool(anonymous),
        contact_name=contact_name, contact_phone=phone,
        contact_phone_hash=lookup_hash(phone, purpose="phone") if phone else "",
        urgency=urgency, awaiting_classifier=awaiting, state_entered_at=now, created_at=now, updated_at=now,
    ))
    event_write(case=case, actor=actor, action=Action.REGISTER, to_state=CaseState.REGISTERED, at=now,
                data={"channel": channel})
    if awaiting:  # classified and routed by the worker, after commit (services/dispatch.py)
        from onecity.hotline.tasks import smart_dispatch_soon

        transaction.on_commit(smart_dispatch_soon)
    return case
