"""The Django admin shows accounts and transfers to administrators and changes nothing."""

from __future__ import annotations

import pytest

from onecity.identity.enums import Role
from onecity.identity.tests.accounts_support import make_org, make_staff
from onecity.ledger.models import Account, Transfer

pytestmark = pytest.mark.django_db


def test_admin_lists_but_never_changes(client, book):
    book.topup("t-1", 1_000)
    make_org()
    client.force_login(make_staff(Role.ADMINISTRATOR, username="admin"))
    transfer = Transfer.objects.get(transfer_id="t-1")
    account = Account.objects.get(public_id=book.wallet)
    listing = client.get("/admin/ledger/transfer/")
    assert listing.status_code == 200
    assert "t-1" in listing.content.decode()
    assert client.get("/admin/ledger/account/").status_code == 200
    assert client.get(f"/admin/ledger/transfer/{transfer.pk}/change/").status_code == 200  # a read-only view
    assert client.get("/admin/ledger/transfer/add/").status_code == 403
    assert client.post(f"/admin/ledger/transfer/{transfer.pk}/change/", {"amount": 1}).status_code == 403
    assert client.post(f"/admin/ledger/account/{account.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Transfer.objects.get(pk=transfer.pk).amount == 1_000
    assert Account.objects.filter(pk=account.pk).exists()
