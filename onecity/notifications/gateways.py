"""Delivery gateways: the one place where a message leaves OneCity.

The protocol
------------
A gateway is a class instantiated without arguments that implements::

    send(*, to: str, subject: str, body: str) -> str

`to` is the normalised address (an 11-digit mainland mobile number for SMS, an e-mail address
for e-mail), `subject` is empty for SMS, `body` is the final text (already signed, e.g.
"【e福州】..."). It returns the provider's reference for the message (at most 64 characters,
stored in `Message.provider_ref` for support and reconciliation with the provider's delivery
report). It signals failure by raising `GatewayError`: `permanent=True` when retrying cannot
help (number not in service, template rejected, account suspended), `permanent=False` for
transient trouble (timeouts, throttling, 5xx). Any other exception is treated as transient.
The outbox (services.message_deliver) owns the states, attempts and retries; a gateway only
sends once per call and never logs the address or the body.

Choosing the SMS gateway
------------------------
`settings.SMS_GATEWAY` (environment `ONECITY_SMS_GATEWAY`) is the dotted path of the class.
The default, `DevInboxGateway`, sends nothing: the outbox row itself is the delivered SMS and
the development SMS inbox page (/notifications/dev/sms/, only when ONECITY_DEV_INBOX=1) shows
it, so a demo runs without an SMS contract.

Adding a real SMS provider
--------------------------
Write the adapter in its own module, e.g. `onecity/notifications/providers/<provider>.py`,
with the provider's official SDK or its documented HTTPS API: read credentials, the signature
name (短信签名) and the template codes (短信模板) from the environment in `__init__`, map
OneCity's message to the provider's template parameters, return the provider's message id
(BizId / SerialNo ...), and translate the provider's error codes into `GatewayError` with the
right `permanent` flag. Then set ONECITY_SMS_GATEWAY to its dotted path. Mainland providers
require pre-approved templates, so keep the templates in identity/services/otp.py in step
with the approved ones.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from onecity.core.ids import new_public_id
from onecity.notifications.enums import Channel


class GatewayError(Exception):
    """A gateway could not send the message. `permanent` says whether retrying is pointless."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@runtime_checkable
class Gateway(Protocol):
    def send(self, *, to: str, subject: str, body: str) -> str: ...


class DevInboxGateway:
    """Development SMS gateway: sends nothing and accepts every message. The outbox row is the
    delivered message; the development SMS inbox page shows it."""

    def send(self, *, to: str, subject: str, body: str) -> str:
        return f"dev-{new_public_id()}"


class DjangoEmailGateway:
    """E-mail through Django's mail framework (settings.EMAIL_BACKEND, EMAIL_HOST ...)."""

    def send(self, *, to: str, subject: str, body: str) -> str:
        email = EmailMessage(subject=subject, body=body, to=[to])
        message_id = email.message()["Message-ID"]
        email.extra_headers["Message-ID"] = message_id
        try:
            email.send(fail_silently=False)
        except OSError as exc:  # SMTP and socket errors: transient
            raise GatewayError(type(exc).__name__) from exc
        return str(message_id)[:64]


def gateway_for(channel: str) -> Gateway:
    """The gateway instance for a channel (SMS: settings.SMS_GATEWAY)."""
    if channel == Channel.SMS:
        return import_string(settings.SMS_GATEWAY)()
    if channel == Channel.EMAIL:
        return DjangoEmailGateway()
    raise ValueError(f"channel {channel!r} has no delivery gateway")
