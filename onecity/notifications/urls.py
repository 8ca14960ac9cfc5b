from django.urls import path

from onecity.notifications.views import dev_inbox, inbox

app_name = "notifications"
urlpatterns = [
    path("", inbox.inbox, name="inbox"),
    path("read-all/", inbox.mark_all_read, name="mark_all_read"),
    path("<str:public_id>/read/", inbox.mark_read, name="mark_read"),
    path("dev/sms/", dev_inbox.dev_inbox, name="dev_inbox"),
]
