"""Identity tables: organizations, people (citizens and staff), roles, real-name identities,
one-time codes, the demo population registry, OIDC client profiles and consents, identity-code
signing keys and gate scans.

Personal data (phone numbers, legal names, resident ID numbers) is stored only encrypted
(EncryptedTextField) and found through keyed hashes (`*_hash`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecity.core.fields import EncryptedTextField
from onecity.core.ids import new_public_id
from onecity.core.validators import validate_uscc
from onecity.identity.enums import (
    AssuranceLevel,
    ConsentDecision,
    OrganizationKind,
    OtpPurpose,
    PayeeType,
    Role,
    SigningKeyPurpose,
    UserKind,
)


class Organization(models.Model):
    """A department (市直部门), a district/county government, a sub-unit or a payee unit."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganizationKind.choices)
    payee_type = models.CharField(_("payee type"), max_length=20, choices=PayeeType.choices, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent organization"))
    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True, validators=[validate_uscc])
    region_code = models.CharField(_("region code"), max_length=6)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "region_code", "name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="payee") | Q(payee_type=""), name="org_payee_type_only_for_payees"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def display_name(self, language: str | None = None) -> str:
        from django.utils.translation import get_language

        language = language or get_language() or "zh-hans"
        return self.name_en if language.startswith("en") and self.name_en else self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, username: str, password: str | None = None, **extra):
        user = self.model(username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, password: str | None = None, **extra):
        extra.setdefault("kind", UserKind.STAFF)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(username, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: a citizen (by mobile number) or a staff member (by user name).

    `is_staff` is Django's admin-site flag and is set only for administrators.
    """

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    username = models.CharField(_("user name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=UserKind.choices, default=UserKind.CITIZEN)
    display_name = models.CharField(_("display name"), max_length=40, blank=True)
    phone = EncryptedTextField(_("mobile number"), blank=True)
    phone_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="staff", verbose_name=_("organization"))
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("admin site access"), default=False)
    must_change_password = models.BooleanField(
        _("must change password"), default=False,
        help_text=_("Set when an administrator chose this password; cleared when its holder changes it."))
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=Q(kind="staff") | Q(organization__isnull=True),
                                   name="user_only_staff_belong_to_orgs"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_citizen(self) -> bool:
        return self.kind == UserKind.CITIZEN

    @property
    def is_staff_member(self) -> bool:
        return self.kind == UserKind.STAFF


class StaffRole(models.Model):
    """A role held by a staff member within their organization."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="staffrole_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


class RealNameIdentity(models.Model):
    """A citizen's verified legal identity, matched against the population registry."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="real_name")
    legal_name = EncryptedTextField(_("legal name"))
    id_number = EncryptedTextField(_("resident ID number"))
    id_number_hash = models.CharField(max_length=64, unique=True, editable=False)
    registry = models.CharField(_("registry"), max_length=64)
    verified_at = models.DateTimeField(_("verified at"), default=timezone.now)

    class Meta:
        verbose_name = _("real-name identity")
        verbose_name_plural = _("real-name identities")

    def __str__(self) -> str:
        from onecity.core.masking import mask_name

        return mask_name(self.legal_name)


class OneTimeCode(models.Model):
    """An SMS one-time code: stored as a keyed hash, expires, single use, attempt-limited."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    purpose = models.CharField(max_length=16, choices=OtpPurpose.choices)
    phone_hash = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["phone_hash", "purpose", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} code {self.public_id}"


class DemoResident(models.Model):
    """The demo population registry: residents the demo adapter can match real names against."""

    legal_name = EncryptedTextField(_("legal name"))
    id_number = EncryptedTextField(_("resident ID number"))
    id_number_hash = models.CharField(max_length=64, unique=True, editable=False)
    region_code = models.CharField(max_length=6)
    is_deceased = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("registry resident")
        verbose_name_plural = _("registry residents")

    def __str__(self) -> str:
        from onecity.core.masking import mask_name

        return mask_name(self.legal_name)


class ClientProfile(models.Model):
    """What a citizen is told about an OIDC client (a province or city app)."""

    application = models.OneToOneField(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE,
                                       related_name="profile")
    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    display_name = models.CharField(_("display name"), max_length=60)
    display_name_en = models.CharField(_("English display name"), max_length=120, blank=True)
    purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    purpose_en = models.CharField(_("English purpose"), max_length=600, blank=True)
    operator = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT,
                                 verbose_name=_("operated by"))
    homepage = models.URLField(_("home page"), blank=True)
    pairwise_salt = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("client profile")
        verbose_name_plural = _("client profiles")

    def __str__(self) -> str:
        return self.display_name


class Consent(models.Model):
    """A citizen's decision on a client's request for personal data (one row per decision)."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="consents")
    application = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE,
                                    related_name="consents")
    scopes = models.CharField(max_length=255)
    purpose = models.CharField(max_length=300, blank=True)
    decision = models.CharField(max_length=10, choices=ConsentDecision.choices)
    decided_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-decided_at"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [models.Index(fields=["user", "application", "-decided_at"])]

    def __str__(self) -> str:
        return f"{self.decision} {self.scopes}"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class SigningKey(models.Model):
    """A signing key for one purpose (identity codes...), with a key id; the newest active key
    signs, every unretired key verifies; public keys are published as a JWKS."""

    purpose = models.CharField(max_length=20, choices=SigningKeyPurpose.choices)
    kid = models.CharField(max_length=40, unique=True)
    algorithm = models.CharField(max_length=10, default="EdDSA")
    private_key = EncryptedTextField()
    public_key = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.purpose}:{self.kid}"


class AuthorizationContext(models.Model):
    """How the citizen was authenticated when an authorization code was issued.

    Carries `acr` and `auth_time` from the authorization step (the session) to the token
    endpoint (the ID token). Keyed by a SHA-256 of the code, never the code itself; after the
    exchange it keeps the access token issued from the code, so a replayed code revokes it
    (RFC 6749 §4.1.2). Rows are pruned a day after issue.
    """

    code_hash = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE,
                                    related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    acr = models.CharField(max_length=40, choices=AssuranceLevel.choices)
    auth_time = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    access_token = models.ForeignKey(settings.OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"{self.acr} code context"


class GateScan(models.Model):
    """An identity code accepted at a gate: the (gate, token id) pair is unique, so a code
    cannot be used twice at the same gate."""

    gate = models.CharField(max_length=64)
    jti = models.CharField(max_length=40)
    subject = models.CharField(max_length=64)
    scanned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gate", "jti"], name="gatescan_once_per_gate")]

    def __str__(self) -> str:
        return f"{self.gate}:{self.jti}"


__all__ = [
    "AssuranceLevel",
    "AuthorizationContext",
    "ClientProfile",
    "Consent",
    "DemoResident",
    "GateScan",
    "OneTimeCode",
    "Organization",
    "RealNameIdentity",
    "SigningKey",
    "StaffRole",
    "User",
]
