from django.urls import path  # noqa: F401  (the dashboards add their paths here)

app_name = "analytics"

urlpatterns: list = []
