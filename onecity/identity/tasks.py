"""Periodic identity housekeeping. Jobs call services and are idempotent."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from onecity.identity.services.otp import otp_purge_expired

# Expired codes are kept a day so a late attempt still hears "this code has expired" rather
# than "request a code first"; after that they are useless and are deleted.
OTP_KEEP_EXPIRED = dt.timedelta(days=1)


@db_periodic_task(crontab(minute="17"))
@lock_task("identity-otp-purge")
def otp_purge_expired_task() -> int:
    """Hourly: delete one-time codes that expired more than OTP_KEEP_EXPIRED ago."""
    return otp_purge_expired(older_than=timezone.now() - OTP_KEEP_EXPIRED)
