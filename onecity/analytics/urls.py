from django.urls import path

from onecity.analytics import views

app_name = "analytics"

urlpatterns = [
    path("hotline/", views.hotline_dashboard, name="hotline"),
    path("hotline/export.csv", views.hotline_export_csv, name="hotline_export_csv"),
    path("hotline/export.xlsx", views.hotline_export_xlsx, name="hotline_export_xlsx"),
]
