"""Admin for the shared kernel: the working-day calendar (holidays and make-up workdays)."""

from django.contrib import admin

from onecity.core.models import CalendarDay


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "name", "name_en")
    list_filter = ("kind",)
    search_fields = ("name", "name_en")
    date_hierarchy = "date"
    ordering = ("-date",)
