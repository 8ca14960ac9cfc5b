"""CSV and XLSX responses of a dashboard's ranking table (decisions 0011, 0018): exactly the
rows and columns shown, in the same order, with the same headings and a rank column."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from django.http import HttpResponse
from django.utils.translation import gettext as _

from onecity.analytics.formatting import display

XLSX_FORMATS = {"count": "#,##0", "decimal": "#,##0.0", "rate": "0.00%", "hours": "0.0", "money": "#,##0.00"}


def csv_response(*, filename: str, cols: Sequence, rows: Sequence) -> HttpResponse:
    """UTF-8 with a byte-order mark (Excel opens it as such); figures without thousands separators."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Rank"), *[c.label for c in cols]])
    for index, row in enumerate(rows, start=1):
        writer.writerow([index, *[display(row.value(c.key), c.kind, grouping=False) for c in cols]])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _cell(value, kind: str):
    """Money is stored in fen and written in yuan."""
    return value / 100 if kind == "money" and value is not None else value


def xlsx_response(*, filename: str, title: str, cols: Sequence, rows: Sequence) -> HttpResponse:
    """One sheet: a bold heading row, number formats per column kind, the first columns frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([_("Rank"), *[c.label for c in cols]])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, row in enumerate(rows, start=1):
        sheet.append([index, *[_cell(row.value(c.key), c.kind) for c in cols]])
        for offset, column in enumerate(cols, start=2):
            if column.kind in XLSX_FORMATS:
                sheet.cell(row=index + 1, column=offset).number_format = XLSX_FORMATS[column.kind]
    sheet.column_dimensions["B"].width = 32
    sheet.freeze_panes = "C2"
    output = io.BytesIO()
    book.save(output)
    response = HttpResponse(output.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
