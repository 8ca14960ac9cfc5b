"""Django admin for the identity tables: administrators only, personal data always masked.

The admin site lets in only `is_staff` users, and `is_staff` is kept equal to "holds the
administrator role" by the staff services. Encrypted columns never appear in forms; lists
and detail pages show masked values. People, identities, codes and keys are read-only here:
changes to them go through the services (registration, real-name verification, staff
management), which write the audit trail.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from onecity.core.masking import mask_id_number, mask_name, mask_phone
from onecity.identity.access import has_role
from onecity.identity.enums import Role
from onecity.identity.models import (
    ClientProfile,
    Consent,
    DemoResident,
    GateScan,
    OneTimeCode,
    Organization,
    RealNameIdentity,
    SigningKey,
    StaffRole,
    User,
)


def is_administrator(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and (user.is_superuser or has_role(user, Role.ADMINISTRATOR)))


class AdministratorOnly(admin.ModelAdmin):
    """Permissions come from the administrator role, not Django's per-model permissions."""

    def has_module_permission(self, request):
        return is_administrator(request)

    def has_view_permission(self, request, obj=None):
        return is_administrator(request)

    def has_add_permission(self, request):
        return is_administrator(request)

    def has_change_permission(self, request, obj=None):
        return is_administrator(request)

    def has_delete_permission(self, request, obj=None):
        return False  # nothing identity-related is deleted from the admin; deactivate instead


class ReadOnly(AdministratorOnly):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(AdministratorOnly):
    list_display = ("name", "short_name", "kind", "payee_type", "region_code", "uscc", "is_active")
    list_filter = ("kind", "payee_type", "is_active")
    search_fields = ("name", "name_en", "short_name", "uscc")
    readonly_fields = ("public_id", "created_at")
    fields = ("public_id", "name", "name_en", "short_name", "kind", "payee_type", "parent", "uscc", "region_code",
              "is_active", "created_at")


class StaffRoleInline(admin.TabularInline):
    model = StaffRole
    fk_name = "user"
    extra = 0
    fields = ("role", "granted_at", "granted_by")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return is_administrator(request)


@admin.register(User)
class UserAdmin(ReadOnly):
    list_display = ("username", "display_name", "kind", "masked_phone", "organization", "roles_list", "is_active",
                    "is_staff", "date_joined")
    list_filter = ("kind", "is_active", "is_staff", "organization")
    search_fields = ("username", "display_name")
    fields = ("public_id", "username", "display_name", "kind", "masked_phone", "organization", "is_active",
              "is_staff", "date_joined", "last_login")
    readonly_fields = fields
    inlines = [StaffRoleInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization").prefetch_related("roles")

    @admin.display(description=_("mobile number"))
    def masked_phone(self, obj):
        return mask_phone(obj.phone)

    @admin.display(description=_("roles"))
    def roles_list(self, obj):
        return ", ".join(str(Role(r.role).label) for r in obj.roles.all())


@admin.register(RealNameIdentity)
class RealNameIdentityAdmin(ReadOnly):
    list_display = ("user", "masked_legal_name", "masked_id_number", "registry", "verified_at")
    fields = ("user", "masked_legal_name", "masked_id_number", "registry", "verified_at")
    readonly_fields = fields

    @admin.display(description=_("legal name"))
    def masked_legal_name(self, obj):
        return mask_name(obj.legal_name)

    @admin.display(description=_("resident ID number"))
    def masked_id_number(self, obj):
        return mask_id_number(obj.id_number)


@admin.register(DemoResident)
class DemoResidentAdmin(ReadOnly):
    list_display = ("masked_legal_name", "masked_id_number", "region_code", "is_deceased")
    list_filter = ("is_deceased",)
    fields = ("masked_legal_name", "masked_id_number", "region_code", "is_deceased")
    readonly_fields = fields

    @admin.display(description=_("legal name"))
    def masked_legal_name(self, obj):
        return mask_name(obj.legal_name)

    @admin.display(description=_("resident ID number"))
    def masked_id_number(self, obj):
        return mask_id_number(obj.id_number)


@admin.register(OneTimeCode)
class OneTimeCodeAdmin(ReadOnly):
    list_display = ("public_id", "purpose", "created_at", "expires_at", "used_at", "attempts")
    list_filter = ("purpose",)
    fields = ("public_id", "purpose", "created_at", "expires_at", "used_at", "attempts")
    readonly_fields = fields


@admin.register(ClientProfile)
class ClientProfileAdmin(AdministratorOnly):
    list_display = ("display_name", "display_name_en", "operator", "homepage")
    search_fields = ("display_name", "display_name_en")
    fields = ("application", "public_id", "display_name", "display_name_en", "purpose", "purpose_en", "operator",
              "homepage")
    readonly_fields = ("application", "public_id")

    def has_add_permission(self, request):
        return False  # clients are created with `onecity oidc client create`, which prints the secret once


@admin.register(Consent)
class ConsentAdmin(ReadOnly):
    list_display = ("user", "application", "scopes", "decision", "decided_at", "revoked_at")
    list_filter = ("decision",)
    fields = ("public_id", "user", "application", "scopes", "purpose", "decision", "decided_at", "revoked_at")
    readonly_fields = fields


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnly):
    list_display = ("kid", "purpose", "algorithm", "created_at", "retired_at")
    list_filter = ("purpose",)
    fields = ("kid", "purpose", "algorithm", "public_key", "created_at", "retired_at")  # never the private key
    readonly_fields = fields


@admin.register(GateScan)
class GateScanAdmin(ReadOnly):
    list_display = ("gate", "jti", "scanned_at")
    search_fields = ("gate", "jti")
    fields = ("gate", "jti", "subject", "scanned_at")
    readonly_fields = fields
