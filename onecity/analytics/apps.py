"""Read models rebuilt by idempotent jobs, and the dashboards that read them."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "onecity.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        from onecity.analytics.access import PAYMENT_STATS_ROLES, STATS_ROLES
        from onecity.core.navigation import nav_register

        nav_register(area="staff", key="analytics_hotline", label=_("12345 statistics"),
                     url_name="analytics:hotline", icon="chart-bar", order=36, roles=STATS_ROLES)
        nav_register(area="staff", key="analytics_payments", label=_("福码 payment statistics"),
                     url_name="analytics:payments", icon="chart-pie", order=37, roles=PAYMENT_STATS_ROLES)
