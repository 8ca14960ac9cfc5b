"""Personal data at rest and on screen: encryption, key rotation, keyed hashes, masking, logs."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from onecity.core import crypto
from onecity.core.masking import (
    PersonalDataLogFilter,
    mask_card,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
)


@pytest.fixture
def two_keys(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    return old, new


def test_encrypt_round_trip_is_authenticated_and_randomised():
    token = crypto.encrypt("350102199001011238")
    assert token.startswith("gAAAAA")
    assert "350102199001011238" not in token
    assert crypto.decrypt(token) == "350102199001011238"
    assert crypto.encrypt("林则峰") != crypto.encrypt("林则峰")  # random IV
    assert crypto.decrypt(crypto.encrypt("林则峰")) == "林则峰"
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tampered)


def test_rotation_with_two_keys(settings, two_keys):
    old, new = two_keys
    token_old = crypto.encrypt("13800138000")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # new key first: encrypts; old still decrypts
    assert crypto.decrypt(token_old) == "13800138000"
    rotated = crypto.rotate(token_old)
    assert rotated != token_old
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key retired
    assert crypto.decrypt(rotated) == "13800138000"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token_old)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(rotated)


def test_keyed_hash(settings):
    h = crypto.lookup_hash("11010519491231002x", purpose="id_number")
    assert h == crypto.lookup_hash(" 11010519491231002X ", purpose="id_number")  # normalised
    assert len(h) == 64
    assert h != crypto.lookup_hash("11010519491231002X", purpose="phone")  # purposes are separate
    settings.LOOKUP_HASH_KEY = "another-secret"
    assert h != crypto.lookup_hash("11010519491231002X", purpose="id_number")  # keyed


@pytest.mark.django_db
def test_encrypted_field_stores_only_ciphertext():
    from onecity.identity.models import User

    user = User.objects.create_user(username="c-crypto", password=None, phone="13800138000",
                                    phone_hash=crypto.lookup_hash("13800138000", purpose="phone"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM identity_user WHERE id = %s", [user.pk])
        (raw,) = cursor.fetchone()
    assert raw.startswith("gAAAAA")
    assert "13800138000" not in raw
    assert User.objects.get(pk=user.pk).phone == "13800138000"
    with pytest.raises(TypeError):
        User.objects.filter(phone="13800138000")


def test_masking_rules():
    assert mask_id_number("11010519491231002X") == "1****************X"
    assert mask_id_number("350102199001011238") == "3****************8"
    assert mask_id_number("") == ""
    assert mask_id_number("AB") == "**"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("1380") == "****"
    assert mask_phone(None) == ""
    assert mask_name("林则峰") == "林**"
    assert mask_name("王五") == "王*"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("Alice") == "A****"
    assert mask_card("6222 0212 3456 7890") == "**** 7890"


def test_mask_text_finds_numbers_in_free_text():
    text = "市民 13800138000（身份证 11010519491231002X）反映：路灯不亮，订单号 202611230001234567890。"
    assert mask_text(text) == "市民 138****8000（身份证 1****************X）反映：路灯不亮，订单号 202611230001234567890。"


def test_log_filter_masks_messages_and_arguments(caplog):
    logger = logging.getLogger("onecity.test.masking")
    logger.addFilter(PersonalDataLogFilter())
    try:
        with caplog.at_level(logging.INFO, logger="onecity.test.masking"):
            logger.info("sms to %s for id %s", "13800138000", "350102199001011238")
            logger.info("plain message")
    finally:
        logger.filters.clear()
    assert [r.getMessage() for r in caplog.records] == ["sms to 138****8000 for id 3****************8", "plain message"]
    assert "13800138000" not in caplog.text
    assert "350102199001011238" not in caplog.text
