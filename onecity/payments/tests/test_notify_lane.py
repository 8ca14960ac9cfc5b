"""The notify endpoints through the WSGI application as gunicorn calls it: the callback lane
(onecity.core.callbacks) serves them without the browser middleware, checks the Host header,
answers errors in the channel's terms, and leaves every other path to the full stack."""

from __future__ import annotations

import io

import pytest

from onecity.payments.models import ChannelNotification
from onecity.payments.tests.support import pending_attempts_bulk, sandbox_notifications
from onecity.wsgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def call(path: str, *, method: str = "POST", body: bytes = b"", headers: dict[str, str] | None = None,
         host: str = "127.0.0.1:8000"):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": host, "REMOTE_ADDR": "127.0.0.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(response_headers)

    answer["body"] = b"".join(application(environ, start_response))
    return answer


@pytest.fixture
def signed(settings):
    settings.PAYMENTS_SANDBOX = True
    attempts = pending_attempts_bulk(2, payees=1, amount_fen=1500, tag="L")
    return sandbox_notifications([(a.channel, a.public_id) for a in attempts], amount_fen=1500, tag="L")


def test_a_notification_is_taken_in_without_the_browser_middleware(signed):
    channel, headers, body = signed[0]
    answer = call(f"/pay/notify/{channel}/", body=body, headers=headers)
    assert answer["status"] == "204 No Content"
    assert answer["body"] == b""
    # no session cookie, no language or cookie negotiation, no security headers of the full stack
    assert "Set-Cookie" not in answer["headers"]
    assert "Vary" not in answer["headers"]
    assert "Content-Language" not in answer["headers"]
    assert "X-Frame-Options" not in answer["headers"]
    row = ChannelNotification.objects.get()
    assert (row.channel, row.verified, row.body.encode()) == (channel, True, body)


def test_a_host_not_allowed_is_refused_and_nothing_is_stored(signed):
    channel, headers, body = signed[1]
    answer = call(f"/pay/notify/{channel}/", body=body, headers=headers, host="evil.example.com")
    assert answer["status"] == "400 Bad Request"
    assert ChannelNotification.objects.count() == 0


def test_an_unknown_channel_or_method_is_refused_and_nothing_is_stored(signed):
    channel, headers, body = signed[1]
    assert call("/pay/notify/paypal/", body=body, headers=headers)["status"] == "404 Not Found"
    assert call(f"/pay/notify/{channel}/", method="GET")["status"] == "405 Method Not Allowed"
    assert ChannelNotification.objects.count() == 0


def test_other_paths_still_go_through_the_full_stack():
    answer = call("/healthz", method="GET")
    assert answer["status"] == "200 OK"
    assert answer["headers"]["X-Frame-Options"] == "DENY"
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff"
