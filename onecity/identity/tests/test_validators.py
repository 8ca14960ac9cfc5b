"""National identifiers: resident ID numbers (GB 11643), unified social credit codes (GB 32100),
mobile numbers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from onecity.core.validators import (
    normalise_phone,
    parse_resident_id,
    region_name,
    resident_id_check_char,
    resident_id_make,
    uscc_check_char,
    uscc_make,
    validate_phone,
    validate_uscc,
)


def error_code(func, value):
    with pytest.raises(ValidationError) as exc:
        func(value)
    return exc.value.code


# --- resident ID numbers ---------------------------------------------------------------------
def test_valid_resident_ids():
    info = parse_resident_id("11010519491231002X")
    assert (info.number, info.region_code, info.birth_date, info.sex) == (
        "11010519491231002X", "110105", dt.date(1949, 12, 31), "F")
    info = parse_resident_id(" 350102199001011238 ")
    assert (info.region_code, info.birth_date, info.sex) == ("350102", dt.date(1990, 1, 1), "M")
    assert parse_resident_id("11010519491231002x").number == "11010519491231002X"


def test_check_character():
    assert resident_id_check_char("11010519491231002") == "X"
    assert resident_id_check_char("35010219900101123") == "8"
    assert error_code(parse_resident_id, "110105194912310021") == "id_checksum"
    assert error_code(parse_resident_id, "350102199001011239") == "id_checksum"


@pytest.mark.parametrize("value", ["", "1101051949123100", "11010519491231002XX", "1101051949123100AX",
                                   "X10105194912310021"])
def test_format(value):
    assert error_code(parse_resident_id, value) == "id_format"


def test_bad_birth_dates():
    feb30 = "35010219900230123"
    assert error_code(parse_resident_id, feb30 + resident_id_check_char(feb30)) == "id_birth_date"
    future = "350102" + "20991231" + "123"
    assert error_code(parse_resident_id, future + resident_id_check_char(future)) == "id_birth_date"
    old = "350102" + "18700101" + "123"
    assert error_code(parse_resident_id, old + resident_id_check_char(old)) == "id_birth_date"
    body = "35010220000229123"  # 29 February 2000 existed
    assert parse_resident_id(body + resident_id_check_char(body)).birth_date == dt.date(2000, 2, 29)
    body = "35010219000229123"  # 1900 was not a leap year
    assert error_code(parse_resident_id, body + resident_id_check_char(body)) == "id_birth_date"


def test_unknown_region():
    body = "99010219900101123"
    assert error_code(parse_resident_id, body + resident_id_check_char(body)) == "id_region"
    body = "35999919900101123"
    assert error_code(parse_resident_id, body + resident_id_check_char(body)) == "id_region"


def test_resident_id_make_round_trip():
    number = resident_id_make("350102", dt.date(1985, 6, 15), 457)
    info = parse_resident_id(number)
    assert (info.region_code, info.birth_date, info.sex) == ("350102", dt.date(1985, 6, 15), "M")
    assert parse_resident_id(resident_id_make("350102", dt.date(1985, 6, 15), 458)).sex == "F"


def test_region_names():
    assert region_name("350102") == "福建省福州市鼓楼区"
    assert region_name("350100") == "福建省福州市"
    assert region_name("350000") == "福建省"


def test_messages_are_translated():
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as exc:
            parse_resident_id("110105194912310021")
        assert exc.value.messages == ["身份证号码校验位不正确，请核对号码。"]
    with translation.override("en"):
        with pytest.raises(ValidationError) as exc:
            parse_resident_id("110105194912310021")
        assert exc.value.messages == ["This resident ID number's check character is wrong. Please check the number."]


# --- unified social credit codes ---------------------------------------------------------------
@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110108551385082Q", "91350100m000100y43"])
def test_real_uscc_codes_are_valid(code):
    validate_uscc(code)


def test_uscc_check_characters():
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert uscc_check_char("91110108551385082") == "Q"
    assert error_code(validate_uscc, "91350100M000100Y44") == "uscc_checksum"
    assert error_code(validate_uscc, "91110108551385082R") == "uscc_checksum"


@pytest.mark.parametrize("code, expected", [
    ("", "uscc_format"),
    ("91350100M000100Y4", "uscc_format"),
    ("91350100M000100YI3", "uscc_format"),  # I is not in the alphabet
    ("91350100O000100Y43", "uscc_format"),  # nor O
])
def test_uscc_format(code, expected):
    assert error_code(validate_uscc, code) == expected


def test_uscc_authority_region_and_org_code():
    body = "B1350100M000100Y4"  # B is not a registration authority
    assert error_code(validate_uscc, body + uscc_check_char(body)) == "uscc_authority"
    body = "9135A100M000100Y4"
    assert error_code(validate_uscc, body + uscc_check_char(body)) == "uscc_region"
    body = "91350100M000100Y5"  # organisation code check character wrong, outer check recomputed
    assert error_code(validate_uscc, body + uscc_check_char(body)) == "uscc_org_code"


def test_uscc_make_round_trip():
    code = uscc_make("11", "350100", "M0001000")
    validate_uscc(code)
    assert code.startswith("11350100M0001000")


# --- mobile numbers -----------------------------------------------------------------------------
def test_phones():
    assert normalise_phone("+86 138-0013-8000") == "13800138000"
    assert normalise_phone("8613800138000") == "13800138000"
    validate_phone("13800138000")
    validate_phone("199 0000 0000")
    for bad in ["", "1380013800", "23800138000", "12800138000", "138001380001"]:
        assert error_code(validate_phone, bad) == "phone_format"
