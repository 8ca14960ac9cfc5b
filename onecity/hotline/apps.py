from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HotlineConfig(AppConfig):
    name = "onecity.hotline"
    label = "hotline"
    verbose_name = _("12345 hotline")

    def ready(self):
        from onecity.core.navigation import count_of, nav_register
        from onecity.hotline.reference import connect_signals

        connect_signals()

        nav_register(area="resident", key="hotline_report", label=_("12345 report"), url_name="hotline:report",
                     icon="message-report", order=40)
        nav_register(area="staff", key="hotline_console", label=_("Phone console"), url_name="hotline:console",
                     icon="headset", order=30, roles=("hotline_operator", "supervisor"))
        nav_register(area="staff", key="hotline_knowledge", label=_("Knowledge base"), url_name="hotline:knowledge",
                     icon="books", order=31, roles=("hotline_operator", "supervisor"))
        nav_register(area="staff", key="hotline_dispatch", label=_("Dispatch queue"), url_name="hotline:desk_dispatch",
                     icon="arrows-split-2", order=32, roles=("dispatcher",),
                     badge=count_of("onecity.hotline.selectors.desk.dispatch_waiting_count"),
                     badge_label=_("awaiting a dispatcher"))
        nav_register(area="staff", key="hotline_unit", label=_("My unit's cases"), url_name="hotline:desk_unit",
                     icon="briefcase", order=33, roles=("department_handler",),
                     badge=count_of("onecity.hotline.selectors.desk.unit_to_sign_count"), badge_label=_("cases to sign"))
        nav_register(area="staff", key="hotline_supervision", label=_("Supervision"),
                     url_name="hotline:desk_supervision", icon="eye-check", order=34, roles=("supervisor",),
                     badge=count_of("onecity.hotline.selectors.desk.supervision_overdue_count"),
                     badge_label=_("overdue cases"))
        nav_register(area="staff", key="hotline_hotspots", label=_("Hot spots"), url_name="hotline:desk_hotspots",
                     icon="flame", order=35, roles=("supervisor", "administrator"))
