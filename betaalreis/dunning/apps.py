from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "betaalreis.dunning"
    label = "dunning"
    default_auto_field = "django.db.models.BigAutoField"
