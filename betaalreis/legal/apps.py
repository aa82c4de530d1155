from django.apps import AppConfig


class LegalConfig(AppConfig):
    name = "betaalreis.legal"
    label = "legal"
    default_auto_field = "django.db.models.BigAutoField"
