import base64

import pytest

from onecity.identity.services.api_clients import api_client_create
from onecity.payments.models import Bill, PaymentAttempt
from onecity.payments.services.partners import partner_client_link
from onecity.payments.tests.support import issue

BODY = {"kind": "tuition", "title": "2026年秋季学期学费", "amount_fen": 250000, "due_date": "2026-12-31",
        "resident_phone": "13800138000", "external_ref": "API-1"}


def _token(client, credentials) -> str:
    basic = base64.b64encode(f"{credentials.client_id}:{credentials.client_secret}".encode()).decode()
    response = client.post("/o/token/", {"grant_type": "client_credentials", "scope": "api"},
                           HTTP_AUTHORIZATION="Basic " + basic)
    assert response.status_code == 200, response.content
    return "Bearer " + response.json()["access_token"]


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """A fast hasher for people, the real one for client secrets (the token endpoint checks them)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "onecity.core.hashers.ClientSecretHasher"]


@pytest.fixture
def school_api(client, city):
    credentials = api_client_create(actor=None, name="一中收费系统")
    partner_client_link(actor=None, client_id=credentials.client_id, payee_public_id=city.school.public_id)
    return _token(client, credentials)


@pytest.fixture
def hospital_api(client, city):
    credentials = api_client_create(actor=None, name="省立医院HIS")
    partner_client_link(actor=None, client_id=credentials.client_id, payee_public_id=city.hospital.public_id)
    return _token(client, credentials)


def post(client, path, body, auth, key="k-1"):
    headers = {"Authorization": auth}
    if key:
        headers["Idempotency-Key"] = key
    return client.post(path, body, content_type="application/json", headers=headers)


def test_bill_create_is_idempotent(client, city, school_api):
    first = post(client, "/api/v1/payments/bills", BODY, school_api)
    assert first.status_code == 201, first.content
    again = post(client, "/api/v1/payments/bills", BODY, school_api)
    assert (again.status_code, again.json()) == (201, first.json())
    assert Bill.objects.count() == 1
    body = first.json()
    assert (body["amount_fen"], body["state"], body["payer_masked"]) == (250000, "issued", "138****8000")


def test_same_key_different_body_is_422(client, city, school_api):
    post(client, "/api/v1/payments/bills", BODY, school_api)
    response = post(client, "/api/v1/payments/bills", {**BODY, "amount_fen": 1}, school_api)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_mismatch"
    assert Bill.objects.get().amount_fen == 250000


def test_missing_key_is_400(client, city, school_api):
    response = post(client, "/api/v1/payments/bills", BODY, school_api, key="")
    assert (response.status_code, response.json()["code"]) == (400, "idempotency_key_required")
    assert Bill.objects.count() == 0


def test_attempt_create_idempotent_and_other_payee_404(client, city, school_api, hospital_api):
    bill = issue(city)
    body = {"bill_id": bill.public_id, "channel": "unionpay", "amount_fen": 250000}
    first = post(client, "/api/v1/payments/attempts", body, school_api, key="att-1")
    assert first.status_code == 201, first.content
    again = post(client, "/api/v1/payments/attempts", body, school_api, key="att-1")
    assert again.json() == first.json() and PaymentAttempt.objects.count() == 1
    mismatch = post(client, "/api/v1/payments/attempts", {**body, "channel": "alipay"}, school_api, key="att-1")
    assert mismatch.status_code == 422
    other = post(client, "/api/v1/payments/attempts", body, hospital_api, key="att-2")
    assert other.status_code == 404 and PaymentAttempt.objects.count() == 1
    assert client.get(f"/api/v1/payments/bills/{bill.public_id}", headers={"Authorization": hospital_api}
                      ).status_code == 404
    assert client.get(f"/api/v1/payments/bills/{bill.public_id}", headers={"Authorization": school_api}
                      ).json()["amount_fen"] == 250000
