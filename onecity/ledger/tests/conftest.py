import pytest
from django.utils import translation

from onecity.ledger import services
from onecity.ledger.enums import AccountKind


class Book:
    """A small chart of accounts for one payee, one channel and two residents."""

    def __init__(self):
        self.clearing = services.account_open(kind=AccountKind.CHANNEL_CLEARING, owner="channel:wechat").public_id
        self.payee = services.account_open(kind=AccountKind.PAYEE_PAYABLE, owner="org:payee1").public_id
        self.fees = services.account_open(kind=AccountKind.FEE_INCOME, owner="platform").public_id
        self.wallet = services.account_open(kind=AccountKind.RESIDENT_WALLET, owner="user:alice").public_id
        self.wallet2 = services.account_open(kind=AccountKind.RESIDENT_WALLET, owner="user:bob").public_id
        self.receivable = services.account_open(kind=AccountKind.CREDIT_RECEIVABLE, owner="user:alice").public_id

    def topup(self, transfer_id: str, amount: int, wallet: str | None = None):
        return services.transfer_post(transfer_id=transfer_id, debit=self.clearing, credit=wallet or self.wallet,
                                      amount=amount, code="wallet_topup")


@pytest.fixture
def book(db):
    return Book()


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the zh-Hans catalog is checked by its own test)."""
    with translation.override("en"):
        yield
