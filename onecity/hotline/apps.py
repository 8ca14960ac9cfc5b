from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _queue_badge(counter: str, role: str):
    """A sidebar badge for holders of `role` (not every administrator who sees the entry):
    `hotline.selectors.desk.<counter>(actor=…)`, what awaits them."""

    def badge(request) -> int:
        from onecity.core.navigation import user_roles
        from onecity.hotline.selectors import desk

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or role not in user_roles(user):
            return 0
        return getattr(desk, counter)(actor=user)

    return badge


class HotlineConfig(AppConfig):
    name = "onecity.hotline"
    label = "hotline"
    verbose_name = _("12345 hotline")

    def ready(self):
        from onecity.core.navigation import nav_register
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
                     badge=_queue_badge("dispatch_waiting_count", "dispatcher"), badge_label=_("awaiting a dispatcher"))
        nav_register(area="staff", key="hotline_unit", label=_("My unit's cases"), url_name="hotline:desk_unit",
                     icon="briefcase", order=33, roles=("department_handler",),
                     badge=_queue_badge("unit_to_sign_count", "department_handler"), badge_label=_("cases to sign"))
        nav_register(area="staff", key="hotline_supervision", label=_("Supervision"),
                     url_name="hotline:desk_supervision", icon="eye-check", order=34, roles=("supervisor",),
                     badge=_queue_badge("supervision_overdue_count", "supervisor"), badge_label=_("overdue cases"))
        nav_register(area="staff", key="hotline_hotspots", label=_("Hot spots"), url_name="hotline:desk_hotspots",
                     icon="flame", order=35, roles=("supervisor", "administrator"))
