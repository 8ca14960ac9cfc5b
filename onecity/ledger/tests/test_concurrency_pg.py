"""Parallel writers on PostgreSQL, each thread on its own connection, all released at once by a
barrier: balances stay exact and limits hold, ids and holds are used once, no deadlock."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection

from onecity.core.errors import ApplicationError
from onecity.ledger import selectors, services
from onecity.ledger.dto import TransferRow
from onecity.ledger.models import Transfer
from onecity.ledger.tests.conftest import Book
from onecity.ledger.tests.support import totals

pytestmark = [
    pytest.mark.skipif("postgresql" not in settings.DATABASES["default"]["ENGINE"],
                       reason="real parallel writers need PostgreSQL (DATABASE_URL=postgres://...)"),
    pytest.mark.django_db(transaction=True),
]


def in_parallel(jobs: list[Callable[[], object]]) -> tuple[list[object], list[ApplicationError]]:
    """Run the jobs in threads started together; (results, refusals). Anything else fails the test."""
    barrier = threading.Barrier(len(jobs))
    lock = threading.Lock()
    results: list[object] = []
    refusals: list[ApplicationError] = []
    crashes: list[BaseException] = []

    def run(job):
        try:
            barrier.wait()
            outcome = job()
            with lock:
                results.append(outcome)
        except ApplicationError as exc:
            with lock:
                refusals.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                crashes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert crashes == []
    return results, refusals


def test_parallel_spending_never_overdraws_a_wallet():
    book = Book()
    book.topup("t-1", 10_000)

    def spender(worker: int):
        def job():
            posted = 0
            for n in range(25):
                try:
                    services.transfer_post(transfer_id=f"spend-{worker}-{n}", debit=book.wallet, credit=book.payee,
                                           amount=100, code="bill_payment")
                    posted += 1
                except ApplicationError as exc:
                    assert exc.code == "balance_insufficient"
            return posted
        return job

    results, refusals = in_parallel([spender(w) for w in range(8)])
    assert (sum(results), refusals) == (100, [])  # 8 x 25 x 100 fen asked, 10,000 fen held
    assert totals(book.wallet) == (10_000, 10_000, 0, 0)
    assert totals(book.payee) == (0, 10_000, 0, 0)
    assert selectors.ledger_verify().ok


def test_parallel_transfers_both_ways_keep_exact_balances():
    book = Book()
    book.topup("t-1", 50_000)
    book.topup("t-2", 50_000, wallet=book.wallet2)

    def mover(worker: int):
        debit, credit = (book.wallet, book.wallet2) if worker % 2 else (book.wallet2, book.wallet)

        def job():
            for n in range(30):
                services.transfer_post(transfer_id=f"move-{worker}-{n}", debit=debit, credit=credit,
                                       amount=7 + worker, code="p2p")
        return job

    in_parallel([mover(w) for w in range(6)])
    # workers 1, 3, 5 move 8, 10, 12 fen out of wallet 1; workers 0, 2, 4 move 7, 9, 11 into it, 30 times each
    assert totals(book.wallet) == (30 * (8 + 10 + 12), 50_000 + 30 * (7 + 9 + 11), 0, 0)
    assert totals(book.wallet2) == (30 * (7 + 9 + 11), 50_000 + 30 * (8 + 10 + 12), 0, 0)
    assert selectors.ledger_verify().ok


def test_parallel_bulk_batches_post_each_row_once():
    book = Book()
    book.topup("t-1", 1_000_000)
    shared = [TransferRow(transfer_id=f"fare-{i}", debit=book.wallet, credit=book.payee, amount=200,
                          code="transit_fare") for i in range(300)]

    def batch(worker: int):
        own = [TransferRow(transfer_id=f"fare-w{worker}-{i}", debit=book.wallet, credit=book.payee, amount=100,
                           code="transit_fare") for i in range(50)]
        return lambda: services.transfers_post_bulk(shared + own, batch_id=f"b{worker}")

    results, refusals = in_parallel([batch(w) for w in range(4)])
    assert refusals == []
    assert sum(r.posted for r in results) == 300 + 4 * 50
    assert Transfer.objects.filter(transfer_id__startswith="fare-").count() == 500
    assert totals(book.payee) == (0, 300 * 200 + 4 * 50 * 100, 0, 0)
    assert selectors.ledger_verify().ok


def test_a_hold_is_resolved_once_and_reversals_stay_within_the_original():
    book = Book()
    book.topup("t-1", 10_000)
    services.transfer_pending(transfer_id="h", debit=book.wallet, credit=book.payee, amount=5_000,
                              code="bill_payment")
    jobs = [lambda w=w: services.pending_post(transfer_id=f"h-post-{w}", pending_id="h", amount=1_000 + w)
            for w in range(3)]
    jobs += [lambda w=w: services.pending_void(transfer_id=f"h-void-{w}", pending_id="h") for w in range(3)]
    results, refusals = in_parallel(jobs)
    assert len(results) == 1 and {e.code for e in refusals} == {"pending_resolved"}
    services.transfer_post(transfer_id="pay", debit=book.wallet, credit=book.payee, amount=1_000, code="bill_payment")
    results, refusals = in_parallel([
        lambda w=w: services.transfer_reverse(transfer_id=f"pay-r{w}", original_id="pay", amount=300)
        for w in range(8)])
    assert len(results) == 3 and len(refusals) == 5
    assert selectors.transfer_remaining(transfer_id="pay") == 100
    assert selectors.ledger_verify().ok
