"""Refunds a channel left processing, settled by hand by an administrator once the channel
confirmed the result (services/refunds.py `refund_resolve`, page /pay/clearing/refunds/): only
after PAYMENTS_REFUND_RESOLVE_AFTER_HOURS, only by an administrator, only with a note; refunded
has every effect of a success, not refunded frees the held amount; anything refused changes
nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from onecity.core.errors import ApplicationError, NotFound, PermissionDenied
from onecity.core.models import AuditEvent
from onecity.identity.enums import Role
from onecity.payments.models import Bill, Refund
from onecity.payments.selectors import refund_remaining_fen
from onecity.payments.services.refunds import refund_resolve
from onecity.payments.tests.support import make_staff
from onecity.payments.tests.test_refunds import balances
from onecity.payments.tests.test_refunds import channel_keys as channel_keys  # noqa: F401 - fixture
from onecity.payments.tests.test_refunds import sandbox_on as sandbox_on  # noqa: F401 - autouse fixture
from onecity.payments.tests.test_refunds_processing import clock as clock  # noqa: F401 - fixture
from onecity.payments.tests.test_refunds_processing import everything, processing
from onecity.payments.tests.test_refunds_processing import later as later  # noqa: F401 - autouse fixture
from onecity.payments.tests.test_refunds_processing import second as second  # noqa: F401 - fixture

NOTE = "支付宝商户平台查询：退款成功，客服工单 20261124-0031（张敏确认）"


@pytest.fixture(params=[Role.FINANCE, Role.ADMINISTRATOR])
def admin(city, request):
    """Who settles a stuck refund: the platform's finance staff, and administrators."""
    return make_staff(request.param, username="finance-admin", org=city.school)


@pytest.fixture
def auditor(city):
    return make_staff(Role.AUDITOR, username="finance-auditor", org=city.school)


@pytest.fixture
def stuck(city, clock, second, settings):
    """An Alipay refund of ¥500 processing for a full day (the wait), its query never settling it."""
    settings.PAYMENTS_REFUND_RESOLVE_AFTER_HOURS = 24
    attempt, refund = processing(city, second, "alipay")
    clock.advance(hours=24)
    return attempt, refund


def test_refunded_has_every_effect_of_a_success(city, clock, admin, stuck):
    attempt, refund = stuck
    refund = refund_resolve(actor=admin, refund_id=refund.public_id, refunded=True, note=NOTE)
    attempt.refresh_from_db()
    assert (refund.state, refund.failure_code, refund.finished_at) == ("succeeded", "", clock.now)
    assert (attempt.refunded_fen, Bill.objects.get(pk=attempt.bill_id).refunded_fen) == (50000, 50000)
    assert balances(attempt) == (200000, 200000)  # the ledger reversal, as for a channel's own answer
    audit = AuditEvent.objects.get(object_id=refund.public_id, action="payments.refund_resolved")
    assert (audit.actor_id, audit.detail) == (admin.pk, {"refunded": True, "note": NOTE, "amount_fen": 50000})
    assert AuditEvent.objects.get(object_id=refund.public_id, action="payments.refund_succeeded").actor_id == admin.pk


def test_not_refunded_frees_the_held_amount_and_changes_nothing_else(city, clock, admin, stuck):
    attempt, refund = stuck
    assert refund_remaining_fen(attempt) == 200000
    before = everything()
    refund = refund_resolve(actor=admin, refund_id=refund.public_id, refunded=False, note=NOTE)
    assert (refund.state, refund.failure_code) == ("failed", "confirmed_not_refunded")
    assert refund_remaining_fen(attempt) == 250000
    snapshot, money, audits = before
    assert everything()[1] == money  # no ledger entry
    assert AuditEvent.objects.count() == audits + 2  # refund_failed and refund_resolved


@pytest.mark.parametrize(("who", "refunded", "note", "advance", "error"), [
    ("second", True, NOTE, 0, PermissionDenied),  # a cashier, even of the unit
    ("auditor", True, NOTE, 0, PermissionDenied),  # reads, does not act
    ("admin", True, "  ", 0, "note_required"),
    ("admin", True, "长" * 301, 0, "note_too_long"),
    ("admin", False, NOTE, -1, "refund_too_recent"),  # a second short of the wait
])
def test_refused_resolutions_change_nothing(city, clock, admin, auditor, second, stuck, who, refunded, note,
                                            advance, error):
    attempt, refund = stuck
    actor = {"second": second, "auditor": auditor, "admin": admin}[who]
    clock.advance(seconds=advance)
    before = everything()
    with pytest.raises(PermissionDenied if error is PermissionDenied else ApplicationError) as exc:
        refund_resolve(actor=actor, refund_id=refund.public_id, refunded=refunded, note=note)
    if error is not PermissionDenied:
        assert exc.value.code == error
    assert everything() == before
    assert Refund.objects.get(pk=refund.pk).state == "processing"


def test_only_a_processing_refund_and_only_once(city, clock, admin, stuck):
    attempt, refund = stuck
    refund_resolve(actor=admin, refund_id=refund.public_id, refunded=True, note=NOTE)
    before = everything()
    with pytest.raises(ApplicationError) as exc:
        refund_resolve(actor=admin, refund_id=refund.public_id, refunded=False, note=NOTE)
    assert (exc.value.code, exc.value.status) == ("refund_state", 409)
    with pytest.raises(NotFound):
        refund_resolve(actor=admin, refund_id="01NOSUCHREFUND000000000000", refunded=True, note=NOTE)
    assert everything() == before


def test_the_page_lists_waiting_refunds_and_an_administrator_settles_one(client, city, clock, admin, auditor,
                                                                         second, stuck):
    attempt, refund = stuck
    url = reverse("payments:clearing_refunds")
    client.force_login(auditor)
    page = client.get(url).content.decode()
    assert refund.public_id not in page and "nav-badge" not in page  # no form, no count for an auditor
    assert "¥500.00" in page and "The platform's finance staff settle it." in page
    assert client.post(reverse("payments:clearing_refund_resolve", args=[refund.public_id]),
                       {"outcome": "refunded", "note": NOTE}).status_code == 403
    client.force_login(second)
    assert client.get(url).status_code == 403  # cashiers do not see the platform's page
    client.force_login(admin)
    page = client.get(url).content.decode()
    assert reverse("payments:clearing_refund_resolve", args=[refund.public_id]) in page
    assert '<span class="nav-badge">1<span class="visually-hidden"> refunds to settle by hand</span></span>' in page
    response = client.post(reverse("payments:clearing_refund_resolve", args=[refund.public_id]),
                           {"outcome": "refunded", "note": NOTE}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert "Refund settled by hand: Refunded." in response.content.decode()
    assert Refund.objects.get(pk=refund.pk).state == "succeeded"
    page = client.get(url).content.decode()
    assert "No refund is waiting for its channel." in page and "nav-badge" not in page


def test_a_refund_still_within_the_wait_shows_no_form(client, city, clock, admin, second, settings):
    settings.PAYMENTS_REFUND_RESOLVE_AFTER_HOURS = 24
    attempt, refund = processing(city, second, "alipay")
    client.force_login(admin)
    page = client.get(reverse("payments:clearing_refunds")).content.decode()
    assert "Waiting for the channel's answer." in page and "nav-badge" not in page  # not due yet
    assert reverse("payments:clearing_refund_resolve", args=[refund.public_id]) not in page
