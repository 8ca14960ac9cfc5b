"""EMVCo merchant-presented payloads: the published samples, round trips and every rejection."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from onecity.payments import emv
from onecity.payments.emv import EmvError, checksum, decode, encode, payee_payload

# EMV QRCPS Merchant-Presented Mode v1.1, the worked example (Annex); Pix: Manual de Padrões
# para Iniciação do Pix (Banco Central do Brasil), the static BR Code example.
EMVCO_SAMPLE = (
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN"
    "5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***"
    "0708A60086670902ME91320016A0112233449988770708123456786304A13A"
)
PIX_SAMPLE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR"
    "5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def reseal(body_through_6304: str) -> str:
    return body_through_6304 + checksum(body_through_6304)


def test_crc_check_value():
    assert emv.crc16_ccitt_false(b"123456789") == 0x29B1


def test_emvco_sample_decodes_field_by_field():
    p = decode(EMVCO_SAMPLE)
    assert [(r.id, r.value) for r in p.records] == [
        ("00", "01"), ("01", "12"), ("29", "0012D156000000000510A93FO3230Q"),
        ("31", "0012D15600000001030812345678"), ("52", "4111"), ("58", "CN"), ("59", "BEST TRANSPORT"),
        ("60", "BEIJING"), ("64", "0002ZH0104最佳运输0202北京"), ("54", "23.72"), ("53", "156"), ("55", "01"),
        ("62", "030412340603***0708A60086670902ME"), ("91", "0016A011223344998877070812345678"), ("63", "A13A"),
    ]
    assert [(r.id, r.value) for r in p.get("29").children] == [("00", "D15600000000"), ("05", "A93FO3230Q")]
    assert [(r.id, r.value) for r in p.get("31").children] == [("00", "D15600000001"), ("03", "12345678")]
    assert [(r.id, r.name, r.value) for r in p.language_template.children] == [
        ("00", "Language Preference", "ZH"),
        ("01", "Merchant Name - Alternate Language", "最佳运输"),
        ("02", "Merchant City - Alternate Language", "北京"),
    ]
    assert [(r.id, r.name, r.value) for r in p.additional_data.children] == [
        ("03", "Store Label", "1234"), ("06", "Customer Label", "***"),
        ("07", "Terminal Label", "A6008667"), ("09", "Additional Consumer Data Request", "ME"),
    ]
    assert [(r.id, r.name, r.value) for r in p.get("91").children] == [
        ("00", "Globally Unique Identifier", "A011223344998877"), ("07", "Context Specific Data", "12345678"),
    ]
    assert p.get("91").name == "Unreserved Template"
    assert p.payload_format_indicator == "01"
    assert p.point_of_initiation == "dynamic"
    assert p.merchant_category_code == "4111"
    assert p.currency == "156"
    assert p.amount == Decimal("23.72")
    assert p.amount_fen == 2372
    assert p.tip_indicator == "01"
    assert p.convenience_fee_fixed is None
    assert (p.country, p.merchant_name, p.merchant_city, p.postal_code) == ("CN", "BEST TRANSPORT", "BEIJING", None)
    assert p.crc == "A13A"
    assert [r.id for r in p.merchant_accounts] == ["29", "31"]


def test_pix_static_sample_decodes_field_by_field():
    p = decode(PIX_SAMPLE)
    assert [(r.id, r.value) for r in p.records] == [
        ("00", "01"), ("26", "0014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"), ("52", "0000"),
        ("53", "986"), ("58", "BR"), ("59", "Fulano de Tal"), ("60", "BRASILIA"), ("62", "0503***"), ("63", "1D3D"),
    ]
    account = p.get("26")
    assert [(r.id, r.name, r.value) for r in account.children] == [
        ("00", "Globally Unique Identifier", "br.gov.bcb.pix"),
        ("01", "Payment Network Specific", "123e4567-e12b-12d1-a456-426655440000"),
    ]
    assert account.child("00") == "br.gov.bcb.pix"
    assert p.point_of_initiation is None
    assert p.amount is None and p.amount_fen is None
    assert p.additional_data.child("05") == "***"


def test_both_samples_reencode_to_themselves():
    assert encode(decode(EMVCO_SAMPLE)) == EMVCO_SAMPLE
    assert encode(decode(PIX_SAMPLE)) == PIX_SAMPLE


def test_lengths_count_characters_and_crc_covers_utf8_bytes():
    payload = encode({"26": {"00": "cn.gov.fuzhou.onecity", "01": "M1"}, "52": "9399", "53": "156", "58": "CN",
                      "59": "Fuzhou", "60": "Fuzhou", "64": {"00": "ZH", "01": "福州市自来水公司"}})
    assert "64180002ZH0108福州市自来水公司" in payload
    assert payload[-4:] == f"{emv.crc16_ccitt_false(payload[:-4].encode('utf-8')):04X}"
    assert decode(payload).language_template.child("01") == "福州市自来水公司"


@pytest.mark.parametrize(("payload", "code", "reason"), [
    (EMVCO_SAMPLE[:-4] + "A13B", "emv_crc", "The checksum does not match: the code says A13B, its content gives A13A."),
    (PIX_SAMPLE[:-8], "emv_missing", "The code has no checksum (63)."),
    (PIX_SAMPLE[6:], "emv_missing", "The code does not start with the payload format indicator (00)."),
    (reseal("0002010102115802CN5802CN6304"), "emv_duplicate", "Record 58 appears twice."),
    (reseal("00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000520400005303986"
            "5802BR5913Fulano de Tal6008BRASILIA62140503***0503***6304"),
     "emv_duplicate", "Record 05 appears twice inside template 62."),
    ("000201015012", "emv_overrun", "Record 01 at character 6 says 50 characters but only 2 are left."),
    ("00020101X212", "emv_bad_length", "The length 'X2' of record 01 at character 6 is not two digits."),
    ("000201A102xx", "emv_bad_id", "The record ID 'A1' at character 6 is not two digits."),
    ("000", "emv_truncated", "The code ends in the middle of a record at character 0."),
    ("", "emv_empty", "The code is empty."),
])
def test_invalid_payloads_are_rejected_with_the_reason(payload, code, reason):
    with pytest.raises(EmvError) as caught:
        decode(payload)
    assert (caught.value.code, str(caught.value)) == (code, reason)


def test_crc_must_be_last():
    payload = PIX_SAMPLE[:-19] + "63041D3D" + "62070503***"  # 63 moved before 62
    with pytest.raises(EmvError) as caught:
        decode(payload)
    assert str(caught.value) == "The checksum (63) is not the last record."


def test_crc_length_must_be_4():
    with pytest.raises(EmvError) as caught:
        decode(PIX_SAMPLE[:-8] + "63031D3")
    assert str(caught.value) == "The checksum (63) must be 4 characters long."


def test_payload_format_indicator_must_be_01():
    with pytest.raises(EmvError) as caught:
        decode(reseal("000202" + PIX_SAMPLE[6:-4]))
    assert str(caught.value) == "Record 00 (Payload Format Indicator) is '02': it must be 01."


@pytest.mark.parametrize(("replace", "reason"), [
    (("52040000", "5203000"), "Record 52 (Merchant Category Code) is '000': a merchant category code is four digits."),
    (("5303986", "5303CNY"), "Record 53 (Transaction Currency) is 'CNY': a currency is a three-digit ISO 4217 code."),
    (("5802BR", "5802BR540412,3"), "Record 54 (Transaction Amount) is '12,3': an amount is up to 13 characters "
                                  "of digits with one optional decimal point."),
    (("5802BR", "5802BR550204"), "Record 55 (Tip or Convenience Indicator) is '04': it must be 01, 02 or 03."),
    (("5802BR", "5802BR5502015603100"), "Record 56 (Value of Convenience Fee Fixed) is '100': a fixed "
                                        "convenience fee needs record 55 to be 02."),
    (("00020126", "00020101021326"),
     "Record 01 (Point of Initiation Method) is '13': it must be 11 (static) or 12 (dynamic)."),
    (("6008BRASILIA", "6016BRASILIABRASILIA"), "Record 60 (Merchant City) is 'BRASILIABRASILIA': a merchant "
                                               "city is at most 15 characters."),
    (("26580014br.gov.bcb.pix", "26580214br.gov.bcb.pix"),
     "Template 26 does not start with its globally unique identifier (00)."),
])
def test_field_rules(replace, reason):
    old, new = replace
    with pytest.raises(EmvError) as caught:
        decode(reseal(PIX_SAMPLE[:-4].replace(old, new, 1)))
    assert str(caught.value) == reason


def test_mandatory_records():
    with pytest.raises(EmvError) as caught:
        decode(reseal(PIX_SAMPLE[:-4].replace("5913Fulano de Tal", "")))
    assert str(caught.value) == "The code lacks mandatory record(s) 59."
    with pytest.raises(EmvError) as caught:
        decode(reseal(PIX_SAMPLE[:-4].replace("26580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000", "")))
    assert str(caught.value) == "The code names no merchant account (records 02 to 51)."


def test_encode_refuses_what_decode_would_refuse():
    with pytest.raises(EmvError) as caught:
        encode({"26": {"00": "x"}, "52": "9399", "53": "156", "58": "CN", "59": "n" * 100, "60": "Fuzhou"})
    assert str(caught.value) == "Record 59 must hold 1 to 99 characters, not 100."


# --- property: whatever encode builds, decode reads back -------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
_template = st.dictionaries(st.sampled_from([f"{i:02d}" for i in range(1, 20)]), _text, max_size=3).map(
    lambda d: {"00": "cn.gov.fuzhou", **d})


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    accounts=st.dictionaries(st.sampled_from([f"{i:02d}" for i in range(26, 52)]), _template, min_size=1, max_size=3),
    extra=st.dictionaries(st.sampled_from([f"{i:02d}" for i in range(80, 100)]), _template, max_size=2),
    initiation=st.sampled_from([None, "11", "12"]),
    amount_fen=st.one_of(st.none(), st.integers(min_value=1, max_value=10**11)),
    name=st.text(min_size=1, max_size=25).filter(lambda s: len(s) > 0),
    city=_text,
    additional=st.dictionaries(st.sampled_from(["01", "03", "05", "07"]), _text, max_size=3),
    language=st.one_of(st.none(), st.fixed_dictionaries({"00": st.just("ZH"), "01": _text})),
)
def test_encode_decode_round_trip(accounts, extra, initiation, amount_fen, name, city, additional, language):
    fields: dict = {}
    if initiation:
        fields["01"] = initiation
    fields.update(accounts)
    fields.update({"52": "9399", "53": "156"})
    if amount_fen is not None:
        fields["54"] = f"{amount_fen // 100}.{amount_fen % 100:02d}"
    fields.update({"58": "CN", "59": name, "60": city})
    if additional:
        fields["62"] = additional
    if language:
        fields["64"] = language
    fields.update(extra)
    payload = encode(fields)
    decoded = decode(payload)
    assert [r.id for r in decoded.records] == ["00", *fields.keys(), "63"]
    for data_id, value in fields.items():
        record = decoded.get(data_id)
        if isinstance(value, dict):
            assert {c.id: c.value for c in record.children} == value
        else:
            assert record.value == value
    assert decoded.amount_fen == amount_fen
    assert encode(decoded) == payload


# --- the payee code ---------------------------------------------------------------------------

def test_payee_payload_static():
    p = decode(payee_payload(merchant_id="M0001", name="Fuzhou Water", reference="B01"))
    assert p.point_of_initiation == "static"
    assert p.value("15") == "48613910" "48613910" "0000000000M0001"
    assert p.get("26").children[0].value == "cn.gov.fuzhou.onecity"
    assert p.get("26").child("01") == "M0001"
    assert (p.currency, p.country, p.merchant_name, p.merchant_city, p.amount) == ("156", "CN", "Fuzhou Water",
                                                                                    "Fuzhou", None)
    assert p.additional_data.child("05") == "B01"
    assert p.language_template is None


def test_payee_payload_dynamic_with_chinese_name():
    payload = payee_payload(merchant_id="M0001", name="福州市不动产登记中心", amount_fen=1205)
    p = decode(payload)
    assert p.point_of_initiation == "dynamic"
    assert (p.value("54"), p.amount_fen) == ("12.05", 1205)
    assert p.language_template.child("01") == "福州市不动产登记中心"
    assert p.language_template.child("02") == "福州"


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"merchant_id": "M-1", "name": "x"}, "A merchant id is 1 to 15 letters or digits."),
    ({"merchant_id": "M1", "name": "x", "amount_fen": 0}, "An amount must be more than zero."),
])
def test_payee_payload_refuses_bad_input(kwargs, reason):
    with pytest.raises(EmvError) as caught:
        payee_payload(**kwargs)
    assert str(caught.value) == reason


# --- onecity qr emv-decode --------------------------------------------------------------------

def test_command_prints_json(capsys):
    call_command("qr", "emv-decode", PIX_SAMPLE)
    out = json.loads(capsys.readouterr().out)
    assert out["records"][1] == {
        "id": "26", "name": "Merchant Account Information", "length": 58,
        "value": "0014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000",
        "nested": [
            {"id": "00", "name": "Globally Unique Identifier", "length": 14, "value": "br.gov.bcb.pix"},
            {"id": "01", "name": "Payment Network Specific", "length": 36,
             "value": "123e4567-e12b-12d1-a456-426655440000"},
        ],
    }
    assert [r["id"] for r in out["records"]] == ["00", "26", "52", "53", "58", "59", "60", "62", "63"]


def test_command_rejects_invalid_payload():
    with pytest.raises(CommandError) as caught:
        call_command("qr", "emv-decode", PIX_SAMPLE[:-1] + "E")
    assert caught.value.returncode == 1
    assert str(caught.value) == ("Not a valid EMVCo payment code: The checksum does not match: "
                                 "the code says 1D3E, its content gives 1D3D.")


def _onecity(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[3]
    return subprocess.run([sys.executable, "-m", "onecity.cli", *args], cwd=root, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


def test_command_reads_standard_input(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(EMVCO_SAMPLE + "\n"))
    call_command("qr", "emv-decode", "-")
    records = json.loads(capsys.readouterr().out)["records"]
    assert records[8]["nested"][1] == {"id": "01", "name": "Merchant Name - Alternate Language", "length": 4,
                                       "value": "最佳运输"}


def test_console_exit_status_and_stderr():
    bad = _onecity("qr", "emv-decode", "000201A102xx")
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr == "CommandError: 不是有效的EMVCo付款码：第6个字符处的记录编号'A1'不是两位数字。\n"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(
    st.text(max_size=80),
    st.text(alphabet="0123456789ABCDEF *.", max_size=80),
    st.tuples(st.sampled_from([EMVCO_SAMPLE, PIX_SAMPLE]), st.integers(0, 300), st.text(min_size=1, max_size=3)).map(
        lambda t: t[0][:t[1] % len(t[0])] + t[2] + t[0][t[1] % len(t[0]) + 1:]),
))
def test_any_text_decodes_or_raises_emv_error(text):
    """A scanner hands us whatever it read: the only failure is an EmvError with a reason."""
    try:
        decoded = decode(text)
    except EmvError as exc:
        assert str(exc)
    else:
        assert checksum(text[:-4]) == decoded.crc.upper()
        assert decoded.records[0].id == "00" and decoded.records[-1].id == "63"
