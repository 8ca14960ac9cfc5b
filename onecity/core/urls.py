from django.urls import path

from onecity.core import views

app_name = "core"

urlpatterns = [
    path("elderly/", views.elderly_toggle, name="elderly"),
]
