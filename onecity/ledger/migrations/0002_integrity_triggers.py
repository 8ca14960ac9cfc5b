"""The database's own guard of the ledger (see docs/decisions/0013-ledger.md).

Both engines:
- a transfer is never updated or deleted (append-only);
- an account's identity (public id, kind, owner, currency, normal side) never changes;
- a transfer's accounts are in the transfer's currency, so every currency balances;
- a resolution of a hold (post/void pending) uses the hold's accounts and at most its amount
  (a void exactly its amount);
- a reversal swaps the original's accounts and, with the earlier reversals, stays within the
  original amount, and only posted transfers are reversed.

SQLite: triggers with RAISE(ABORT). Deleting transfers is refused unless the connection's
`ledger_erase_permitted()` function says a whole-database flush is running (the ledger's
`flush` command; registered in apps.py); a connection without the function cannot delete them
at all. PostgreSQL: PL/pgSQL trigger functions raising SQLSTATE 23001 (restrict_violation);
TRUNCATE, which a flush uses, is an administrator's act governed by privileges.
"""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER ledger_transfer_no_update BEFORE UPDATE ON ledger_transfer
       BEGIN SELECT RAISE(ABORT, 'ledger transfers are append-only: a transfer cannot be changed'); END""",
    """CREATE TRIGGER ledger_transfer_no_delete BEFORE DELETE ON ledger_transfer
       WHEN NOT ledger_erase_permitted()
       BEGIN SELECT RAISE(ABORT, 'ledger transfers are append-only: a transfer cannot be deleted'); END""",
    """CREATE TRIGGER ledger_account_identity BEFORE UPDATE OF public_id, kind, owner, currency, normal_side
       ON ledger_account
       WHEN NEW.public_id IS NOT OLD.public_id OR NEW.kind IS NOT OLD.kind OR NEW.owner IS NOT OLD.owner
         OR NEW.currency IS NOT OLD.currency OR NEW.normal_side IS NOT OLD.normal_side
       BEGIN SELECT RAISE(ABORT, 'a ledger account''s identity cannot be changed'); END""",
    """CREATE TRIGGER ledger_transfer_currency BEFORE INSERT ON ledger_transfer
       WHEN NEW.currency IS NOT (SELECT currency FROM ledger_account WHERE id = NEW.debit_account_id)
         OR NEW.currency IS NOT (SELECT currency FROM ledger_account WHERE id = NEW.credit_account_id)
       BEGIN SELECT RAISE(ABORT, 'both accounts of a transfer must be in the transfer''s currency'); END""",
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
SQLITE_REVERSE = [f"DROP TRIGGER IF EXISTS {name}" for name in (
    "ledger_transfer_no_update", "ledger_transfer_no_delete", "ledger_account_identity", "ledger_transfer_currency",
    "ledger_transfer_resolution", "ledger_transfer_reversal")]

POSTGRESQL = [
    """CREATE FUNCTION ledger_transfer_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'ledger transfers are append-only: a transfer cannot be changed or deleted'
           USING ERRCODE = 'restrict_violation';
       END $$""",
    """CREATE TRIGGER ledger_transfer_append_only BEFORE UPDATE OR DELETE ON ledger_transfer
       FOR EACH ROW EXECUTE FUNCTION ledger_transfer_append_only()""",
    """CREATE FUNCTION ledger_account_identity() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.public_id IS DISTINCT FROM OLD.public_id OR NEW.kind IS DISTINCT FROM OLD.kind
            OR NEW.owner IS DISTINCT FROM OLD.owner OR NEW.currency IS DISTINCT FROM OLD.currency
            OR NEW.normal_side IS DISTINCT FROM OLD.normal_side THEN
           RAISE EXCEPTION 'a ledger account''s identity cannot be changed' USING ERRCODE = 'restrict_violation';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER ledger_account_identity BEFORE UPDATE OF public_id, kind, owner, currency, normal_side
       ON ledger_account FOR EACH ROW EXECUTE FUNCTION ledger_account_identity()""",
    # The currency of both accounts, by composite foreign keys (checked by PostgreSQL itself).
    "ALTER TABLE ledger_account ADD CONSTRAINT ledger_account_id_currency UNIQUE (id, currency)",
    """ALTER TABLE ledger_transfer ADD CONSTRAINT ledger_transfer_debit_currency
       FOREIGN KEY (debit_account_id, currency) REFERENCES ledger_account (id, currency)""",
    """ALTER TABLE ledger_transfer ADD CONSTRAINT ledger_transfer_credit_currency
       FOREIGN KEY (credit_account_id, currency) REFERENCES ledger_account (id, currency)""",
    """CREATE FUNCTION ledger_transfer_links() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.pending_id IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM ledger_transfer p WHERE p.id = NEW.pending_id AND p.kind = 'pending'
               AND p.debit_account_id = NEW.debit_account_id AND p.credit_account_id = NEW.credit_account_id
               AND p.currency = NEW.currency AND NEW.amount <= p.amount
               AND (NEW.kind <> 'void_pending' OR NEW.amount = p.amount)) THEN
           RAISE EXCEPTION 'a pending transfer is resolved with its own accounts and within its amount'
             USING ERRCODE = 'restrict_violation';
         END IF;
         IF NEW.reverses_id IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM ledger_transfer o WHERE o.id = NEW.reverses_id AND o.kind IN ('posted', 'post_pending')
               AND o.debit_account_id = NEW.credit_account_id AND o.credit_account_id = NEW.debit_account_id
               AND o.currency = NEW.currency
               AND NEW.amount + COALESCE((SELECT SUM(r.amount) FROM ledger_transfer r
                                          WHERE r.reverses_id = o.id), 0) <= o.amount) THEN
           RAISE EXCEPTION 'a reversal swaps the original''s accounts and stays within its amount'
             USING ERRCODE = 'restrict_violation';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER ledger_transfer_links BEFORE INSERT ON ledger_transfer
       FOR EACH ROW WHEN (NEW.pending_id IS NOT NULL OR NEW.reverses_id IS NOT NULL)
       EXECUTE FUNCTION ledger_transfer_links()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS ledger_transfer_links ON ledger_transfer",
    "DROP FUNCTION IF EXISTS ledger_transfer_links()",
    "ALTER TABLE ledger_transfer DROP CONSTRAINT IF EXISTS ledger_transfer_credit_currency",
    "ALTER TABLE ledger_transfer DROP CONSTRAINT IF EXISTS ledger_transfer_debit_currency",
    "ALTER TABLE ledger_account DROP CONSTRAINT IF EXISTS ledger_account_id_currency",
    "DROP TRIGGER IF EXISTS ledger_account_identity ON ledger_account",
    "DROP FUNCTION IF EXISTS ledger_account_identity()",
    "DROP TRIGGER IF EXISTS ledger_transfer_append_only ON ledger_transfer",
    "DROP FUNCTION IF EXISTS ledger_transfer_append_only()",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RunPython(_run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
                             _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}), elidable=False),
    ]
