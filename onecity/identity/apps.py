from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "onecity.identity"
    label = "identity"
    verbose_name = _("Identity")

    def ready(self):
        from onecity.identity.oidc_keys import install_keys

        install_keys()  # the OIDC signing keys (see docs/decisions/0002-oidc-provider.md)
        register_navigation()


def register_navigation() -> None:
    """The identity entries of the resident tab bar and the staff sidebar (docs/design-system.md)."""
    from onecity.core.navigation import nav_register

    nav_register(area="resident", key="home", label=_("Home"), url_name="identity:home", icon="home", order=10)
    nav_register(area="resident", key="idcode", label=_("My code"), url_name="identity:idcode",
                 icon="qrcode", order=20)
    nav_register(area="resident", key="account", label=_("Me"), url_name="identity:account", icon="user", order=90)
    nav_register(area="staff", key="home", label=_("Workbench"), url_name="identity:staff_home",
                 icon="layout-dashboard", order=10)
    nav_register(area="staff", key="idcode_verify", label=_("Verify identity code"),
                 url_name="identity:idcode_verify", icon="scan", order=20)
    nav_register(area="staff", key="people", label=_("People lookup"), url_name="identity:staff_people",
                 icon="user-search", order=30,
                 roles=("hotline_operator", "application_reviewer", "supervisor", "administrator"))
    nav_register(area="staff", key="staff_accounts", label=_("Staff accounts"), url_name="identity:staff_accounts",
                 icon="users-group", order=80, roles=("administrator",))
    nav_register(area="staff", key="audit", label=_("Audit log"), url_name="identity:staff_audit",
                 icon="file-search", order=90, roles=("auditor", "administrator"))
