"""Transfers reference their accounts by (account, currency) only.

PostgreSQL: the plain foreign keys on debit_account_id and credit_account_id go; the composite
keys (account id, currency) of 0002 stay and do both jobs (the account exists and is in the
transfer's currency; an account with transfers cannot be deleted), one check per side instead
of two, which is most of the cost of a bulk insert.

SQLite: altering the columns rebuilds the table, which drops its triggers, so they are dropped
first and created again after; the currency trigger now also refuses a missing account, and a
trigger refuses deleting an account that has transfers (except during a whole-database flush).
A later migration that rebuilds ledger_transfer on SQLite must drop and re-create these
triggers (and ledger_account_no_delete, which names the table) around the rebuild, as here.
"""

from django.db import migrations, models

TRANSFER_TRIGGERS = ("ledger_transfer_no_update", "ledger_transfer_no_delete", "ledger_transfer_currency",
                     "ledger_transfer_resolution", "ledger_transfer_reversal")

SQLITE_TRANSFER_TRIGGERS = [
    """CREATE TRIGGER ledger_transfer_no_update BEFORE UPDATE ON ledger_transfer
       BEGIN SELECT RAISE(ABORT, 'ledger transfers are append-only: a transfer cannot be changed'); END""",
    """CREATE TRIGGER ledger_transfer_no_delete BEFORE DELETE ON ledger_transfer
       WHEN NOT ledger_erase_permitted()
       BEGIN SELECT RAISE(ABORT, 'ledger transfers are append-only: a transfer cannot be deleted'); END""",
    """CREATE TRIGGER ledger_transfer_resolution BEFORE INSERT ON ledger_transfer
       WHEN NEW.pending_id IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM ledger_transfer p WHERE p.id = NEW.pending_id AND p.kind = 'pending'
           AND p.debit_account_id = NEW.debit_account_id AND p.credit_account_id = NEW.credit_account_id
           AND p.currency = NEW.currency AND NEW.amount <= p.amount
           AND (NEW.kind <> 'void_pending' OR NEW.amount = p.amount))
       BEGIN SELECT RAISE(ABORT, 'a pending transfer is resolved with its own accounts and within its amount'); END""",
    """CREATE TRIGGER ledger_transfer_reversal BEFORE INSERT ON ledger_transfer
       WHEN NEW.reverses_id IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM ledger_transfer o WHERE o.id = NEW.reverses_id AND o.kind IN ('posted', 'post_pending')
           AND o.debit_account_id = NEW.credit_account_id AND o.credit_account_id = NEW.debit_account_id
           AND o.currency = NEW.currency
           AND NEW.amount + COALESCE((SELECT SUM(r.amount) FROM ledger_transfer r WHERE r.reverses_id = o.id), 0)
               <= o.amount)
       BEGIN SELECT RAISE(ABORT, 'a reversal swaps the original''s accounts and stays within its amount'); END""",
]
SQLITE_CURRENCY_0002 = """CREATE TRIGGER ledger_transfer_currency BEFORE INSERT ON ledger_transfer
       WHEN NEW.currency IS NOT (SELECT currency FROM ledger_account WHERE id = NEW.debit_account_id)
         OR NEW.currency IS NOT (SELECT currency FROM ledger_account WHERE id = NEW.credit_account_id)
       BEGIN SELECT RAISE(ABORT, 'both accounts of a transfer must be in the transfer''s currency'); END"""
SQLITE_CURRENCY = """CREATE TRIGGER ledger_transfer_currency BEFORE INSERT ON ledger_transfer
       WHEN NEW.currency IS NOT (SELECT currency FROM ledger_account WHERE id = NEW.debit_account_id)
         OR NEW.currency IS NOT (SELECT currency FROM ledger_account WHERE id = NEW.credit_account_id)
       BEGIN SELECT RAISE(ABORT, 'both accounts of a transfer must exist and be in the transfer''s currency'); END"""
SQLITE_ACCOUNT_DELETE = """CREATE TRIGGER ledger_account_no_delete BEFORE DELETE ON ledger_account
       WHEN NOT ledger_erase_permitted() AND EXISTS (
         SELECT 1 FROM ledger_transfer WHERE debit_account_id = OLD.id OR credit_account_id = OLD.id)
       BEGIN SELECT RAISE(ABORT, 'a ledger account with transfers cannot be deleted'); END"""


def _sqlite(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for sql in statements:
                schema_editor.execute(sql, params=None)
    return run


DROP_TRANSFER_TRIGGERS = [f"DROP TRIGGER IF EXISTS {name}" for name in TRANSFER_TRIGGERS]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_integrity_triggers")]

    operations = [
        migrations.RunPython(_sqlite(DROP_TRANSFER_TRIGGERS),
                             _sqlite([*DROP_TRANSFER_TRIGGERS, "DROP TRIGGER IF EXISTS ledger_account_no_delete",
                                      *SQLITE_TRANSFER_TRIGGERS, SQLITE_CURRENCY_0002]), elidable=False),
        migrations.AlterField(
            model_name="transfer", name="debit_account",
            field=models.ForeignKey(db_constraint=False, on_delete=models.deletion.PROTECT, related_name="+",
                                    to="ledger.account")),
        migrations.AlterField(
            model_name="transfer", name="credit_account",
            field=models.ForeignKey(db_constraint=False, on_delete=models.deletion.PROTECT, related_name="+",
                                    to="ledger.account")),
        migrations.RunPython(_sqlite([*SQLITE_TRANSFER_TRIGGERS, SQLITE_CURRENCY, SQLITE_ACCOUNT_DELETE]),
                             _sqlite([*DROP_TRANSFER_TRIGGERS, "DROP TRIGGER IF EXISTS ledger_account_no_delete"]),
                             elidable=False),
    ]
