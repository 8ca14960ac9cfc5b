from django.urls import path

from onecity.analytics import views

app_name = "analytics"

urlpatterns = [
    path("hotline/", views.hotline_dashboard, name="hotline"),
    path("hotline/export.csv", views.hotline_export_csv, name="hotline_export_csv"),
    path("hotline/export.xlsx", views.hotline_export_xlsx, name="hotline_export_xlsx"),
    path("payments/", views.payments_dashboard, name="payments"),
    path("payments/export.csv", views.payments_export_csv, name="payments_export_csv"),
    path("payments/export.xlsx", views.payments_export_xlsx, name="payments_export_xlsx"),
]
