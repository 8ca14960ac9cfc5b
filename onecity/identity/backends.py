"""Sign-in by mobile number (citizens) or user name (staff)."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from onecity.core.crypto import lookup_hash
from onecity.core.validators import normalise_phone
from onecity.identity.models import User


class PhoneOrUsernameBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        phone = normalise_phone(username)
        user = None
        if len(phone) == 11:
            user = User.objects.filter(phone_hash=lookup_hash(phone, purpose="phone")).first()
        if user is None:
            user = User.objects.filter(username=username.strip()).first()
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
