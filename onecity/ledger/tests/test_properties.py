"""Ledger invariants as property tests: any sequence of operations, refused or not, leaves

- the trial balance at zero (debits = credits, posted and pending, over all accounts),
- every stored balance equal to the sum of the transfers (`ledger_verify`) and to a model kept
  beside the ledger,
- no account beyond its limit (a wallet below zero, a receivable repaid beyond what is owed),
- every refused operation without any effect.

Hypothesis runs derandomized (a fixed seed), each example in its own rolled-back transaction.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from onecity.core.errors import ApplicationError
from onecity.ledger import selectors, services
from onecity.ledger.dto import TransferRow
from onecity.ledger.enums import AccountKind
from onecity.ledger.tests.support import snapshot, totals

ACCOUNTS = [
    (AccountKind.CHANNEL_CLEARING, "channel:wechat"),
    (AccountKind.PAYEE_PAYABLE, "org:payee1"),
    (AccountKind.RESIDENT_WALLET, "user:alice"),
    (AccountKind.RESIDENT_WALLET, "user:bob"),
    (AccountKind.CREDIT_RECEIVABLE, "user:alice"),
    (AccountKind.SUSPENSE, "platform"),
]
N = len(ACCOUNTS)
amounts = st.integers(min_value=1, max_value=600)
pairs = st.tuples(st.integers(0, N - 1), st.integers(0, N - 1)).filter(lambda p: p[0] != p[1])
operations = st.one_of(
    st.tuples(st.just("post"), pairs, amounts),
    st.tuples(st.just("pending"), pairs, amounts),
    st.tuples(st.just("post_pending"), st.integers(0, 30), st.none() | amounts),
    st.tuples(st.just("void"), st.integers(0, 30), st.none()),
    st.tuples(st.just("reverse"), st.integers(0, 30), st.none() | amounts),
    st.tuples(st.just("bulk"), st.lists(st.tuples(pairs, amounts), min_size=1, max_size=8), st.none()),
    st.tuples(st.just("retry"), st.integers(0, 30), st.none()),
)


class Model:
    """The balances the ledger should hold, computed apart from it."""

    def __init__(self, accounts):
        self.accounts = accounts  # AccountDTO per index
        self.totals = [[0, 0, 0, 0] for _ in accounts]  # dp, cp, dq, cq
        self.holds: list[tuple[str, int, int, int]] = []  # (id, debit, credit, amount)
        self.resolved: set[str] = set()
        self.posted: list[tuple[str, int, int, int]] = []  # reversible: (id, debit, credit, amount)
        self.reversed: dict[str, int] = {}
        self.calls: list[tuple] = []  # (service, kwargs) that succeeded, to retry

    def fits(self, changes: dict[int, tuple[int, int, int, int]]) -> bool:
        for index, delta in changes.items():
            dp, cp, dq, cq = (t + d for t, d in zip(self.totals[index], delta, strict=True))
            flags = self.accounts[index].flags
            if "debits_must_not_exceed_credits" in flags and dp + dq > cp:
                return False
            if "credits_must_not_exceed_debits" in flags and cp + cq > dp:
                return False
        return True

    def apply(self, changes: dict[int, tuple[int, int, int, int]]) -> None:
        for index, delta in changes.items():
            self.totals[index] = [t + d for t, d in zip(self.totals[index], delta, strict=True)]


class LedgerInvariants(TestCase):
    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(operations, min_size=1, max_size=25))
    def test_any_sequence_keeps_the_ledger_sound(self, ops):
        accounts = [services.account_open(kind=kind, owner=owner) for kind, owner in ACCOUNTS]
        ids = [a.public_id for a in accounts]
        model = Model(accounts)
        for step, (name, first, second) in enumerate(ops):
            tid = f"op-{step}"
            call, kwargs, changes, after = self.plan(model, ids, tid, name, first, second)
            if call is None:
                continue
            before = snapshot()
            if changes is not None and model.fits(changes):
                call(**kwargs)
                model.apply(changes)
                after()
                model.calls.append((call, kwargs))
            else:
                with self.assertRaises(ApplicationError):
                    call(**kwargs)
                self.assertEqual(snapshot(), before)
            self.check(model, ids)

    def plan(self, model: Model, ids, tid, name, first, second):
        """(service, its arguments, the balance changes the model expects or None for a
        refusal, what to record in the model on success)."""
        nothing = lambda: None  # noqa: E731
        if name == "post":
            (d, c), amount = first, second
            kwargs = {"transfer_id": tid, "debit": ids[d], "credit": ids[c], "amount": amount, "code": "test"}
            return (services.transfer_post, kwargs, {d: (amount, 0, 0, 0), c: (0, amount, 0, 0)},
                    lambda: model.posted.append((tid, d, c, amount)))
        if name == "pending":
            (d, c), amount = first, second
            kwargs = {"transfer_id": tid, "debit": ids[d], "credit": ids[c], "amount": amount, "code": "test"}
            return (services.transfer_pending, kwargs, {d: (0, 0, amount, 0), c: (0, 0, 0, amount)},
                    lambda: model.holds.append((tid, d, c, amount)))
        if name in ("post_pending", "void"):
            if not model.holds:
                return None, None, None, None
            hold_id, d, c, held = model.holds[first % len(model.holds)]
            if name == "void":
                kwargs = {"transfer_id": tid, "pending_id": hold_id}
                changes = None if hold_id in model.resolved else {d: (0, 0, -held, 0), c: (0, 0, 0, -held)}
                return services.pending_void, kwargs, changes, lambda: model.resolved.add(hold_id)
            amount = second
            kwargs = {"transfer_id": tid, "pending_id": hold_id, "amount": amount}
            posted = held if amount is None else amount
            changes = None if hold_id in model.resolved or posted > held else {
                d: (posted, 0, -held, 0), c: (0, posted, 0, -held)}

            def record():
                model.resolved.add(hold_id)
                model.posted.append((tid, d, c, posted))
            return services.pending_post, kwargs, changes, record
        if name == "reverse":
            if not model.posted:
                return None, None, None, None
            original, d, c, amount = model.posted[first % len(model.posted)]
            left = amount - model.reversed.get(original, 0)
            wanted = left if second is None else second
            kwargs = {"transfer_id": tid, "original_id": original, "amount": second}
            changes = None if wanted > left or left == 0 else {c: (wanted, 0, 0, 0), d: (0, wanted, 0, 0)}

            def record():
                model.reversed[original] = model.reversed.get(original, 0) + wanted
            return services.transfer_reverse, kwargs, changes, record
        if name == "bulk":
            rows = [TransferRow(transfer_id=f"{tid}-{i}", debit=ids[d], credit=ids[c], amount=amount, code="test")
                    for i, ((d, c), amount) in enumerate(first)]
            changes: dict[int, list[int]] = {}
            for (d, c), amount in first:
                changes.setdefault(d, [0, 0, 0, 0])[0] += amount
                changes.setdefault(c, [0, 0, 0, 0])[1] += amount

            def record():
                model.posted.extend((f"{tid}-{i}", d, c, amount) for i, ((d, c), amount) in enumerate(first))
            return (lambda **kw: services.transfers_post_bulk(rows), {},
                    {k: tuple(v) for k, v in changes.items()}, record)
        # retry: posting again what was posted changes nothing and is not refused
        if not model.calls:
            return None, None, None, None
        call, kwargs = model.calls[first % len(model.calls)]
        return call, kwargs, {}, nothing

    def check(self, model: Model, ids) -> None:
        report = selectors.ledger_verify()
        self.assertEqual(report.mismatches, [])
        self.assertTrue(report.trial_balance.balanced)
        for index, public_id in enumerate(ids):
            dp, cp, dq, cq = totals(public_id)
            self.assertEqual([dp, cp, dq, cq], model.totals[index])
            flags = model.accounts[index].flags
            if "debits_must_not_exceed_credits" in flags:
                self.assertLessEqual(dp + dq, cp)
            if "credits_must_not_exceed_debits" in flags:
                self.assertLessEqual(cp + cq, dp)
