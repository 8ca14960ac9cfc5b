"""Read-only admin for auditors: accounts and transfers can be looked at, never changed here
(money moves only through the services; the database refuses changes to transfers anyway)."""

from django.contrib import admin

from onecity.identity.access import has_role
from onecity.identity.enums import Role
from onecity.ledger.models import Account, Transfer


class ReadOnlyAdmin(admin.ModelAdmin):
    """Administrators (the role, as in the identity admin) look; nobody changes anything."""

    def has_module_permission(self, request):
        user = request.user
        return bool(user.is_active and user.is_staff and (user.is_superuser or has_role(user, Role.ADMINISTRATOR)))

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "kind", "owner", "currency", "normal_side", "debits_posted", "credits_posted",
                    "debits_pending", "credits_pending")
    list_filter = ("kind", "currency")
    search_fields = ("public_id", "owner")


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("transfer_id", "kind", "code", "debit_account", "credit_account", "amount", "currency",
                    "batch_id", "created_at")
    list_filter = ("kind", "code")
    search_fields = ("transfer_id", "batch_id")
    list_select_related = ("debit_account", "credit_account")
    raw_id_fields = ("debit_account", "credit_account", "pending", "reverses")
    date_hierarchy = "created_at"
