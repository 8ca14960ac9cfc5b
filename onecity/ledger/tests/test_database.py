"""The database itself refuses what the services never do, even through raw SQL: a transfer
that does not balance, a transfer changed or deleted, an account's identity changed, a balance
beyond its limit. These run on SQLite and, in `make test`, on PostgreSQL."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from onecity.ledger import services
from onecity.ledger.models import Account, Transfer
from onecity.ledger.tests.support import snapshot

pytestmark = pytest.mark.django_db


def refused_sql(sql: str, params: list | None = None) -> str:
    before = snapshot()
    with pytest.raises(DatabaseError) as info, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    assert snapshot() == before
    return str(info.value)


def pk(public_id: str) -> int:
    return Account.objects.get(public_id=public_id).pk


INSERT = ("INSERT INTO ledger_transfer (transfer_id, kind, debit_account_id, credit_account_id, amount, currency, "
          "code, pending_id, reverses_id, batch_id, memo, metadata, actor, created_at) "
          "VALUES (%s, %s, %s, %s, %s, %s, 'raw', %s, %s, '', '', '{}', '', %s)")


def insert_params(transfer_id, kind, debit, credit, amount, currency="CNY", pending=None, reverses=None):
    return [transfer_id, kind, debit, credit, amount, currency, pending, reverses, timezone.now()]


def test_a_raw_insert_that_balances_is_accepted(book):
    with connection.cursor() as cursor:
        cursor.execute(INSERT, insert_params("raw-1", "posted", pk(book.clearing), pk(book.wallet), 5))
    assert Transfer.objects.get(transfer_id="raw-1").amount == 5


@pytest.mark.parametrize(("debit", "credit", "amount", "kind"), [
    ("clearing", None, 100, "posted"),  # a debit without its credit
    ("clearing", "missing", 100, "posted"),  # a credit to no account
    ("missing", "wallet", 100, "posted"),
    ("clearing", "clearing", 100, "posted"),  # one account on both sides
    ("clearing", "wallet", 0, "posted"),
    ("clearing", "wallet", -100, "posted"),
    ("clearing", "wallet", 100, "post_pending"),  # a resolution without its hold
    ("clearing", "wallet", 100, "reversal"),  # a reversal without its original
    ("clearing", "wallet", 100, "gift"),
])
def test_the_database_refuses_a_transfer_that_does_not_balance(book, debit, credit, amount, kind):
    accounts = {"clearing": pk(book.clearing), "wallet": pk(book.wallet), "missing": 987654, None: None}
    refused_sql(INSERT, insert_params("raw-1", kind, accounts[debit], accounts[credit], amount))


def test_the_database_refuses_mixing_currencies(book):
    usd = Account.objects.create(kind="suspense", owner="platform", currency="USD", normal_side="debit")
    refused_sql(INSERT, insert_params("raw-1", "posted", pk(book.clearing), usd.pk, 100))
    refused_sql(INSERT, insert_params("raw-1", "posted", usd.pk, pk(book.clearing), 100))
    refused_sql(INSERT, insert_params("raw-1", "posted", pk(book.clearing), pk(book.wallet), 100, currency="USD"))


def test_the_database_refuses_resolving_a_hold_wrongly(book):
    book.topup("t-1", 1_000)
    hold = services.transfer_pending(transfer_id="h", debit=book.wallet, credit=book.payee, amount=500,
                                     code="bill_payment")
    hold_pk = Transfer.objects.get(transfer_id=hold.transfer_id).pk
    wallet, payee, wallet2 = pk(book.wallet), pk(book.payee), pk(book.wallet2)
    refused_sql(INSERT, insert_params("x", "post_pending", wallet, payee, 501, pending=hold_pk))
    refused_sql(INSERT, insert_params("x", "post_pending", wallet2, payee, 100, pending=hold_pk))
    refused_sql(INSERT, insert_params("x", "void_pending", wallet, payee, 100, pending=hold_pk))
    with connection.cursor() as cursor:
        cursor.execute(INSERT, insert_params("x", "post_pending", wallet, payee, 500, pending=hold_pk))
    # a hold is resolved once
    refused_sql(INSERT, insert_params("y", "void_pending", wallet, payee, 500, pending=hold_pk))


def test_the_database_refuses_reversing_beyond_the_original(book):
    book.topup("t-1", 1_000)
    services.transfer_reverse(transfer_id="t-1-r", original_id="t-1", amount=600)
    original = Transfer.objects.get(transfer_id="t-1").pk
    clearing, wallet = pk(book.clearing), pk(book.wallet)
    refused_sql(INSERT, insert_params("r2", "reversal", wallet, clearing, 401, reverses=original))
    refused_sql(INSERT, insert_params("r2", "reversal", clearing, wallet, 100, reverses=original))  # not swapped
    with connection.cursor() as cursor:
        cursor.execute(INSERT, insert_params("r2", "reversal", wallet, clearing, 400, reverses=original))


@pytest.mark.parametrize("sql", [
    "UPDATE ledger_transfer SET amount = amount + 1",
    "UPDATE ledger_transfer SET memo = 'edited'",
    "UPDATE ledger_transfer SET credit_account_id = debit_account_id, debit_account_id = credit_account_id",
    "DELETE FROM ledger_transfer",
    "DELETE FROM ledger_transfer WHERE transfer_id = 't-1'",
])
def test_the_database_refuses_changing_or_deleting_a_transfer(book, sql):
    book.topup("t-1", 1_000)
    message = refused_sql(sql)
    assert "append-only" in message


def test_the_database_refuses_deleting_an_account_with_transfers(book):
    book.topup("t-1", 1_000)
    refused_sql("DELETE FROM ledger_account WHERE public_id = %s", [book.wallet])
    refused_sql("DELETE FROM ledger_account WHERE public_id = %s", [book.clearing])


def test_the_database_refuses_changing_an_accounts_identity(book):
    for column, value in [("kind", "suspense"), ("owner", "user:mallory"), ("currency", "USD"),
                          ("normal_side", "debit"), ("public_id", "01fake")]:
        message = refused_sql(f"UPDATE ledger_account SET {column} = %s WHERE public_id = %s",  # noqa: S608
                              [value, book.wallet])
        assert "identity" in message


def test_the_database_refuses_a_balance_beyond_its_limit(book):
    book.topup("t-1", 1_000)
    refused_sql("UPDATE ledger_account SET debits_posted = 1001 WHERE public_id = %s", [book.wallet])
    refused_sql("UPDATE ledger_account SET debits_pending = 1001 WHERE public_id = %s", [book.wallet])
    refused_sql("UPDATE ledger_account SET credits_posted = -1 WHERE public_id = %s", [book.payee])
    refused_sql("UPDATE ledger_account SET credits_posted = 1 WHERE public_id = %s", [book.receivable])


def test_flush_still_empties_the_whole_database(book):
    """Emptying every table (what test runs do after a transactional test) is the one erase."""
    book.topup("t-1", 1_000)
    if connection.vendor == "postgresql":  # inside this test's transaction: check deferred keys now
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
    assert (Transfer.objects.count(), Account.objects.count()) == (0, 0)
