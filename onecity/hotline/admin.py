"""Admin for the data administrators edit: categories, the dispatch matrix and time limits.
Work orders themselves change only through the services (read-only here)."""

from django.contrib import admin

from onecity.hotline.models import Case, Category, DispatchRoute, TimeLimitRule


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "parent", "default_urgency", "is_active", "sort_order")
    list_filter = ("is_active", "default_urgency", "parent")
    search_fields = ("code", "name", "name_en")


@admin.register(DispatchRoute)
class DispatchRouteAdmin(admin.ModelAdmin):
    list_display = ("category", "district", "unit", "is_active")
    list_filter = ("is_active", "district")
    search_fields = ("category__name", "category__code", "unit__name")
    autocomplete_fields = ("category",)


@admin.register(TimeLimitRule)
class TimeLimitRuleAdmin(admin.ModelAdmin):
    list_display = ("category", "urgency", "sign_within", "sign_unit", "handle_within", "handle_unit")
    list_filter = ("urgency",)


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("tracking_number", "state", "channel", "category", "assigned_unit", "due_at", "created_at")
    list_filter = ("state", "channel", "urgency")
    search_fields = ("tracking_number",)
    exclude = ("contact_name", "contact_phone", "contact_phone_hash")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
