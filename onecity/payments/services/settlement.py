"""T+1 settlement (结算) per payee (decision 0020).

    settlement_run   for each payee with payments or refunds on Beijing day D (before today):
                     gross = the succeeded payments' amounts applied to the payee (excess goes to
                     suspense and is not the payee's), fees = Σ per-payment fee rounded half up
                     (clearing.fee_fen, setting PAYMENTS_FEE_RATES_BP), refunds = refunds that
                     succeeded on D, net = gross − fees − refunds. A deficit (net < 0, state
                     deficit) is carried forward: each settlement takes in what the payee's
                     latest settlement carried (`carried_in`), pays out max(net − carried_in, 0)
                     and carries max(carried_in − net, 0). Stores the Settlement with its
                     statement files (CSV and XLSX) and posts, in the same transaction and as one
                     ledger batch `settle:<payee>:<YYYYMMDD>`:
                       payee payable → fee income           fees     (`…:fee`)
                       payee payable → settlement bank      payout   (`…:net`, paid out)
                     so a carried deficit stays on the payee payable, below zero, until later
                     collections cover it or the payee pays it back (services/deficits.py: a
                     repayment credits the payable and is taken off what is carried in).
                     Idempotent: a payee and day settle once (unique constraint), and the batch
                     posts nothing twice.

Refunds debit the payee payable when they succeed (services/refunds.py reverses `pay:<attempt>`
for the part the bill had absorbed; a payment's excess, held in suspense, is refunded first and
is never the payee's), so `refunds` counts only that part, and after settlement the payable
holds nothing of day D but the deficit carried forward (negative).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError
from onecity.core.money import fen_text
from onecity.ledger.dto import TransferRow
from onecity.ledger.enums import AccountKind
from onecity.ledger.services import account_open, transfers_post_bulk
from onecity.payments.channels.base import CHINA
from onecity.payments.clearing import fee_fen, owed_now, succeeded_attempts_of_day, succeeded_refunds_of_day
from onecity.payments.enums import RefundState, SettlementState
from onecity.payments.models import Refund, Settlement

logger = logging.getLogger(__name__)
HEADER = ("type", "time", "channel", "reference", "channel_trade_no", "amount_fen", "fee_fen")


def settlement_run(*, day: dt.date, actor=None) -> list[Settlement]:
    """Settle every payee's day `day`; returns the settlements of that day (new and earlier). A
    payee whose ledger batch is refused is left unsettled (logged) and the others settle."""
    today = timezone.now().astimezone(CHINA).date()
    if not isinstance(day, dt.date) or day >= today:
        raise ApplicationError(_("Settlement is T+1: choose a day before today."), code="day_invalid", field="day")
    payees: dict[int, tuple[str, str]] = {}
    payments: dict[int, list] = defaultdict(list)
    for row in (succeeded_attempts_of_day(day).order_by("finished_at", "id")
                .values_list("payee_id", "payee__public_id", "payee__name", "public_id", "channel",
                             "channel_trade_no", "amount_fen", "excess_fen", "finished_at")):
        payees[row[0]] = row[1:3]
        payments[row[0]].append(row[3:])
    refunds: dict[int, list] = defaultdict(list)
    day_refunds = list(succeeded_refunds_of_day(day).order_by("finished_at", "id").values_list(
        "id", "attempt_id", "attempt__excess_fen", "payee_id", "payee__public_id", "payee__name", "public_id",
        "attempt__channel", "attempt__channel_trade_no", "amount_fen", "finished_at"))
    from_bill = _refunds_from_bill(day_refunds)
    for pk, _attempt, _excess, payee_id, payee_public_id, payee_name, *rest in day_refunds:
        if from_bill[pk]:
            payees[payee_id] = (payee_public_id, payee_name)
            rest[3] = from_bill[pk]
            refunds[payee_id].append(tuple(rest))
    done = set(Settlement.objects.filter(day=day).values_list("payee_id", flat=True))
    for payee_id in sorted((set(payments) | set(refunds)) - done):
        try:
            _settle(payee_id=payee_id, payee=payees[payee_id], day=day, payments=payments[payee_id],
                    refunds=refunds[payee_id], actor=actor)
        except IntegrityError:  # settled at the same moment by another run
            if not Settlement.objects.filter(payee_id=payee_id, day=day).exists():
                raise
        except ApplicationError as exc:
            # The ledger refused this payee's batch (its payable cannot cover the day: refunds of
            # already settled payments drew on it). Nothing of this payee's day was written; the
            # other payees settle; a later run settles this one once the payable covers it.
            logger.warning("settlement of payee %s for %s refused: %s", payees[payee_id][0], day, exc.code)
    return list(Settlement.objects.filter(day=day).select_related("payee").order_by("payee_id"))

def _refunds_from_bill(day_refunds: list[tuple]) -> dict[int, int]:
    """What each refund took back from the payee: a refund comes out of the payment's excess (held
    in suspense, never the payee's) first, in the order refunds succeeded (services/refunds.py)."""
    attempts = {r[1]: r[2] for r in day_refunds if r[2]}
    earlier: dict[int, list[tuple]] = defaultdict(list)
    for pk, attempt_id, amount in (Refund.objects.filter(attempt_id__in=attempts, state=RefundState.SUCCEEDED)
                                   .order_by("finished_at", "id").values_list("id", "attempt_id", "amount_fen")):
        earlier[attempt_id].append((pk, amount))
    result = {}
    for pk, attempt_id, excess, *_rest, amount, _at in day_refunds:
        before = 0
        for other, other_amount in earlier.get(attempt_id, []):
            if other == pk:
                break
            before += other_amount
        from_excess = min(amount, max(excess - before, 0)) if excess else 0
        result[pk] = amount - from_excess
    return result


def owed_locked(payee_id: int) -> tuple[Settlement | None, int]:
    """(the payee's latest settlement — the last made, whatever its day —, what the payee still
    owes after it: the deficit it carried forward less the repayments recorded against it,
    services/deficits.py). Call inside a transaction: that row is locked (PostgreSQL), so two
    settlements of one payee, or a settlement and a repayment, cannot both take the same deficit."""
    latest = (Settlement.objects.select_for_update().filter(payee_id=payee_id)
              .only("id", "public_id", "carried_out_fen").order_by("-id").first())
    return latest, owed_now(latest) if latest is not None else 0


def _lines(payments, refunds) -> list[tuple]:
    lines = []
    for public_id, channel, trade_no, amount, excess, at in payments:
        applied = amount - excess
        lines.append(("payment", at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"), channel, public_id, trade_no,
                      applied, fee_fen(channel, applied)))
    for public_id, channel, trade_no, amount, at in refunds:
        lines.append(("refund", at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"), channel, public_id, trade_no,
                      -amount, 0))
    return lines


def _files(*, payee_name: str, day: dt.date, lines, totals: dict[str, int]) -> tuple[bytes, bytes]:
    title = [("payee", payee_name), ("day", day.isoformat())]
    footer = [("gross_fen", totals["gross"]), ("fees_fen", totals["fees"]), ("refunds_fen", totals["refunds"]),
              ("net_fen", totals["net"]), ("net_yuan", fen_text(totals["net"])),
              ("deficit_carried_in_fen", totals["carried_in"]), ("payout_fen", totals["payout"]),
              ("payout_yuan", fen_text(totals["payout"])), ("deficit_carried_forward_fen", totals["carried_out"])]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(title)
    writer.writerow(HEADER)
    writer.writerows(lines)
    writer.writerows(footer)
    book = Workbook()
    sheet = book.active
    sheet.title = "settlement"
    for row in [*title, HEADER, *lines, *footer]:
        sheet.append(list(row))
    book.properties.creator = "OneCity"
    stamp = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0))
    book.properties.created = book.properties.modified = stamp
    xlsx = io.BytesIO()
    book.save(xlsx)
    return ("\ufeff" + out.getvalue()).encode("utf-8"), xlsx.getvalue()


@transaction.atomic
def _settle(*, payee_id: int, payee: tuple[str, str], day: dt.date, payments, refunds, actor) -> Settlement:
    payee_public_id, payee_name = payee
    lines = _lines(payments, refunds)
    gross = sum(line[5] for line in lines if line[0] == "payment")
    fees = sum(line[6] for line in lines)
    refunded = -sum(line[5] for line in lines if line[0] == "refund")
    net = gross - fees - refunded
    carried_in = owed_locked(payee_id)[1]
    payout, carried_out = max(net - carried_in, 0), max(carried_in - net, 0)
    totals = {"gross": gross, "fees": fees, "refunds": refunded, "net": net, "carried_in": carried_in,
              "payout": payout, "carried_out": carried_out}
    csv_bytes, xlsx_bytes = _files(payee_name=payee_name, day=day, lines=lines, totals=totals)
    batch = f"settle:{payee_public_id}:{day:%Y%m%d}"
    payable = account_open(kind=AccountKind.PAYEE_PAYABLE, owner=f"org:{payee_public_id}").public_id
    bank = account_open(kind=AccountKind.SETTLEMENT_BANK, owner="platform").public_id
    income = account_open(kind=AccountKind.FEE_INCOME, owner="platform").public_id
    rows = []
    if fees:
        rows.append(TransferRow(transfer_id=f"{batch}:fee", debit=payable, credit=income, amount=fees,
                                code="settlement_fee", memo=f"{day} fees"))
    if payout:
        rows.append(TransferRow(transfer_id=f"{batch}:net", debit=payable, credit=bank, amount=payout,
                                code="settlement", memo=f"{day} net"))
    settlement = Settlement.objects.create(
        payee_id=payee_id, day=day, payment_count=len(payments), refund_count=len(refunds), gross_fen=gross,
        fees_fen=fees, refunds_fen=refunded, net_fen=net, carried_in_fen=carried_in, payout_fen=payout,
        carried_out_fen=carried_out,
        state=SettlementState.SETTLED if net >= 0 else SettlementState.DEFICIT,
        transfer_ids=[r.transfer_id for r in rows],
        statement_csv=csv_bytes, statement_csv_sha256=hashlib.sha256(csv_bytes).hexdigest(),
        statement_xlsx=xlsx_bytes, statement_xlsx_sha256=hashlib.sha256(xlsx_bytes).hexdigest(),
        created_at=timezone.now())
    transfers_post_bulk(rows, batch_id=batch, actor=actor)
    audit_record(actor=actor, action="payments.settled", object_type="settlement", object_id=settlement.public_id,
                 detail={"payee": payee_public_id, "day": day.isoformat(), **totals})
    return settlement

