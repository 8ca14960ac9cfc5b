"""Read models of the analytics app (decision 0011). Rebuilt from the facts other apps publish
through their selectors; never written by anything but analytics' own services."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

#: `scope` of the rows that count the whole city
CITY = 0


class Dimension(models.TextChoices):
    ALL = "all", _("All requests")
    DEPARTMENT = "department", _("Department")
    DISTRICT = "district", _("District")
    CATEGORY = "category", _("Category")
    CHANNEL = "channel", _("Channel")


class HotlineDailyStat(models.Model):
    """The additive 12345 figures of the requests filed on one local day, for one scope (the city,
    or one unit: what its handlers may see) and one key of one dimension.

    `dimension` "all" has one row per scope and day (key ""); the others one row per key that
    had requests that day: the responsible unit's, district's or top-level category's id ("0":
    none), or the channel code. Every rate is a ratio of sums of these columns."""

    day = models.DateField()
    month = models.DateField()  # the first day of `day`'s month, to group by month on any database
    scope = models.BigIntegerField(default=CITY)  # CITY, or the organization id of a unit
    dimension = models.CharField(max_length=12, choices=Dimension.choices)
    key = models.CharField(max_length=32, blank=True)
    received = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    signed = models.PositiveIntegerField(default=0)
    signed_on_time = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    completed_on_time = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    handling_seconds = models.BigIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "dimension", "day", "key"],
                                               name="analytics_hotline_daily_once")]
        indexes = [models.Index(fields=["day"], name="analytics_hotline_daily_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.scope} {self.dimension}={self.key}"


class RefreshCursor(models.Model):
    """Where the incremental refresh of a read model stopped: the moment its last run started."""

    name = models.CharField(max_length=40, primary_key=True)
    since = models.DateTimeField()
    last_run_at = models.DateTimeField()
    last_days = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} {self.since:%Y-%m-%d %H:%M}"


class PaymentHourlyStat(models.Model):
    """The additive 福码 figures of one local day and hour, for one public-service scenario, one
    district (the payee's region code) and one channel (decision 0018). Built from the payments
    app's desensitised facts: no payer and no payee is kept, only counts and sums."""

    day = models.DateField()
    hour = models.PositiveSmallIntegerField()  # 0–23, local time
    scenario = models.CharField(max_length=16)
    district = models.CharField(max_length=6, blank=True)
    channel = models.CharField(max_length=16)
    payments = models.PositiveIntegerField(default=0)
    amount_fen = models.BigIntegerField(default=0)
    refunded_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "hour", "scenario", "district", "channel"],
                                    name="analytics_payment_hourly_once"),
            models.CheckConstraint(condition=models.Q(hour__gte=0, hour__lte=23), name="analytics_payment_hour_0_23"),
        ]
        indexes = [models.Index(fields=["day"], name="analytics_payment_hourly_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.hour:02d}h {self.scenario}/{self.district}/{self.channel}"
