"""Masking of personal data wherever it is shown or logged.

ID numbers keep the first and last character; phone numbers keep 3 + 4 digits
(138****8000); names keep the family name (张*, 欧阳**); bank cards keep the last four.
"""

from __future__ import annotations

import logging
import re


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    value = str(value)
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    value = str(value)
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "****" + value[-4:]


COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯")


def mask_name(value: str | None) -> str:
    if not value:
        return ""
    value = str(value)
    if not re.search(r"[\u4e00-\u9fff]", value):
        return value[0] + "*" * max(len(value) - 1, 1)
    keep = 2 if value[:2] in COMPOUND_SURNAMES and len(value) > 2 else 1
    return value[:keep] + "*" * max(len(value) - keep, 1)


def mask_card(value: str | None) -> str:
    if not value:
        return ""
    digits = re.sub(r"\D", "", str(value))
    return "**** " + digits[-4:] if len(digits) >= 4 else "****"


_ID_RE = re.compile(r"(?<![0-9])([1-9][0-9]{5})(1[89][0-9]{2}|20[0-9]{2})([0-9]{6})([0-9])([0-9Xx])(?![0-9])")
_PHONE_RE = re.compile(r"(?<![0-9])(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9])")


def mask_text(text: str) -> str:
    """Mask every resident ID number and mobile number found in free text."""
    text = _ID_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)


class PersonalDataLogFilter(logging.Filter):
    """Logging filter: no ID number or phone number reaches a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken log call must not break the caller
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
