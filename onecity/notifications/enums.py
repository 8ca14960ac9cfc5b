from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    IN_APP = "in_app", _("In-app")
    EMAIL = "email", _("Email")


class MessageState(models.TextChoices):
    """queued → sending → delivered | failed (retried until attempts run out)."""

    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
