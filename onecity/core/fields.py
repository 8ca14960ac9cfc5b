"""EncryptedTextField: a model field whose value is stored only as authenticated ciphertext."""

from __future__ import annotations

from django.db import models

from onecity.core import crypto


class EncryptedTextField(models.TextField):
    description = "Text encrypted at rest (Fernet)"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name not in {"isnull"}:
            raise TypeError("encrypted fields can only be looked up through their keyed hash")
        return super().get_lookup(lookup_name)
