"""Bulk issuing from a CSV or XLSX file, all or nothing.

Every row is validated (and its payer looked up) before anything is written; if any row is
bad, the result lists every bad row with its spreadsheet row number (the header is row 1),
the column and a sentence in the user's language, and nothing is written. Rows whose reference
(required) the payee already used for the same bill are skipped, so importing the same file
twice issues each bill once.

Columns (header row; Chinese or English names, any order): 编号/reference, 手机号/phone,
身份证号/id_number, 姓名/name, 类型/kind, 项目/title, 金额/amount (yuan), 截止日期/due_date,
允许部分缴纳/allow_partial (optional), 最低金额/min_partial (optional), 说明/description (optional).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.payments.access import cashier_payee_id
from onecity.payments.enums import BillKind
from onecity.payments.models import Bill, BillBatch
from onecity.payments.services.bills import BillInput, CleanBill, _same_bill, bill_clean, bill_create_row
from onecity.payments.services.common import yuan_to_fen

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000

COLUMNS: dict[str, tuple[str, ...]] = {
    "external_ref": ("编号", "缴费编号", "reference", "external_ref", "ref"),
    "resident_phone": ("手机号", "手机号码", "phone", "mobile"),
    "payer_id_number": ("身份证号", "身份证号码", "id_number", "id"),
    "payer_name": ("姓名", "缴费人", "name", "payer"),
    "kind": ("类型", "kind"),
    "title": ("项目", "名称", "title"),
    "amount": ("金额", "金额（元）", "金额(元)", "amount", "amount_yuan"),
    "due_date": ("截止日期", "due_date", "due"),
    "allow_partial": ("允许部分缴纳", "allow_partial"),
    "min_partial": ("最低金额", "最低金额（元）", "min_partial"),
    "description": ("说明", "备注", "description"),
}
REQUIRED = ("external_ref", "kind", "title", "amount", "due_date")
TRUE_WORDS = {"是", "y", "yes", "true", "1", "允许"}
FALSE_WORDS = {"", "否", "n", "no", "false", "0", "不允许"}


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number; the header is row 1, 0 = the file as a whole
    column: str
    message: str


@dataclass
class ImportResult:
    batch: BillBatch | None
    created: int = 0
    skipped: int = 0
    total_fen: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _kind_of(value: str) -> str | None:
    text = (value or "").strip()
    for kind in BillKind:
        if text.lower() == kind.value:
            return kind.value
    aliases = {"学费": "tuition", "住宿费": "boarding", "住宿": "boarding", "医疗费": "hospital", "医药费": "hospital",
               "诊疗费": "hospital", "罚款": "fine", "罚没": "fine", "水费": "utility", "电费": "utility",
               "燃气费": "utility", "水电费": "utility", "公用事业": "utility", "停车费": "parking", "停车": "parking",
               "其他": "other"}
    return aliases.get(text)


def _date_of(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        parts = text.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:
                return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError:
                return None
        return None


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows_of(filename: str, content: bytes) -> list[list]:
    name = filename.lower()
    if name.endswith(".xlsx"):
        if not content.startswith(b"PK"):
            raise ApplicationError(_("This file is not an Excel workbook (.xlsx)."), code="file_type")
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - any unreadable workbook is the same error for the user
            raise ApplicationError(_("This Excel file could not be read. Save it again as .xlsx and retry."),
                                   code="file_unreadable") from None
        sheet = workbook.worksheets[0]
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        workbook.close()
        return rows
    if name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes nearly anything
            raise ApplicationError(_("This CSV file is not UTF-8 or GB18030 text."), code="file_encoding")
        return [list(row) for row in csv.reader(io.StringIO(text))]
    raise ApplicationError(_("Upload a .csv or .xlsx file."), code="file_type")


def _header_map(header: list) -> tuple[dict[str, int], list[RowError]]:
    names = [_cell_text(h).lower() for h in header]
    found: dict[str, int] = {}
    for key, aliases in COLUMNS.items():
        for i, name in enumerate(names):
            if name in {a.lower() for a in aliases}:
                found[key] = i
                break
    errors = [RowError(1, COLUMNS[key][0], _("The header row has no “%(column)s” column.")
                       % {"column": COLUMNS[key][0]}) for key in REQUIRED if key not in found]
    if "resident_phone" not in found and "payer_id_number" not in found:
        errors.append(RowError(1, "手机号", _("The header row needs a “手机号” or a “身份证号” column.")))
    return found, errors


def _row_input(values: dict[str, object], row: int, errors: list[RowError]) -> BillInput | None:
    before = len(errors)
    kind = _kind_of(_cell_text(values.get("kind")))
    if kind is None:
        errors.append(RowError(row, "类型", _("Unknown kind “%(value)s”: use 学费, 住宿费, 医疗费, 罚款, 水电费, "
                                             "停车费 or 其他.") % {"value": _cell_text(values.get("kind"))}))
    amount = 0
    try:
        amount = yuan_to_fen(_cell_text(values.get("amount")))
    except ApplicationError as exc:
        errors.append(RowError(row, "金额", str(exc)))
    due = _date_of(values.get("due_date"))
    if due is None:
        errors.append(RowError(row, "截止日期", _("Enter the due date as YYYY-MM-DD.")))
    partial_text = _cell_text(values.get("allow_partial")).lower()
    allow_partial = partial_text in TRUE_WORDS
    if partial_text not in TRUE_WORDS | FALSE_WORDS:
        errors.append(RowError(row, "允许部分缴纳", _("Write 是 or 否.")))
    min_partial = 0
    if _cell_text(values.get("min_partial")):
        try:
            min_partial = yuan_to_fen(_cell_text(values.get("min_partial")))
        except ApplicationError as exc:
            errors.append(RowError(row, "最低金额", str(exc)))
    if not _cell_text(values.get("external_ref")):
        errors.append(RowError(row, "编号", _("Every row needs its own reference (编号), so that importing the "
                                             "file again does not issue the bill twice.")))
    if len(errors) > before:
        return None
    return BillInput(kind=kind, title=_cell_text(values.get("title")), amount_fen=amount, due_date=due,
                     resident_phone=_cell_text(values.get("resident_phone")),
                     payer_id_number=_cell_text(values.get("payer_id_number")),
                     payer_name=_cell_text(values.get("payer_name")), allow_partial=allow_partial,
                     min_partial_fen=min_partial, external_ref=_cell_text(values.get("external_ref")),
                     description=_cell_text(values.get("description")))


_FIELD_COLUMN = {"kind": "类型", "title": "项目", "amount": "金额", "due_date": "截止日期", "min_partial": "最低金额",
                 "external_ref": "编号", "resident_phone": "手机号", "payer_id_number": "身份证号",
                 "payer_name": "姓名", "description": "说明"}


def bills_import(*, actor, filename: str, content: bytes) -> ImportResult:
    """Validate every row of the file, then issue all its new bills in one transaction, or
    none (the result's `errors` say why)."""
    payee_id = cashier_payee_id(actor)
    if payee_id is None:
        raise PermissionDenied()
    filename = (filename or "").strip()[:200] or "bills"
    if len(content) > MAX_BYTES:
        return ImportResult(batch=None, errors=[RowError(0, "", _("The file is larger than 2 MB. Split it into "
                                                                     "smaller files."))])
    try:
        rows = _rows_of(filename, content)
    except ApplicationError as exc:
        return ImportResult(batch=None, errors=[RowError(0, "", str(exc))])
    rows = [r for r in rows if any(_cell_text(v) for v in r)] if rows else []
    if len(rows) < 2:
        return ImportResult(batch=None, errors=[RowError(0, "", _("The file has no bills: a header row and at least "
                                                                     "one bill row are needed."))])
    if len(rows) - 1 > MAX_ROWS:
        return ImportResult(batch=None, errors=[RowError(0, "", _("The file has more than %(max)d bills. Split it "
                                                                     "into smaller files.") % {"max": MAX_ROWS})])
    columns, errors = _header_map(rows[0])
    if errors:
        return ImportResult(batch=None, errors=errors)

    cleaned: list[tuple[int, CleanBill]] = []
    seen_refs: dict[str, int] = {}
    today = timezone.localdate()
    for offset, raw in enumerate(rows[1:], start=2):
        values = {key: (raw[i] if i < len(raw) else None) for key, i in columns.items()}
        data = _row_input(values, offset, errors)
        if data is None:
            continue
        if data.external_ref in seen_refs:
            errors.append(RowError(offset, "编号", _("The reference “%(ref)s” is also on row %(row)d.")
                                   % {"ref": data.external_ref, "row": seen_refs[data.external_ref]}))
            continue
        seen_refs[data.external_ref] = offset
        try:
            cleaned.append((offset, bill_clean(data, today=today)))
        except ApplicationError as exc:
            errors.append(RowError(offset, _FIELD_COLUMN.get(exc.field or "", exc.field or ""), str(exc)))

    existing = {b.external_ref: b for b in Bill.objects.filter(payee_id=payee_id, external_ref__in=list(seen_refs))}
    new: list[CleanBill] = []
    skipped = 0
    for row, clean in cleaned:
        old = existing.get(clean.data.external_ref)
        if old is None:
            new.append(clean)
        elif _same_bill(old, clean):
            skipped += 1
        else:
            errors.append(RowError(row, "编号", _("The reference “%(ref)s” was already used for a different bill.")
                                   % {"ref": clean.data.external_ref}))
    if errors:
        return ImportResult(batch=None, errors=sorted(errors, key=lambda e: (e.row, e.column)))
    try:
        return _write(actor=actor, payee_id=payee_id, filename=filename, content=content, rows=len(rows) - 1,
                      new=new, skipped=skipped)
    except IntegrityError:  # another import or issue took one of these references a moment ago
        return ImportResult(batch=None, errors=[RowError(0, "", _("Some of these bills were issued by someone else "
                                                                     "a moment ago. Nothing was imported; upload the "
                                                                     "file again."))])


@transaction.atomic
def _write(*, actor, payee_id: int, filename: str, content: bytes, rows: int, new: list[CleanBill],
           skipped: int) -> ImportResult:
    now = timezone.now()
    total = sum(c.data.amount_fen for c in new)
    batch = BillBatch.objects.create(payee_id=payee_id, filename=filename,
                                     file_sha256=hashlib.sha256(content).hexdigest(), row_count=rows,
                                     created_count=len(new), total_fen=total, created_by=actor, created_at=now)
    for clean in new:
        bill_create_row(payee_id=payee_id, clean=clean, actor=actor, batch=batch, now=now)
    audit_record(actor=actor, action="payments.bills_import", object_type="bill_batch", object_id=batch.public_id,
                 detail={"rows": rows, "created": len(new), "skipped": skipped, "total_fen": total})
    return ImportResult(batch=batch, created=len(new), skipped=skipped, total_fen=total)
