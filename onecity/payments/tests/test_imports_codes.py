import io

from django.utils import translation
from openpyxl import Workbook

from onecity.payments.models import Bill, BillBatch, PaymentCode
from onecity.payments.services.codes import code_check, code_dynamic_issue, code_static_issue
from onecity.payments.services.imports import bills_import
from onecity.payments.tests.support import issue

HEADER = "编号,手机号,姓名,类型,项目,金额,截止日期,允许部分缴纳,最低金额\n"


def csv_bytes(*rows: str) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode("utf-8-sig")


def test_import_csv_all_good_and_idempotent(city):
    content = csv_bytes("A1,13800138000,,学费,秋季学费,2500.00,2026-12-31,否,",
                        "A2,13700137000,陈小明,住宿费,住宿费,1200.5,2026/12/31,是,600")
    result = bills_import(actor=city.cashier, filename="fall.csv", content=content)
    assert (result.ok, result.created, result.skipped, result.total_fen) == (True, 2, 0, 370050)
    a2 = Bill.objects.get(external_ref="A2")
    assert (a2.amount_fen, a2.allow_partial, a2.min_partial_fen, a2.kind, a2.batch_id) == (
        120050, True, 60000, "boarding", result.batch.pk)
    again = bills_import(actor=city.cashier, filename="fall.csv", content=content)
    assert (again.ok, again.created, again.skipped) == (True, 0, 2)
    assert Bill.objects.count() == 2


def test_import_with_bad_rows_writes_nothing(city):
    content = csv_bytes("A1,13800138000,,学费,秋季学费,2500.00,2026-12-31,否,",
                        "A2,13800138000,,学费,秋季学费,12.345,2026-12-31,否,",
                        "A3,13700137000,,停车,停车费,10,2026-12-31,否,",
                        "A1,13800138000,,罚款,罚款,50,2026-13-01,否,",
                        "A5,13800138000,,宠物,x,5,2026-12-31,也许,")
    result = bills_import(actor=city.cashier, filename="bad.csv", content=content)
    assert not result.ok
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "金额"), (4, "姓名"), (5, "截止日期"), (6, "允许部分缴纳"), (6, "类型")]
    assert Bill.objects.count() == 0 and BillBatch.objects.count() == 0


def test_import_duplicate_reference_in_file(city):
    content = csv_bytes("A1,13800138000,,学费,秋季学费,2500.00,2026-12-31,否,",
                        "A1,13800138000,,学费,秋季学费,2500.00,2026-12-31,否,")
    result = bills_import(actor=city.cashier, filename="dup.csv", content=content)
    assert [(e.row, e.column) for e in result.errors] == [(3, "编号")]
    assert Bill.objects.count() == 0


def test_import_xlsx(city):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["编号", "身份证号", "姓名", "类型", "项目", "金额", "截止日期"])
    sheet.append(["H1", "350102199001011238", "林志远", "医疗费", "住院押金", 3000, "2026-12-01"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = bills_import(actor=city.cashier, filename="h.xlsx", content=buffer.getvalue())
    assert (result.ok, result.created) == (True, 1)
    bill = Bill.objects.get()
    assert (bill.amount_fen, bill.kind, bill.payer_masked, bill.payer_name_masked) == (
        300000, "hospital", "3****************8", "林**")


def test_import_not_a_spreadsheet(city):
    with translation.override("en"):
        result = bills_import(actor=city.cashier, filename="x.xlsx", content=b"not a zip")
    assert [(e.row, e.message) for e in result.errors] == [(0, "This file is not an Excel workbook (.xlsx).")]


def test_dynamic_code_signature_and_expiry(city, clock):
    bill = issue(city)
    issued = code_dynamic_issue(actor=city.resident, bill_id=bill.public_id)
    assert issued.url.startswith("http") and "/pay/c/" in issued.url
    check = code_check(issued.token)
    assert check.ok and check.bill.pk == bill.pk
    tampered = issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")
    assert code_check(tampered).problem == "tampered"
    other = PaymentCode.objects.exclude(pk=issued.code.pk).first()
    assert other is None
    forged = issued.code.public_id[:-1] + "0" + issued.token[26:]
    assert code_check(forged).problem == "tampered"
    clock.advance(minutes=15)
    assert code_check(issued.token).problem == "expired"


def test_dynamic_code_reused_while_fresh(city, clock):
    bill = issue(city)
    first = code_dynamic_issue(actor=city.resident, bill_id=bill.public_id)
    clock.advance(minutes=9)
    assert code_dynamic_issue(actor=city.resident, bill_id=bill.public_id).code.pk == first.code.pk
    clock.advance(minutes=2)
    assert code_dynamic_issue(actor=city.resident, bill_id=bill.public_id).code.pk != first.code.pk


def test_static_code_one_per_payee(city):
    a = code_static_issue(actor=city.cashier)
    b = code_static_issue(actor=city.cashier)
    assert a.code.pk == b.code.pk and a.code.expires_at is None
    check = code_check(a.token)
    assert check.ok and check.bill is None and check.code.payee_id == city.school.pk
