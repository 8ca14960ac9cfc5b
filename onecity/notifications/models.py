"""The notifications outbox: every SMS, in-app or email message, with its delivery state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecity.core.fields import EncryptedTextField
from onecity.core.ids import new_public_id
from onecity.notifications.enums import Channel, MessageState


class Message(models.Model):
    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="messages")
    address = EncryptedTextField(_("address"), blank=True)  # phone number or e-mail, encrypted
    address_masked = models.CharField(_("address"), max_length=64, blank=True)
    # Keyed hash of the normalised phone number (crypto.lookup_hash purpose "phone") so the
    # development SMS inbox can filter by number without decrypting every row.
    address_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    template = models.CharField(_("template"), max_length=64)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = EncryptedTextField(_("body"))
    state = models.CharField(_("state"), max_length=10, choices=MessageState.choices, default=MessageState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_ref = models.CharField(max_length=64, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    state_changed_at = models.DateTimeField(default=timezone.now)  # drives the stuck-message job
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["state", "created_at"]),
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(fields=["state", "state_changed_at"], name="notif_msg_state_changed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.template} {self.state}"
