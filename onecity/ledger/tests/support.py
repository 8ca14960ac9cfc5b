"""Helpers for the ledger tests: snapshots to assert that refused input changed nothing."""

from __future__ import annotations

from onecity.ledger.models import Account, Transfer


def snapshot() -> tuple:
    accounts = tuple(Account.objects.order_by("pk").values_list(
        "public_id", "debits_posted", "credits_posted", "debits_pending", "credits_pending"))
    transfers = tuple(Transfer.objects.order_by("pk").values_list("transfer_id", "amount"))
    return accounts, transfers


def totals(public_id: str) -> tuple[int, int, int, int]:
    """(debits_posted, credits_posted, debits_pending, credits_pending) as stored."""
    return Account.objects.filter(public_id=public_id).values_list(
        "debits_posted", "credits_posted", "debits_pending", "credits_pending").get()
