"""EMVCo merchant-presented QR payloads (EMV QRCPS-MPM): decode, validate and encode.

A payload is a flat list of ID-length-value records: a two-digit ID, a two-digit length and
the value. The length counts *characters*, not bytes (a merchant name in the language
template 64 may be Chinese). Some IDs hold nested records ("templates"):

    02-25   primitive merchant account information (Visa, Mastercard, ..., 15-16 UnionPay)
    26-51   merchant account information templates, each starting with 00 (globally
            unique identifier: an AID or a reverse domain name such as br.gov.bcb.pix)
    62      additional data field template (bill number, reference label, ...); its own
            IDs 50-99 are payment-system-specific templates
    64      merchant information - language template (alternate-language name and city)
    80-99   unreserved templates (spec 4.5: "templates", each starting with 00 GUI)

The checksum (ID 63, length 04) is the last record: CRC-16/CCITT-FALSE (poly 0x1021, init
0xFFFF, no reflection, no final xor) over the UTF-8 bytes of the whole payload up to and
including "6304", written as four upper-case hexadecimal digits.

`decode()` returns an `EmvPayload` or raises `EmvError` whose message says what is wrong;
`encode()` builds a payload and its checksum; `payee_payload()` builds the code the city
prints for a payee (UnionPay-acceptable, with the platform's own template).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from onecity.core.errors import ApplicationError

# --- names of the data objects (EMV QRCPS Merchant-Presented Mode v1.1, tables 3.x-4.x) -----

_TOP_NAMES: dict[str, str] = {
    "00": "Payload Format Indicator",
    "01": "Point of Initiation Method",
    "52": "Merchant Category Code",
    "53": "Transaction Currency",
    "54": "Transaction Amount",
    "55": "Tip or Convenience Indicator",
    "56": "Value of Convenience Fee Fixed",
    "57": "Value of Convenience Fee Percentage",
    "58": "Country Code",
    "59": "Merchant Name",
    "60": "Merchant City",
    "61": "Postal Code",
    "62": "Additional Data Field Template",
    "63": "CRC",
    "64": "Merchant Information - Language Template",
}
_NETWORKS = {  # IDs 02-25: primitive merchant account information reserved per network
    **dict.fromkeys(("02", "03"), "Visa"),
    **dict.fromkeys(("04", "05"), "Mastercard"),
    **dict.fromkeys(("06", "07", "08"), "EMVCo"),
    **dict.fromkeys(("09", "10"), "Discover"),
    **dict.fromkeys(("11", "12"), "Amex"),
    **dict.fromkeys(("13", "14"), "JCB"),
    **dict.fromkeys(("15", "16"), "UnionPay"),
    **{f"{i:02d}": "EMVCo" for i in range(17, 26)},
}
_ADDITIONAL_NAMES = {
    "01": "Bill Number",
    "02": "Mobile Number",
    "03": "Store Label",
    "04": "Loyalty Number",
    "05": "Reference Label",
    "06": "Customer Label",
    "07": "Terminal Label",
    "08": "Purpose of Transaction",
    "09": "Additional Consumer Data Request",
    "10": "Merchant Tax ID",
    "11": "Merchant Channel",
}
_LANGUAGE_NAMES = {
    "00": "Language Preference",
    "01": "Merchant Name - Alternate Language",
    "02": "Merchant City - Alternate Language",
}

MERCHANT_ACCOUNT_TEMPLATE_IDS = frozenset(f"{i:02d}" for i in range(26, 52))
UNRESERVED_TEMPLATE_IDS = frozenset(f"{i:02d}" for i in range(80, 100))
TEMPLATE_IDS = MERCHANT_ACCOUNT_TEMPLATE_IDS | UNRESERVED_TEMPLATE_IDS | {"62", "64"}
MERCHANT_ACCOUNT_IDS = frozenset(f"{i:02d}" for i in range(2, 52))
MANDATORY_IDS = ("00", "52", "53", "58", "59", "60", "63")
MAX_PAYLOAD_CHARS = 512


def top_level_name(data_id: str) -> str:
    if data_id in _TOP_NAMES:
        return _TOP_NAMES[data_id]
    if data_id in _NETWORKS:
        return f"Merchant Account Information ({_NETWORKS[data_id]})"
    if data_id in MERCHANT_ACCOUNT_TEMPLATE_IDS:
        return "Merchant Account Information"
    if data_id in UNRESERVED_TEMPLATE_IDS:
        return "Unreserved Template"
    return "RFU for EMVCo"


def nested_name(parent_id: str, data_id: str) -> str:
    if parent_id == "62":
        if data_id in _ADDITIONAL_NAMES:
            return _ADDITIONAL_NAMES[data_id]
        return "Payment System Specific Template" if int(data_id) >= 50 else "RFU for EMVCo"
    if parent_id == "64":
        return _LANGUAGE_NAMES.get(data_id, "RFU for EMVCo")
    if data_id == "00":
        return "Globally Unique Identifier"
    return "Payment Network Specific" if parent_id in MERCHANT_ACCOUNT_TEMPLATE_IDS else "Context Specific Data"


# --- data types -----------------------------------------------------------------------------

class EmvError(ApplicationError):
    """The payload is not a valid EMVCo merchant-presented QR code; the message says why."""

    def __init__(self, message, *, code: str = "emv_invalid", position: int | None = None):
        super().__init__(message, code=code)
        self.position = position


@dataclass(frozen=True)
class EmvRecord:
    id: str
    value: str
    name: str
    children: tuple[EmvRecord, ...] | None = None  # parsed records of a template, else None

    def child(self, data_id: str) -> str | None:
        for record in self.children or ():
            if record.id == data_id:
                return record.value
        return None

    def as_dict(self) -> dict:
        out: dict = {"id": self.id, "name": self.name, "length": len(self.value), "value": self.value}
        if self.children is not None:
            out["nested"] = [c.as_dict() for c in self.children]
        return out


@dataclass(frozen=True)
class EmvPayload:
    """A decoded payload: the records in their order, and the named fields of the spec."""

    records: tuple[EmvRecord, ...]

    def get(self, data_id: str) -> EmvRecord | None:
        for record in self.records:
            if record.id == data_id:
                return record
        return None

    def value(self, data_id: str) -> str | None:
        record = self.get(data_id)
        return record.value if record else None

    @property
    def payload_format_indicator(self) -> str:
        return self.value("00") or ""

    @property
    def point_of_initiation(self) -> str | None:
        """"static" (11: the same code for many payments), "dynamic" (12: one payment) or None."""
        return {"11": "static", "12": "dynamic"}.get(self.value("01") or "")

    @property
    def merchant_accounts(self) -> tuple[EmvRecord, ...]:
        return tuple(r for r in self.records if r.id in MERCHANT_ACCOUNT_IDS)

    @property
    def merchant_category_code(self) -> str:
        return self.value("52") or ""

    @property
    def currency(self) -> str:
        """ISO 4217 numeric code, e.g. "156" for CNY, "986" for BRL."""
        return self.value("53") or ""

    @property
    def amount(self) -> Decimal | None:
        raw = self.value("54")
        return Decimal(raw) if raw else None

    @property
    def amount_fen(self) -> int | None:
        """The amount in minor units when the currency has two decimals (CNY fen)."""
        amount = self.amount
        return int(amount * 100) if amount is not None and amount * 100 == int(amount * 100) else None

    @property
    def tip_indicator(self) -> str | None:
        return self.value("55")

    @property
    def convenience_fee_fixed(self) -> Decimal | None:
        raw = self.value("56")
        return Decimal(raw) if raw else None

    @property
    def convenience_fee_percentage(self) -> Decimal | None:
        raw = self.value("57")
        return Decimal(raw) if raw else None

    @property
    def country(self) -> str:
        return self.value("58") or ""

    @property
    def merchant_name(self) -> str:
        return self.value("59") or ""

    @property
    def merchant_city(self) -> str:
        return self.value("60") or ""

    @property
    def postal_code(self) -> str | None:
        return self.value("61")

    @property
    def additional_data(self) -> EmvRecord | None:
        return self.get("62")

    @property
    def language_template(self) -> EmvRecord | None:
        return self.get("64")

    @property
    def crc(self) -> str:
        return self.value("63") or ""

    def as_dict(self) -> dict:
        return {"records": [r.as_dict() for r in self.records]}


# --- checksum -------------------------------------------------------------------------------

def crc16_ccitt_false(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def checksum(text_through_6304: str) -> str:
    """The four hex digits of ID 63 for everything up to and including "6304"."""
    return f"{crc16_ccitt_false(text_through_6304.encode('utf-8')):04X}"


# --- decoding -------------------------------------------------------------------------------

_DIGITS2 = re.compile(r"[0-9]{2}")


def _split(text: str, *, offset: int, where: str) -> list[tuple[str, str, int]]:
    """Split ID-length-value records; (id, value, position) each. Lengths count characters."""
    out: list[tuple[str, str, int]] = []
    seen: set[str] = set()
    i = 0
    while i < len(text):
        pos = offset + i
        head = text[i:i + 4]
        if len(head) < 4:
            raise EmvError(_("The code ends in the middle of a record at character %(pos)d%(where)s.")
                           % {"pos": pos, "where": where}, code="emv_truncated", position=pos)
        data_id, length = head[:2], head[2:]
        if not _DIGITS2.fullmatch(data_id):
            raise EmvError(_("The record ID %(id)r at character %(pos)d%(where)s is not two digits.")
                           % {"id": data_id, "pos": pos, "where": where}, code="emv_bad_id", position=pos)
        if not _DIGITS2.fullmatch(length):
            raise EmvError(_("The length %(length)r of record %(id)s at character %(pos)d%(where)s is not two digits.")
                           % {"length": length, "id": data_id, "pos": pos, "where": where},
                           code="emv_bad_length", position=pos)
        size = int(length)
        if size == 0:
            raise EmvError(_("Record %(id)s at character %(pos)d%(where)s is empty.")
                           % {"id": data_id, "pos": pos, "where": where}, code="emv_empty", position=pos)
        if i + 4 + size > len(text):
            raise EmvError(_("Record %(id)s at character %(pos)d%(where)s says %(size)d characters "
                             "but only %(left)d are left.")
                           % {"id": data_id, "pos": pos, "where": where, "size": size, "left": len(text) - i - 4},
                           code="emv_overrun", position=pos)
        if data_id in seen:
            raise EmvError(_("Record %(id)s appears twice%(where)s.") % {"id": data_id, "where": where},
                           code="emv_duplicate", position=pos)
        seen.add(data_id)
        out.append((data_id, text[i + 4:i + 4 + size], pos + 4))
        i += 4 + size
    return out


def _template(parent_id: str, value: str, pos: int) -> tuple[EmvRecord, ...]:
    where = _(" inside template %(id)s") % {"id": parent_id}
    children = []
    for data_id, child_value, child_pos in _split(value, offset=pos, where=where):
        nested = None
        if parent_id == "62" and int(data_id) >= 50:
            nested = _template_of(f"62.{data_id}", child_value, child_pos)
        children.append(EmvRecord(id=data_id, value=child_value, name=nested_name(parent_id, data_id), children=nested))
    if (parent_id in MERCHANT_ACCOUNT_TEMPLATE_IDS or parent_id in UNRESERVED_TEMPLATE_IDS) and children[0].id != "00":
        raise EmvError(_("Template %(id)s does not start with its globally unique identifier (00).")
                       % {"id": parent_id}, code="emv_no_gui", position=pos)
    return tuple(children)


def _template_of(label: str, value: str, pos: int) -> tuple[EmvRecord, ...]:
    where = _(" inside template %(id)s") % {"id": label}
    return tuple(EmvRecord(id=i, value=v, name="Context Specific Data") for i, v, _p in _split(value, offset=pos, where=where))


_AMOUNT = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _check_fields(records: dict[str, str]) -> None:
    def bad(data_id: str, rule: str) -> EmvError:
        return EmvError(_("Record %(id)s (%(name)s) is %(value)r: %(rule)s")
                        % {"id": data_id, "name": top_level_name(data_id), "value": records[data_id], "rule": rule},
                        code="emv_bad_value")

    if records["00"] != "01":
        raise bad("00", _("it must be 01."))
    if "01" in records and records["01"] not in ("11", "12"):
        raise bad("01", _("it must be 11 (static) or 12 (dynamic)."))
    if not any(i in records for i in MERCHANT_ACCOUNT_IDS):
        raise EmvError(_("The code names no merchant account (records 02 to 51)."), code="emv_missing")
    if not re.fullmatch(r"[0-9]{4}", records["52"]):
        raise bad("52", _("a merchant category code is four digits."))
    if not re.fullmatch(r"[0-9]{3}", records["53"]):
        raise bad("53", _("a currency is a three-digit ISO 4217 code."))
    for data_id in ("54", "56"):
        if data_id in records and (len(records[data_id]) > 13 or not _AMOUNT.fullmatch(records[data_id])):
            raise bad(data_id, _("an amount is up to 13 characters of digits with one optional decimal point."))
    if "57" in records and not (len(records["57"]) <= 5 and _AMOUNT.fullmatch(records["57"])
                                and Decimal(records["57"]) <= 100):
        raise bad("57", _("a percentage is between 00.01 and 99.99."))
    tip = records.get("55")
    if tip is not None and tip not in ("01", "02", "03"):
        raise bad("55", _("it must be 01, 02 or 03."))
    if "56" in records and tip != "02":
        raise bad("56", _("a fixed convenience fee needs record 55 to be 02."))
    if "57" in records and tip != "03":
        raise bad("57", _("a percentage convenience fee needs record 55 to be 03."))
    if len(records["58"]) != 2:
        raise bad("58", _("a country is a two-letter ISO 3166 code."))
    if len(records["59"]) > 25:
        raise bad("59", _("a merchant name is at most 25 characters."))
    if len(records["60"]) > 15:
        raise bad("60", _("a merchant city is at most 15 characters."))
    if "61" in records and len(records["61"]) > 10:
        raise bad("61", _("a postal code is at most 10 characters."))


def decode(payload: str) -> EmvPayload:
    """Parse and validate a merchant-presented payload; raise `EmvError` with the reason."""
    if not isinstance(payload, str) or not payload:
        raise EmvError(_("The code is empty."), code="emv_empty")
    if len(payload) > MAX_PAYLOAD_CHARS:
        raise EmvError(_("The code is longer than %(max)d characters.") % {"max": MAX_PAYLOAD_CHARS},
                       code="emv_too_long")
    raw = _split(payload, offset=0, where="")
    if raw[0][0] != "00":
        raise EmvError(_("The code does not start with the payload format indicator (00)."), code="emv_missing")
    if raw[-1][0] != "63":
        if any(r[0] == "63" for r in raw):
            raise EmvError(_("The checksum (63) is not the last record."), code="emv_crc_position")
        raise EmvError(_("The code has no checksum (63)."), code="emv_missing")
    if len(raw[-1][1]) != 4:
        raise EmvError(_("The checksum (63) must be 4 characters long."), code="emv_bad_length")
    expected = checksum(payload[:-4])
    if raw[-1][1].upper() != expected:
        raise EmvError(_("The checksum does not match: the code says %(got)s, its content gives %(want)s.")
                       % {"got": raw[-1][1], "want": expected}, code="emv_crc")
    values = {data_id: value for data_id, value, _pos in raw}
    missing = [i for i in MANDATORY_IDS if i not in values]
    if missing:
        raise EmvError(_("The code lacks mandatory record(s) %(ids)s.") % {"ids": ", ".join(missing)},
                       code="emv_missing")
    _check_fields(values)
    records = []
    for data_id, value, pos in raw:
        children = _template(data_id, value, pos) if data_id in TEMPLATE_IDS else None
        records.append(EmvRecord(id=data_id, value=value, name=top_level_name(data_id), children=children))
    return EmvPayload(records=tuple(records))


# --- encoding -------------------------------------------------------------------------------

Fields = Mapping[str, "str | Mapping[str, str]"]


def _tlv(data_id: str, value: str) -> str:
    if not _DIGITS2.fullmatch(data_id):
        raise EmvError(_("The record ID %(id)r is not two digits.") % {"id": data_id}, code="emv_bad_id")
    if not 0 < len(value) <= 99:
        raise EmvError(_("Record %(id)s must hold 1 to 99 characters, not %(size)d.")
                       % {"id": data_id, "size": len(value)}, code="emv_bad_length")
    return f"{data_id}{len(value):02d}{value}"


def _encode_items(items: Iterable[tuple[str, object]]) -> str:
    parts = []
    for data_id, value in items:
        if isinstance(value, EmvRecord):
            value = value.value
        elif isinstance(value, Mapping):
            value = _encode_items(value.items())
        parts.append(_tlv(data_id, str(value)))
    return "".join(parts)


def encode(fields: Fields | EmvPayload) -> str:
    """Build a payload: 00 first (01 unless given), the fields in their order, then 63 + CRC.

    `fields` maps IDs to values; a template's value may be a mapping of its nested IDs. Any
    63 given is ignored and recomputed. The result is decoded before it is returned, so an
    invalid payload raises `EmvError` here and never reaches a printed code.
    """
    if isinstance(fields, EmvPayload):
        fields = {r.id: r.value for r in fields.records}
    items = [(k, v) for k, v in fields.items() if k not in ("00", "63")]
    body = _encode_items([("00", fields.get("00", "01")), *items]) + "6304"
    payload = body + checksum(body)
    decode(payload)
    return payload


# --- the city's payee code ------------------------------------------------------------------

ONECITY_GUI = "cn.gov.fuzhou.onecity"   # our template's globally unique identifier (reverse domain)
UNIONPAY_ACQUIRER_IIN = "48613910"      # acquiring institution of the city's UnionPay merchant account
UNIONPAY_FORWARDING_IIN = "48613910"    # forwarding institution (the acquirer forwards itself)
GOVERNMENT_SERVICES_MCC = "9399"


def payee_payload(*, merchant_id: str, name: str, city: str = "Fuzhou", amount_fen: int | None = None,
                  reference: str | None = None, name_zh: str | None = None, city_zh: str = "福州",
                  mcc: str = GOVERNMENT_SERVICES_MCC) -> str:
    """The merchant-presented code for a payee: static without an amount, dynamic with one.

    ID 15 carries the UnionPay merchant account (acquirer IIN 8 + forwarding IIN 8 + merchant
    id 15) so UnionPay-network wallets accept it; template 26 carries the same merchant id
    under the city's own GUI (the 福码 wallet reads that one); 53=156 (CNY), 58=CN; a Chinese
    name goes to the language template 64 (ZH), as EMVCo intends for alternate-language names.
    """
    if not re.fullmatch(r"[0-9A-Za-z]{1,15}", merchant_id):
        raise EmvError(_("A merchant id is 1 to 15 letters or digits."), code="emv_bad_value")
    if amount_fen is not None and amount_fen <= 0:
        raise EmvError(_("An amount must be more than zero."), code="emv_bad_value")
    fields: dict[str, object] = {
        "01": "11" if amount_fen is None else "12",
        "15": UNIONPAY_ACQUIRER_IIN + UNIONPAY_FORWARDING_IIN + merchant_id.rjust(15, "0"),
        "26": {"00": ONECITY_GUI, "01": merchant_id},
        "52": mcc,
        "53": "156",
    }
    if amount_fen is not None:
        fields["54"] = f"{amount_fen // 100}.{amount_fen % 100:02d}"
    if not name.isascii() and name_zh is None:
        name_zh = name
    fields.update({"58": "CN", "59": name[:25], "60": city[:15]})
    if reference:
        fields["62"] = {"05": reference[:25]}
    if name_zh:
        fields["64"] = {"00": "ZH", "01": name_zh[:25], "02": city_zh[:15]}
    return encode(fields)
