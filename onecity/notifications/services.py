"""Writes of the notifications app: the outbox.

Other apps call `message_enqueue`; delivery happens in the worker (tasks.message_deliver_task)
after the caller's transaction commits, so a rolled-back action never sends anything.

Delivery states (enums.MessageState)::

    queued ──claim──▶ sending ──gateway ok──▶ delivered
      ▲                  │
      └─ transient error ┤ (attempts left: back to queued, retried by Huey with back-off)
                         └──────────────────▶ failed  (permanent error, or attempts used up)

In-app messages have no gateway: they are delivered when enqueued. Every transition is a
conditional UPDATE on the current state, so a duplicate job (a Huey retry racing the
stuck-message job, two workers) can never send one message twice at the same time: only one
claim wins. `attempts` counts claims, including a claim whose worker died mid-send, so a
message is tried at most MAX_ATTEMPTS times.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, NotFound
from onecity.core.masking import mask_phone, mask_text
from onecity.core.validators import normalise_phone, validate_phone
from onecity.notifications.dto import OutboxMessage
from onecity.notifications.enums import Channel, MessageState
from onecity.notifications.gateways import GatewayError, gateway_for
from onecity.notifications.models import Message

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 30  # 30 s, 60 s, 120 s, 240 s between the five attempts
STUCK_AFTER = dt.timedelta(minutes=5)  # longer than the longest retry delay


def _mask_email(address: str) -> str:
    local, _sep, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else (address[:1] + "***" if address else "")


def retry_delay_seconds(attempts: int) -> int:
    """Back-off before the next attempt after `attempts` failed ones."""
    return RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)


def _schedule_delivery(message_id: int) -> None:
    from onecity.notifications.tasks import message_deliver_task

    transaction.on_commit(lambda: message_deliver_task(message_id))


def _outbox_row(*, channel: str, template: str, body: str, recipient=None, address: str = "", subject: str = "",
                now) -> Message:
    """A checked, unsaved outbox row (ApplicationError for a missing or malformed address)."""
    address = (address or "").strip()
    if channel == Channel.SMS:
        try:
            validate_phone(address)
        except ValidationError as exc:
            raise ApplicationError(exc.messages[0], code="phone_format", field="address") from None
        address = normalise_phone(address)
        masked, address_hash = mask_phone(address), lookup_hash(address, purpose="phone")
    elif channel == Channel.EMAIL:
        if "@" not in address:
            raise ApplicationError(_("An e-mail needs an e-mail address."), code="message_address",
                                   field="address")
        masked, address_hash = _mask_email(address), ""
    elif channel == Channel.IN_APP:
        if recipient is None:
            raise ApplicationError(_("An in-app message needs a recipient."), code="message_recipient")
        masked, address_hash = "", ""
    else:
        raise ApplicationError(_("Unknown message channel."), code="message_channel")

    in_app = channel == Channel.IN_APP
    return Message(
        channel=channel,
        recipient=recipient,
        address=address,
        address_masked=masked,
        address_hash=address_hash,
        template=template,
        subject=subject,
        body=body,
        state=MessageState.DELIVERED if in_app else MessageState.QUEUED,
        state_changed_at=now,
        sent_at=now if in_app else None,
        created_at=now,
    )


@transaction.atomic
def message_enqueue(*, channel: str, template: str, body: str, recipient=None, address: str = "",
                    subject: str = "") -> Message:
    """Put a message in the outbox and schedule its delivery after commit.

    SMS needs a mobile number in `address`, e-mail an address, in-app a `recipient` user.
    """
    message = _outbox_row(channel=channel, template=template, body=body, recipient=recipient, address=address,
                          subject=subject, now=timezone.now())
    message.save(force_insert=True)
    if message.channel != Channel.IN_APP:
        _schedule_delivery(message.pk)
    return message


@transaction.atomic(savepoint=False)
def message_enqueue_many(*, messages: list[OutboxMessage]) -> list[Message]:
    """`message_enqueue` for several messages at once: every message checked first (one bad
    address and none is queued), then one INSERT, and each delivery scheduled after commit.
    Called inside another service's transaction (a transactional outbox) it adds no savepoint:
    a failure here fails that whole action."""
    now = timezone.now()
    rows = [_outbox_row(channel=m.channel, template=m.template, body=m.body, recipient=m.recipient,
                        address=m.address, subject=m.subject, now=now) for m in messages]
    if not rows:
        return []
    created = Message.objects.bulk_create(rows)
    for message in created:
        if message.channel != Channel.IN_APP:
            _schedule_delivery(message.pk)
    return created


def message_deliver(*, message_id: int) -> Message | None:
    """Send one queued message through its channel's gateway; return it in its new state.

    Idempotent: a message that is not queued (already sending elsewhere, delivered, failed) is
    returned untouched. After a transient failure with attempts left the message is queued
    again and the caller (the Huey task) schedules the retry. A message that no longer exists
    gives None."""
    now = timezone.now()
    claimed = Message.objects.filter(
        pk=message_id, state=MessageState.QUEUED, attempts__lt=MAX_ATTEMPTS,
    ).update(state=MessageState.SENDING, attempts=F("attempts") + 1, state_changed_at=now)
    message = Message.objects.filter(pk=message_id).first()
    if message is None or not claimed:
        return message

    try:
        ref = gateway_for(message.channel).send(to=message.address, subject=message.subject,
                                                body=message.body)
    except Exception as exc:  # noqa: BLE001 - any gateway failure is recorded; retried unless permanent
        permanent = isinstance(exc, GatewayError) and exc.permanent
        reason = exc.reason if isinstance(exc, GatewayError) else f"{type(exc).__name__}: {exc}"
        final = permanent or message.attempts >= MAX_ATTEMPTS
        Message.objects.filter(pk=message_id, state=MessageState.SENDING).update(
            state=MessageState.FAILED if final else MessageState.QUEUED,
            last_error=mask_text(reason)[:300],
            state_changed_at=timezone.now(),
        )
        logger.warning("message %s to %s attempt %s failed (%s): %s", message.public_id,
                       message.address_masked, message.attempts, "final" if final else "will retry",
                       mask_text(reason)[:300])
        message.refresh_from_db()
        return message

    Message.objects.filter(pk=message_id, state=MessageState.SENDING).update(
        state=MessageState.DELIVERED, provider_ref=str(ref)[:64], last_error="",
        sent_at=timezone.now(), state_changed_at=timezone.now(),
    )
    logger.info("message %s (%s) delivered to %s on attempt %s", message.public_id, message.template,
                message.address_masked, message.attempts)
    message.refresh_from_db()
    return message


@dataclass(frozen=True)
class RequeueResult:
    requeued: list[int]  # message ids queued again and scheduled for delivery
    failed: list[int]  # message ids given up on (attempts used up)


@transaction.atomic
def message_requeue_stuck(*, older_than: dt.datetime | None = None) -> RequeueResult:
    """Recover messages whose job was lost: queued or sending since before `older_than`
    (default: now - STUCK_AFTER). A worker that died mid-send leaves `sending`; a lost queue
    (broker flushed, queue file deleted) leaves `queued`. Messages with attempts left are queued
    again and scheduled; the others fail with a clear reason. Safe to run any number of times."""
    older_than = older_than or timezone.now() - STUCK_AFTER
    now = timezone.now()
    stuck = Message.objects.filter(
        state__in=[MessageState.QUEUED, MessageState.SENDING], state_changed_at__lt=older_than,
    ).exclude(channel=Channel.IN_APP)
    requeued: list[int] = []
    failed: list[int] = []
    for pk, state, attempts in stuck.values_list("pk", "state", "attempts"):
        if attempts >= MAX_ATTEMPTS:
            changed = Message.objects.filter(pk=pk, state=state, state_changed_at__lt=older_than).update(
                state=MessageState.FAILED, state_changed_at=now,
                last_error="delivery did not finish after the last attempt",
            )
            if changed:
                failed.append(pk)
            continue
        changed = Message.objects.filter(pk=pk, state=state, state_changed_at__lt=older_than).update(
            state=MessageState.QUEUED, state_changed_at=now,
        )
        if changed:
            requeued.append(pk)
            _schedule_delivery(pk)
    if requeued or failed:
        logger.warning("outbox recovery: %s message(s) queued again, %s failed", len(requeued), len(failed))
    return RequeueResult(requeued=requeued, failed=failed)


def message_mark_read(*, actor, message: Message) -> bool:
    """Mark one of the actor's messages read. Returns False when it already was."""
    if message.recipient_id is None or message.recipient_id != getattr(actor, "pk", None):
        raise NotFound()
    return bool(
        Message.objects.filter(pk=message.pk, recipient=actor, read_at__isnull=True).update(
            read_at=timezone.now()
        )
    )


def message_mark_all_read(*, actor) -> int:
    """Mark every unread message of the actor read; returns how many changed."""
    return Message.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())

