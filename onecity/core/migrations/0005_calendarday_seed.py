"""Seed the working-day calendar from onecity/core/data/cn_calendar.csv (2025 and 2026).

Later years are added by administrators (admin site) or by a new data migration when the
State Council publishes them; this migration never overwrites rows that already exist."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "cn_calendar.csv"


def seed(apps, schema_editor):
    CalendarDay = apps.get_model("core", "CalendarDay")
    with DATA.open(encoding="utf-8") as handle:
        rows = [line for line in handle if not line.startswith("#")]
    existing = {d.isoformat() for d in CalendarDay.objects.values_list("date", flat=True)}
    CalendarDay.objects.bulk_create([
        CalendarDay(date=row["date"], kind=row["kind"], name=row["name"], name_en=row["name_en"])
        for row in csv.DictReader(rows) if row["date"] not in existing
    ])


class Migration(migrations.Migration):
    dependencies = [("core", "0004_calendarday")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
