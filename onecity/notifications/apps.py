from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def unread_badge(request) -> int:
    """The unread count on the Messages tab."""
    from onecity.notifications.selectors import message_unread_count_for_request

    return message_unread_count_for_request(request)


class NotificationsConfig(AppConfig):
    name = "onecity.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from onecity.core.navigation import nav_register

        nav_register(area="resident_tools", key="messages", label=_("Messages"), url_name="notifications:inbox",
                     icon="bell", order=30, exact=True, badge=unread_badge)
