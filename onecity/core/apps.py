from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "onecity.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from onecity.core.calendar import connect_signals

        connect_signals()
