"""Every ledger service with exact balances, idempotency, and refusals that change nothing."""

from __future__ import annotations

import pytest

from onecity.core.errors import ApplicationError
from onecity.core.models import AuditEvent
from onecity.ledger import selectors, services
from onecity.ledger.dto import TransferRow
from onecity.ledger.enums import AccountKind
from onecity.ledger.models import Transfer
from onecity.ledger.tests.support import snapshot, totals

pytestmark = pytest.mark.django_db


def refused(expected: str, call, /, *args, **kwargs) -> ApplicationError:
    before = snapshot()
    with pytest.raises(ApplicationError) as info:
        call(*args, **kwargs)
    assert info.value.code == expected
    assert snapshot() == before
    return info.value


# --- accounts --------------------------------------------------------------------------------------

def test_account_open_is_idempotent_and_kind_sets_side_and_limits():
    wallet = services.account_open(kind=AccountKind.RESIDENT_WALLET, owner="user:01abc")
    assert (wallet.normal_side, wallet.flags, wallet.balance) == ("credit", {"debits_must_not_exceed_credits"}, 0)
    assert services.account_open(kind=AccountKind.RESIDENT_WALLET, owner="user:01abc") == wallet
    assert AuditEvent.objects.filter(action="ledger.account_open", object_id=wallet.public_id).count() == 1
    receivable = services.account_open(kind=AccountKind.CREDIT_RECEIVABLE, owner="user:01abc")
    assert receivable.public_id != wallet.public_id
    assert (receivable.normal_side, receivable.flags) == ("debit", {"credits_must_not_exceed_debits"})
    suspense = services.account_open(kind=AccountKind.SUSPENSE, owner="platform", flags=[])
    assert suspense.flags == frozenset()


def test_account_open_refuses_bad_input():
    services.account_open(kind=AccountKind.RESIDENT_WALLET, owner="user:01abc")
    refused("kind_invalid", services.account_open, kind="piggy_bank", owner="user:01abc")
    refused("owner_invalid", services.account_open, kind=AccountKind.SUSPENSE, owner="User 1")
    refused("currency_invalid", services.account_open, kind=AccountKind.SUSPENSE, owner="platform", currency="USD")
    refused("flags_invalid", services.account_open, kind=AccountKind.SUSPENSE, owner="platform", flags=["no_limit"])
    refused("account_exists_different", services.account_open, kind=AccountKind.RESIDENT_WALLET,
            owner="user:01abc", flags=[])


# --- single-phase transfers ----------------------------------------------------------------------

def test_transfer_post_moves_exact_balances(book):
    transfer = book.topup("t-1", 10_000)
    assert (transfer.kind, transfer.debit, transfer.credit, transfer.amount, transfer.currency) == (
        "posted", book.clearing, book.wallet, 10_000, "CNY")
    services.transfer_post(transfer_id="t-2", debit=book.wallet, credit=book.payee, amount=2_550, code="bill_payment",
                           memo="water bill")
    assert totals(book.clearing) == (10_000, 0, 0, 0)
    assert totals(book.wallet) == (2_550, 10_000, 0, 0)
    assert totals(book.payee) == (0, 2_550, 0, 0)
    assert selectors.account_balance(account_id=book.wallet) == 7_450
    assert selectors.account_balance(account_id=book.clearing) == 10_000
    assert selectors.ledger_trial_balance().balanced


def test_transfer_post_is_idempotent_by_transfer_id(book):
    first = book.topup("t-1", 500)
    assert book.topup("t-1", 500) == first
    assert Transfer.objects.count() == 1
    assert totals(book.wallet) == (0, 500, 0, 0)
    error = refused("transfer_exists_different", book.topup, "t-1", 501)
    assert str(error) == "Transfer t-1 was already posted with different details."
    refused("transfer_exists_different", services.transfer_post, transfer_id="t-1", debit=book.clearing,
            credit=book.wallet2, amount=500, code="wallet_topup")
    refused("transfer_exists_different", services.transfer_pending, transfer_id="t-1", debit=book.clearing,
            credit=book.wallet, amount=500, code="wallet_topup")


def test_transfer_post_refuses_bad_input_and_changes_nothing(book):
    book.topup("t-1", 100)
    post = services.transfer_post
    refused("amount_invalid", post, transfer_id="x", debit=book.clearing, credit=book.wallet, amount=0, code="c")
    refused("amount_invalid", post, transfer_id="x", debit=book.clearing, credit=book.wallet, amount=-5, code="c")
    refused("amount_invalid", post, transfer_id="x", debit=book.clearing, credit=book.wallet, amount=1.5, code="c")
    refused("transfer_id_invalid", post, transfer_id="no spaces", debit=book.clearing, credit=book.wallet, amount=1,
            code="c")
    refused("code_invalid", post, transfer_id="x", debit=book.clearing, credit=book.wallet, amount=1, code="Bad Code")
    refused("same_account", post, transfer_id="x", debit=book.wallet, credit=book.wallet, amount=1, code="c")
    refused("account_not_found", post, transfer_id="x", debit="nope", credit=book.wallet, amount=1, code="c")
    refused("memo_invalid", post, transfer_id="x", debit=book.clearing, credit=book.wallet, amount=1, code="c",
            memo="m" * 201)


def test_wallet_cannot_go_negative(book):
    book.topup("t-1", 1_000)
    error = refused("balance_insufficient", services.transfer_post, transfer_id="t-2", debit=book.wallet,
                    credit=book.payee, amount=1_001, code="bill_payment")
    assert str(error) == f"Account {book.wallet} does not have enough balance for this transfer."
    services.transfer_post(transfer_id="t-3", debit=book.wallet, credit=book.payee, amount=1_000, code="bill_payment")
    assert selectors.account_balance(account_id=book.wallet) == 0


def test_receivable_cannot_be_repaid_beyond_what_is_owed(book):
    services.transfer_post(transfer_id="lend", debit=book.receivable, credit=book.payee, amount=800, code="pay_later")
    refused("balance_exceeded", services.transfer_post, transfer_id="repay", debit=book.clearing,
            credit=book.receivable, amount=801, code="pay_later_repay")
    services.transfer_post(transfer_id="repay", debit=book.clearing, credit=book.receivable, amount=800,
                           code="pay_later_repay")
    assert selectors.account_balance(account_id=book.receivable) == 0


# --- two-phase transfers -------------------------------------------------------------------------

def test_pending_holds_then_posts_part_and_releases_the_rest(book):
    book.topup("t-1", 1_000)
    hold = services.transfer_pending(transfer_id="h-1", debit=book.wallet, credit=book.payee, amount=600,
                                     code="bill_payment")
    assert hold.kind == "pending"
    assert totals(book.wallet) == (0, 1_000, 600, 0)
    assert selectors.account_get(account_id=book.wallet).available == 400
    # the hold counts against the limit at once
    refused("balance_insufficient", services.transfer_post, transfer_id="t-2", debit=book.wallet,
            credit=book.payee, amount=401, code="bill_payment")
    refused("amount_exceeds_pending", services.pending_post, transfer_id="h-1-post", pending_id="h-1", amount=601)
    posted = services.pending_post(transfer_id="h-1-post", pending_id="h-1", amount=450)
    assert (posted.kind, posted.amount, posted.pending_id, posted.debit, posted.credit) == (
        "post_pending", 450, "h-1", book.wallet, book.payee)
    assert totals(book.wallet) == (450, 1_000, 0, 0)
    assert totals(book.payee) == (0, 450, 0, 0)
    assert services.pending_post(transfer_id="h-1-post", pending_id="h-1", amount=450) == posted
    assert selectors.transfer_remaining(transfer_id="h-1") == 0
    refused("pending_resolved", services.pending_void, transfer_id="h-1-void", pending_id="h-1")
    refused("pending_resolved", services.pending_post, transfer_id="h-1-again", pending_id="h-1")
    assert selectors.ledger_verify().ok


def test_pending_void_releases_the_hold(book):
    book.topup("t-1", 1_000)
    services.transfer_pending(transfer_id="h-1", debit=book.wallet, credit=book.payee, amount=1_000,
                              code="bill_payment")
    voided = services.pending_void(transfer_id="h-1-void", pending_id="h-1")
    assert (voided.kind, voided.amount) == ("void_pending", 1_000)
    assert totals(book.wallet) == (0, 1_000, 0, 0)
    assert totals(book.payee) == (0, 0, 0, 0)
    assert services.pending_void(transfer_id="h-1-void", pending_id="h-1") == voided
    refused("pending_not_found", services.pending_post, transfer_id="x", pending_id="t-1")
    refused("pending_not_found", services.pending_void, transfer_id="x", pending_id="nothing")
    refused("transfer_exists_different", services.pending_post, transfer_id="h-1-void", pending_id="h-1")


def test_pending_post_of_everything_by_default(book):
    book.topup("t-1", 300)
    services.transfer_pending(transfer_id="h-1", debit=book.wallet, credit=book.payee, amount=300,
                              code="bill_payment")
    assert services.pending_post(transfer_id="h-1-post", pending_id="h-1").amount == 300
    assert totals(book.wallet) == (300, 300, 0, 0)


# --- reversals -----------------------------------------------------------------------------------

def test_partial_reversals_never_beyond_the_original(book):
    book.topup("t-1", 1_000)
    services.transfer_post(transfer_id="pay", debit=book.wallet, credit=book.payee, amount=900, code="bill_payment")
    first = services.transfer_reverse(transfer_id="pay-r1", original_id="pay", amount=400, memo="partial refund")
    assert (first.kind, first.debit, first.credit, first.amount, first.reverses_id, first.code) == (
        "reversal", book.payee, book.wallet, 400, "pay", "bill_payment")
    assert services.transfer_reverse(transfer_id="pay-r1", original_id="pay", amount=400, memo="partial refund") \
        == first
    refused("amount_exceeds_original", services.transfer_reverse, transfer_id="pay-r2", original_id="pay",
            amount=501)
    rest = services.transfer_reverse(transfer_id="pay-r2", original_id="pay")
    assert rest.amount == 500
    assert totals(book.payee) == (900, 900, 0, 0)
    assert totals(book.wallet) == (900, 1_900, 0, 0)
    refused("reversed_already", services.transfer_reverse, transfer_id="pay-r3", original_id="pay")
    refused("original_not_found", services.transfer_reverse, transfer_id="x", original_id="pay-r1")
    refused("original_not_found", services.transfer_reverse, transfer_id="x", original_id="missing")
    refused("transfer_exists_different", services.transfer_reverse, transfer_id="pay-r1", original_id="pay",
            amount=300)
    assert AuditEvent.objects.filter(action="ledger.transfer_reverse").count() == 2
    assert selectors.ledger_verify().ok


def test_a_reversal_respects_the_limits(book):
    book.topup("t-1", 1_000)
    services.transfer_post(transfer_id="spend", debit=book.wallet, credit=book.payee, amount=1_000,
                           code="bill_payment")
    # the top-up cannot be taken back once the money is spent
    refused("balance_insufficient", services.transfer_reverse, transfer_id="t-1-r", original_id="t-1")


def test_reversing_a_posted_hold(book):
    book.topup("t-1", 1_000)
    services.transfer_pending(transfer_id="h", debit=book.wallet, credit=book.payee, amount=700, code="bill_payment")
    services.pending_post(transfer_id="h-post", pending_id="h", amount=700)
    refused("original_not_found", services.transfer_reverse, transfer_id="r", original_id="h")
    services.transfer_reverse(transfer_id="r", original_id="h-post", amount=200)
    assert selectors.account_balance(account_id=book.wallet) == 500


# --- bulk ----------------------------------------------------------------------------------------

def rides(book, n: int, amount: int = 200, start: int = 0) -> list[TransferRow]:
    return [TransferRow(transfer_id=f"ride-{i}", debit=book.wallet if i % 2 else book.wallet2, credit=book.payee,
                        amount=amount, code="transit_fare") for i in range(start, start + n)]


def test_bulk_posts_every_row_and_aggregates_balances(book):
    book.topup("t-1", 10_000)
    book.topup("t-2", 10_000, wallet=book.wallet2)
    result = services.transfers_post_bulk(rides(book, 50), batch_id="batch-1")
    assert (result.batch_id, result.posted, result.skipped) == ("batch-1", 50, 0)
    assert totals(book.wallet) == (25 * 200, 10_000, 0, 0)
    assert totals(book.wallet2) == (25 * 200, 10_000, 0, 0)
    assert totals(book.payee) == (0, 50 * 200, 0, 0)
    assert Transfer.objects.filter(batch_id="batch-1").count() == 50
    assert selectors.transfer_get(transfer_id="ride-7").debit == book.wallet
    assert selectors.ledger_verify().ok


def test_bulk_retry_skips_posted_rows(book):
    book.topup("t-1", 10_000)
    book.topup("t-2", 10_000, wallet=book.wallet2)
    services.transfers_post_bulk(rides(book, 10))
    again = services.transfers_post_bulk(rides(book, 15) + rides(book, 15))  # repeats inside a batch, too
    assert (again.posted, again.skipped) == (5, 10)
    assert totals(book.payee) == (0, 15 * 200, 0, 0)
    assert services.transfers_post_bulk(rides(book, 15)).posted == 0
    assert selectors.ledger_verify().ok


def test_bulk_conflict_refuses_the_whole_batch(book):
    book.topup("t-1", 10_000)
    book.topup("t-2", 10_000, wallet=book.wallet2)
    services.transfers_post_bulk(rides(book, 10))
    refused("transfer_exists_different", services.transfers_post_bulk, rides(book, 5, amount=300, start=8))
    refused("transfer_exists_different", services.transfers_post_bulk,
            rides(book, 3, start=20) + rides(book, 1, amount=1, start=20))


def test_bulk_limit_refuses_the_whole_batch(book):
    book.topup("t-1", 1_000)
    book.topup("t-2", 100_000, wallet=book.wallet2)
    error = refused("balance_insufficient", services.transfers_post_bulk, rides(book, 12, amount=200))
    assert book.wallet in str(error)  # 6 rides of 200 from a wallet holding 1000


def test_bulk_refuses_bad_rows(book):
    rows = rides(book, 3)
    bad = [*rows, TransferRow(transfer_id="bad", debit=book.wallet, credit=book.payee, amount=0, code="transit_fare")]
    error = refused("amount_invalid", services.transfers_post_bulk, bad)
    assert str(error) == "Row 4: The amount must be a whole number of fen greater than zero."
    refused("account_not_found", services.transfers_post_bulk,
            [TransferRow(transfer_id="r", debit="missing", credit=book.payee, amount=1, code="transit_fare")])
    assert services.transfers_post_bulk([]).posted == 0


# --- selectors -----------------------------------------------------------------------------------

def test_statement_has_a_running_balance_and_pages(book):
    book.topup("t-1", 1_000)
    services.transfer_pending(transfer_id="h", debit=book.wallet, credit=book.payee, amount=100, code="bill_payment")
    services.transfer_post(transfer_id="t-2", debit=book.wallet, credit=book.payee, amount=300, code="bill_payment")
    services.transfer_reverse(transfer_id="t-2-r", original_id="t-2", amount=50)
    statement = selectors.account_statement(account_id=book.wallet)
    assert [(line.transfer_id, line.debit, line.credit, line.balance) for line in statement.lines] == [
        ("t-1", 0, 1_000, 1_000), ("t-2", 300, 0, 700), ("t-2-r", 0, 50, 750)]
    assert (statement.opening_balance, statement.closing_balance) == (0, 750)
    page2 = selectors.account_statement(account_id=book.wallet, after_seq=statement.lines[0].seq, limit=1)
    assert [(line.transfer_id, line.balance) for line in page2.lines] == [("t-2", 700)]
    assert page2.opening_balance == 1_000
    clearing = selectors.account_statement(account_id=book.clearing)
    assert [(line.debit, line.balance) for line in clearing.lines] == [(1_000, 1_000)]


def test_trial_balance_sums_every_account(book):
    book.topup("t-1", 1_000)
    services.transfer_pending(transfer_id="h", debit=book.wallet, credit=book.payee, amount=100, code="bill_payment")
    [line] = selectors.ledger_trial_balance().lines
    assert (line.currency, line.accounts, line.debits_posted, line.credits_posted, line.debits_pending,
            line.credits_pending, line.balanced) == ("CNY", 6, 1_000, 1_000, 100, 100, True)


def test_inside_a_callers_transaction_a_refusal_leaves_it_usable(book):
    """Payments posts from its own services: a refused transfer rolls back only itself."""
    from django.db import transaction

    book.topup("t-1", 1_000)
    with transaction.atomic():
        with pytest.raises(ApplicationError):
            services.transfer_post(transfer_id="t-2", debit=book.wallet, credit=book.payee, amount=5_000,
                                   code="bill_payment")
        with pytest.raises(ApplicationError):
            services.transfers_post_bulk(rides(book, 12, amount=200))
        services.transfer_post(transfer_id="t-3", debit=book.wallet, credit=book.payee, amount=400,
                               code="bill_payment")
        services.transfers_post_bulk([TransferRow(transfer_id="fee", debit=book.payee, credit=book.fees, amount=4,
                                                  code="fee")])
    assert totals(book.wallet) == (400, 1_000, 0, 0)
    assert totals(book.payee) == (4, 400, 0, 0)
    assert totals(book.fees) == (0, 4, 0, 0)
    assert selectors.ledger_verify().ok


def test_expired_holds_are_voided_once(book):
    import datetime as dt

    from django.utils import timezone

    from onecity.ledger.tasks import pendings_void_expired_task

    book.topup("t-1", 1_000)
    now = timezone.now()
    services.transfer_pending(transfer_id="h-old", debit=book.wallet, credit=book.payee, amount=300,
                              code="bill_payment", expires_at=now - dt.timedelta(minutes=1))
    services.transfer_pending(transfer_id="h-new", debit=book.wallet, credit=book.payee, amount=200,
                              code="bill_payment", expires_at=now + dt.timedelta(minutes=15))
    services.transfer_pending(transfer_id="h-posted", debit=book.wallet, credit=book.payee, amount=100,
                              code="bill_payment", expires_at=now - dt.timedelta(minutes=5))
    services.pending_post(transfer_id="h-posted-post", pending_id="h-posted")
    services.transfer_pending(transfer_id="h-" + "x" * 62, debit=book.wallet, credit=book.payee, amount=50,
                              code="bill_payment", expires_at=now - dt.timedelta(minutes=2))
    assert selectors.transfer_get(transfer_id="h-new").expires_at == now + dt.timedelta(minutes=15)
    refused("transfer_exists_different", services.transfer_pending, transfer_id="h-new", debit=book.wallet,
            credit=book.payee, amount=200, code="bill_payment", expires_at=now)
    refused("expires_at_invalid", services.transfer_pending, transfer_id="h-naive", debit=book.wallet,
            credit=book.payee, amount=200, code="bill_payment", expires_at=dt.datetime(2026, 1, 1))  # noqa: DTZ001
    assert services.pendings_void_expired(now=now) == ["h-" + "x" * 62, "h-old"]  # oldest deadline first
    assert selectors.transfer_get(transfer_id="h-old:expired").kind == "void_pending"
    assert totals(book.wallet) == (100, 1_000, 200, 0)
    assert pendings_void_expired_task.call_local() == {"voided": 0}
    assert services.pendings_void_expired(now=now + dt.timedelta(hours=1)) == ["h-new"]
    assert totals(book.wallet) == (100, 1_000, 0, 0)
    assert selectors.ledger_verify().ok
