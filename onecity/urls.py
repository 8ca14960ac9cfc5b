from django.contrib import admin
from django.urls import include, path

from onecity.api import api
from onecity.core import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("onecity.identity.oidc_urls")),
    path("notifications/", include("onecity.notifications.urls")),
    path("hotline/", include("onecity.hotline.urls")),
    path("open311/v2/", include("onecity.hotline.open311.urls")),
    path("pay/", include("onecity.payments.urls")),
    path("analytics/", include("onecity.analytics.urls")),
    path("ui/", include("onecity.core.urls")),
    path("", include("onecity.identity.urls")),
]
