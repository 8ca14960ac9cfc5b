"""audit_record (one row) and audit_record_many (a batch of rows made by audit_event): the one way
to write audit rows. Call them inside the service's transaction."""

from __future__ import annotations

from typing import Any

from onecity.core.masking import mask_text
from onecity.core.models import AuditEvent


def audit_event(*, actor, action: str, subject_user=None, object_type: str = "", object_id: str = "",
                reason: str = "", ip: str | None = None, detail: dict[str, Any] | None = None) -> AuditEvent:
    """The row `audit_record` writes, not yet saved (masked the same way): for `audit_record_many`."""
    return AuditEvent(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        subject_user=subject_user,
        object_type=object_type,
        object_id=str(object_id),
        reason=mask_text(reason)[:300],
        ip=ip or None,
        detail={k: mask_text(v) if isinstance(v, str) else v for k, v in (detail or {}).items()},
    )


def audit_record(**fields) -> AuditEvent:
    """Write one audit row; keyword arguments as `audit_event`."""
    event = audit_event(**fields)
    event.save(force_insert=True)
    return event


def audit_record_many(events: list[AuditEvent]) -> None:
    """Write rows made by `audit_event` in one INSERT (a batch service's audit trail)."""
    AuditEvent.objects.bulk_create(events)


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None
