"""audit_record: the one way to write an audit row (call it inside the service's transaction)."""

from __future__ import annotations

from typing import Any

from onecity.core.masking import mask_text
from onecity.core.models import AuditEvent


def audit_record(*, actor, action: str, subject_user=None, object_type: str = "", object_id: str = "",
                 reason: str = "", ip: str | None = None, detail: dict[str, Any] | None = None) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        subject_user=subject_user,
        object_type=object_type,
        object_id=str(object_id),
        reason=mask_text(reason)[:300],
        ip=ip or None,
        detail={k: mask_text(v) if isinstance(v, str) else v for k, v in (detail or {}).items()},
    )


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None
