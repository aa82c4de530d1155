from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "betaalreis.payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from betaalreis.payments import checks  # noqa: F401  (registers the deploy checks)
