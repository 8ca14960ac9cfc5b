from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "onecity.demo"
    label = "demo"
    verbose_name = "OneCity demo city"
