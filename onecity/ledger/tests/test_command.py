"""`onecity ledger trial-balance | verify` print one JSON line and fail on a mismatch."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from onecity.core.errors import ApplicationError
from onecity.ledger import services

pytestmark = pytest.mark.django_db


def run(*args) -> dict:
    out = io.StringIO()
    call_command("ledger", *args, stdout=out)
    return json.loads(out.getvalue())


def test_trial_balance_and_verify_on_a_sound_ledger(book):
    book.topup("t-1", 1_000)
    services.transfer_pending(transfer_id="h", debit=book.wallet, credit=book.payee, amount=300, code="bill_payment")
    assert run("trial-balance") == {"balanced": True, "currencies": [{
        "currency": "CNY", "accounts": 6, "debits_posted": 1_000, "credits_posted": 1_000, "debits_pending": 300,
        "credits_pending": 300, "balanced": True}]}
    report = run("verify")
    assert (report["ok"], report["accounts"], report["transfers"], report["mismatches"]) == (True, 6, 2, [])


def test_verify_finds_a_tampered_balance(book):
    book.topup("t-1", 1_000)
    with connection.cursor() as cursor:  # what only a raw write could do
        cursor.execute("UPDATE ledger_account SET credits_posted = 1500 WHERE public_id = %s", [book.wallet])
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("ledger", "verify", stdout=out)
    assert info.value.returncode == 1
    report = json.loads(out.getvalue())
    assert report["mismatches"] == [{"account": book.wallet, "field": "credits_posted", "stored": 1500,
                                     "recomputed": 1000}]
    with pytest.raises(CommandError):
        call_command("ledger", "trial-balance", stdout=io.StringIO())


def test_errors_speak_the_active_language(book):
    with translation.override("zh-hans"), pytest.raises(ApplicationError) as info:
        services.transfer_post(transfer_id="t", debit=book.wallet, credit=book.payee, amount=1, code="bill_payment")
    assert str(info.value) == f"账户 {book.wallet} 余额不足，无法完成此转账。"
