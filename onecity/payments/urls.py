from django.urls import path  # noqa: F401  (the payments pages add their paths here)

app_name = "payments"

urlpatterns: list = []
