"""Labelled examples from CSV files: a header with the columns ``text`` and ``category`` (others
are ignored), UTF-8 with or without a byte-order mark.

Rows whose text or category is empty after trimming are skipped and counted (a CSV exported
from a spreadsheet often has blank lines or half-filled rows, and one bad row should not
void a file of thousands); a file with no usable row at all is an error.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

REQUIRED_COLUMNS = ("text", "category")


class DatasetError(ValueError):
    """The CSV file cannot be read as labelled examples; the message says why."""


@dataclass(frozen=True)
class Dataset:
    texts: list[str]
    labels: list[str]
    skipped: int  # rows without text or category

    def __len__(self) -> int:
        return len(self.texts)


def read_csv(path: str | Path) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    texts: list[str] = []
    labels: list[str] = []
    skipped = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames
            if not header:
                raise DatasetError(f"{path}: the file is empty; it needs a header line with the columns text,category")
            missing = [c for c in REQUIRED_COLUMNS if c not in {(h or "").strip() for h in header}]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}; the header has "
                                   f"{', '.join(h for h in header if h) or 'no names'}, it needs text,category")
            names = {(h or "").strip(): h for h in header}
            for row in reader:
                text = (row.get(names["text"]) or "").strip()
                label = (row.get(names["category"]) or "").strip()
                if not text or not label:
                    skipped += 1
                    continue
                texts.append(text)
                labels.append(label)
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise DatasetError(f"{path}: not a valid CSV file ({error})") from None
    if not texts:
        raise DatasetError(f"{path}: no row has both a text and a category ({skipped} row(s) skipped)")
    return Dataset(texts=texts, labels=labels, skipped=skipped)
