"""Payee payables lose the "debits must not exceed credits" limit (ledger.enums.DEFAULT_FLAGS):
a refund of a payment already settled to the payee takes the payable below zero. The limit is a
flag column, not part of an account's identity, so the integrity triggers allow the change."""

from django.db import migrations


def lift(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    Account.objects.filter(kind="payee_payable").update(debits_must_not_exceed_credits=False)


def restore(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    Account.objects.filter(kind="payee_payable").update(debits_must_not_exceed_credits=True)


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0004_hold_expiry"),
    ]

    operations = [migrations.RunPython(lift, restore)]
