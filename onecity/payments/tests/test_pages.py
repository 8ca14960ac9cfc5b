import pytest
from django.urls import reverse

from onecity.payments.models import Bill, PaymentAttempt
from onecity.payments.services.codes import code_dynamic_issue, code_static_issue
from onecity.payments.tests.support import issue

ALIPAY = "Mozilla/5.0 (iPhone) AlipayClient/10.5.90"


def login(client, user):
    client.force_login(user)
    return client


def test_resident_sees_and_pays_own_bill(client, city):
    bill = issue(city)
    login(client, city.resident)
    page = client.get(reverse("payments:bills"))
    assert page.status_code == 200 and "2026年秋季学期学费" in page.content.decode()
    detail = client.get(reverse("payments:bill", args=[bill.public_id]))
    assert detail.status_code == 200 and "<svg" in detail.content.decode()
    response = client.post(reverse("payments:bill_pay", args=[bill.public_id]), {"channel": "wechat", "idem": "i-1"})
    attempt = PaymentAttempt.objects.get()
    # the sandbox is on in tests: the pay button leads to its cashier, which returns to the attempt page
    cashier = reverse("payments:sandbox_cashier", args=["wechat", attempt.public_id])
    back = reverse("payments:attempt", args=[attempt.public_id])
    assert response.status_code == 302 and response["Location"] == f"{cashier}?next={back.replace('/', '%2F')}"
    assert (attempt.state, attempt.channel, attempt.amount_fen) == ("pending", "wechat", 250000)


def test_other_resident_gets_404_and_nothing_changes(client, city):
    bill = issue(city)
    login(client, city.other_resident)
    assert client.get(reverse("payments:bill", args=[bill.public_id])).status_code == 404
    response = client.post(reverse("payments:bill_pay", args=[bill.public_id]), {"channel": "alipay", "idem": "x"})
    assert response.status_code == 404
    assert PaymentAttempt.objects.count() == 0
    assert client.get(reverse("payments:bills")).content.decode().count("2026年秋季学期学费") == 0


def test_other_payee_cashier_gets_404_and_nothing_changes(client, city):
    bill = issue(city)
    login(client, city.other_cashier)
    assert client.get(reverse("payments:console_bill", args=[bill.public_id])).status_code == 404
    response = client.post(reverse("payments:console_bill_cancel", args=[bill.public_id]), {"reason": "x"})
    assert response.status_code == 404
    bill.refresh_from_db()
    assert bill.state == "issued"
    assert "2026年秋季学期学费" not in client.get(reverse("payments:console")).content.decode()


def test_console_issue_and_cancel(client, city):
    login(client, city.cashier)
    response = client.post(reverse("payments:console_bill_new"), {
        "kind": "tuition", "title": "校服费", "amount": "12.345", "due_date": "2026-12-31",
        "resident_phone": "13800138000"})
    assert response.status_code == 422 and Bill.objects.count() == 0
    response = client.post(reverse("payments:console_bill_new"), {
        "kind": "tuition", "title": "校服费", "amount": "320", "due_date": "2026-12-31",
        "resident_phone": "13800138000"})
    bill = Bill.objects.get()
    assert response.status_code == 302 and bill.amount_fen == 32000
    assert client.get(reverse("payments:console_bill", args=[bill.public_id])).status_code == 200
    client.post(reverse("payments:console_bill_cancel", args=[bill.public_id]), {"reason": "开错了"})
    bill.refresh_from_db()
    assert bill.state == "cancelled"


def test_console_pages_and_exports(client, city):
    issue(city, resident_phone="13700137000", payer_name="陈小明")
    login(client, city.cashier)
    for name in ("payments:console", "payments:console_import", "payments:console_collections",
                 "payments:console_static_code", "payments:console_bill_new"):
        assert client.get(reverse(name)).status_code == 200, name
    csv = client.get(reverse("payments:console_export", args=["csv"])).content.decode("utf-8-sig")
    assert "陈**" in csv and "137****7000" in csv and "13700137000" not in csv and "陈小明" not in csv
    xlsx = client.get(reverse("payments:console_export", args=["xlsx"]))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get(reverse("payments:console_export", args=["pdf"])).status_code == 404


def test_console_needs_cashier_role(client, city):
    login(client, city.resident)
    assert client.get(reverse("payments:console")).status_code == 403


@pytest.mark.parametrize(("ua", "template_text"), [
    (ALIPAY, "用支付宝支付"), ("MicroMessenger/8.0", "用微信支付"), ("UnionPay/1.0", "用银联支付"),
    ("eFuzhou/3.2.0", "用e福州 App支付"),
])
def test_code_url_routes_by_app(client, city, ua, template_text):
    bill = issue(city)
    issued = code_dynamic_issue(actor=None, bill_id=bill.public_id)
    page = client.get(reverse("payments:code", args=[issued.token]), headers={"User-Agent": ua})
    assert page.status_code == 200 and template_text in page.content.decode()
    assert f'action="{reverse("payments:code_pay", args=[issued.token])}"' in page.content.decode()


def test_code_url_in_browser_explains_and_cannot_pay(client, city):
    bill = issue(city)
    issued = code_dynamic_issue(actor=None, bill_id=bill.public_id)
    page = client.get(reverse("payments:code", args=[issued.token]), headers={"User-Agent": "Mozilla/5.0 Firefox/133"})
    body = page.content.decode()
    assert page.status_code == 200 and "138****8000" in body and "13800138000" not in body
    assert client.post(reverse("payments:code_pay", args=[issued.token]), {"idem": "b"}).status_code == 400
    assert PaymentAttempt.objects.count() == 0


def test_code_pay_from_alipay_and_images(client, city):
    bill = issue(city)
    issued = code_dynamic_issue(actor=None, bill_id=bill.public_id)
    response = client.post(reverse("payments:code_pay", args=[issued.token]), {"idem": "z1"},
                           headers={"User-Agent": ALIPAY})
    attempt = PaymentAttempt.objects.get()
    assert response.status_code == 302 and (attempt.channel, attempt.amount_fen, attempt.payer_id) == (
        "alipay", 250000, None)
    assert client.get(response["Location"], headers={"User-Agent": ALIPAY}).status_code == 200
    svg = client.get(reverse("payments:code_svg", args=[issued.token]))
    png = client.get(reverse("payments:code_png", args=[issued.token]))
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert png["Content-Type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_static_code_payment(client, city):
    issued = code_static_issue(actor=city.cashier)
    url = reverse("payments:code_pay", args=[issued.token])
    assert client.post(url, {"idem": "s1", "amount": "abc"}, headers={"User-Agent": ALIPAY}).status_code == 422
    response = client.post(url, {"idem": "s2", "amount": "15.5"}, headers={"User-Agent": ALIPAY})
    attempt = PaymentAttempt.objects.get()
    assert response.status_code == 302 and (attempt.bill_id, attempt.payee_id, attempt.amount_fen) == (
        None, city.school.pk, 1550)


def test_tampered_and_expired_code_pages(client, city, clock):
    bill = issue(city)
    issued = code_dynamic_issue(actor=None, bill_id=bill.public_id)
    bad = client.get(reverse("payments:code", args=[issued.token[:-2] + "xx"]))
    assert bad.status_code == 404 and "这个支付码无效" in bad.content.decode()
    clock.advance(minutes=16)
    expired = client.get(reverse("payments:code", args=[issued.token]))
    assert expired.status_code == 410 and "这个支付码已过期" in expired.content.decode()
    assert client.post(reverse("payments:code_pay", args=[issued.token]), {"idem": "e"},
                       headers={"User-Agent": ALIPAY}).status_code == 410
    assert PaymentAttempt.objects.count() == 0


def test_attempt_page_only_for_its_payer(client, city):
    bill = issue(city)
    login(client, city.resident)
    client.post(reverse("payments:bill_pay", args=[bill.public_id]), {"channel": "alipay", "idem": "i-9"})
    attempt = PaymentAttempt.objects.get()
    url = reverse("payments:attempt", args=[attempt.public_id])
    page = client.get(url)
    # pending: the page polls itself until the channel's notification has been applied
    assert page.status_code == 200 and f'hx-get="{url}" hx-trigger="every 2s"' in page.content.decode()
    PaymentAttempt.objects.filter(pk=attempt.pk).update(state="succeeded")
    assert "hx-trigger" not in client.get(url).content.decode()
    client.force_login(city.other_resident)
    assert client.get(reverse("payments:attempt", args=[attempt.public_id])).status_code == 404
