"""Default time limits (category empty): normal requests sign within 1 working day and are
handled within 5 working days; urgent ones sign within 1 hour and are handled within 2 hours.
Category-specific rules (utilities 24 hours, complex matters 15 working days) are data added
with the categories."""

from django.db import migrations

DEFAULTS = [
    ("normal", 1, "working_days", 5, "working_days"),
    ("urgent", 1, "hours", 2, "hours"),
]


def seed(apps, schema_editor):
    TimeLimitRule = apps.get_model("hotline", "TimeLimitRule")
    for urgency, sign, sign_unit, handle, handle_unit in DEFAULTS:
        if not TimeLimitRule.objects.filter(category__isnull=True, urgency=urgency).exists():
            TimeLimitRule.objects.create(urgency=urgency, sign_within=sign, sign_unit=sign_unit,
                                         handle_within=handle, handle_unit=handle_unit)


class Migration(migrations.Migration):
    dependencies = [("hotline", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
